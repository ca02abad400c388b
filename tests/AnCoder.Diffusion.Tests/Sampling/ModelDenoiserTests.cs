using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Tokenization;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.Sampling;

[Collection(TorchCollection.Name)]
public sealed class ModelDenoiserTests
{
    private static DiffusionModel TinyModel()
    {
        manual_seed(1);
        var model = DiffusionModel.Create(ModelPresets.Tiny with { HiddenSize = 64, IntermediateSize = 96, NumAttentionHeads = 2, NumKeyValueHeads = 1 });
        model.eval();
        return model;
    }

    [Fact]
    public void SUBS_output_is_one_hot_on_visible_positions_and_never_predicts_the_mask()
    {
        using var model = TinyModel();
        var denoiser = new ModelDenoiser(model);
        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 5, 1, 7, 1 }, [1, 4]);
        var logProbs = denoiser.Predict(ids, null).LogProbabilities;
        Assert.Equal(0f, logProbs[0, 0, 5].item<float>());
        Assert.True(logProbs[0, 0, 6].item<float>() < -1e5);
        Assert.True(logProbs[0, 1, 1].item<float>() < -1e5);
        Assert.Equal(1.0, logProbs[0, 1].exp().sum().item<float>(), 4);
    }

    [Fact]
    public void A_right_padded_row_with_a_key_mask_gets_the_same_probabilities_as_alone()
    {
        using var model = TinyModel();
        var denoiser = new ModelDenoiser(model);
        using var scope = NewDisposeScope();
        var shortRow = new long[] { 10, 1, 1, 11, 1 };
        var longRow = new long[] { 12, 13, 1, 1, 1, 1, 1, 14 };
        var alone = denoiser.Predict(tensor(shortRow, [1, 5]), null).LogProbabilities;
        var padded = shortRow.Concat(new long[] { 1, 1, 1 }).Concat(longRow).ToArray();
        var keyMask = tensor(Enumerable.Range(0, 16).Select(i => i < 5 || i >= 8).ToArray(), [2, 8]);
        var batch = denoiser.Predict(tensor(padded, [2, 8]), keyMask).LogProbabilities;
        Assert.True(alone[0].allclose(batch[0, ..5], rtol: 1e-4, atol: 1e-4));
        var anchors = denoiser.Predict(tensor(shortRow, [1, 5]), null).AnchorLogits;
        Assert.NotNull(anchors);
    }

    [Theory]
    [InlineData(Architecture.Mdlm, false, false)]
    [InlineData(Architecture.Mdlm, true, false)]
    [InlineData(Architecture.Anchored, false, false)]
    [InlineData(Architecture.Anchored, true, false)]
    [InlineData(Architecture.Mdlm, true, true)]
    [InlineData(Architecture.Anchored, true, true)]
    public void Log_probabilities_from_a_position_on_are_the_full_output_s_window(Architecture architecture, bool shift, bool bf16)
    {
        manual_seed(3);
        using var model = DiffusionModel.Create(ModelPresets.Tiny with
        {
            Architecture = architecture, Shift = shift, HiddenSize = 64, IntermediateSize = 96, NumAttentionHeads = 2, NumKeyValueHeads = 1,
        });
        model.eval();
        if (bf16) model.ComputeType = ScalarType.BFloat16;
        var denoiser = new ModelDenoiser(model);
        using var scope = NewDisposeScope();
        // Two right-padded rows: a prompt of 5 and of 3 tokens, then masks; the window starts at the first mask of either.
        var ids = tensor(new long[] { 20, 21, 22, 23, 24, 1, 1, 1, /**/ 30, 31, 32, 1, 1, 1, 1, 1 }, [2, 8]);
        var keyMask = tensor(Enumerable.Range(0, 16).Select(i => i != 7).ToArray(), [2, 8]);
        var full = denoiser.Predict(ids, keyMask);
        var window = denoiser.Predict(ids, keyMask, logitsFrom: 3);
        Assert.Equal([2L, 5L, model.Config.VocabSize], window.LogProbabilities.shape);
        // The same rows of h·Eᵀ: equal up to the matmul's blocking (bf16 rounds the hidden states, not the log-softmax).
        Assert.True(full.LogProbabilities[.., 3..].allclose(window.LogProbabilities, rtol: 1e-4, atol: bf16 ? 2e-3 : 1e-4));
        Assert.Equal(full.AnchorLogits is null, window.AnchorLogits is null);
        if (full.AnchorLogits is not null) Assert.Equal(full.AnchorLogits.shape, window.AnchorLogits!.shape); // φ's stay whole
        Assert.Throws<ArgumentOutOfRangeException>(() => denoiser.Predict(ids, keyMask, logitsFrom: 8));
    }

    [Fact]
    public void Sampling_a_random_tiny_model_fills_every_mask_and_is_reproducible()
    {
        using var model = TinyModel();
        var tokenizer = DefaultTokenizer.Load();
        var denoiser = new ModelDenoiser(model);
        var prompts = new[] { "def f(x):\n", "a = [<|mask:3|>]\n" };
        var generation = new GenerationOptions { Length = 12, SamplesPerPrompt = 2, BatchSize = 3, Seed = 4 };
        var first = new PromptSampler(denoiser, tokenizer, new SamplerOptions { Steps = 10 }, 0, 2).Generate(prompts, generation);
        var again = new PromptSampler(denoiser, tokenizer, new SamplerOptions { Steps = 10 }, 0, 2).Generate(prompts, generation with { BatchSize = 1 });
        Assert.Equal(4, first.Count);
        Assert.All(first, s => Assert.DoesNotContain(tokenizer.MaskId, s.Ids));
        Assert.Equal(first.Select(s => s.Ids), again.Select(s => s.Ids));
        Assert.All(first.Where(s => s.PromptIndex == 1), s => Assert.StartsWith("a = [", s.Text.Text));
    }

    [Fact]
    public void Trace_labels_the_final_text_and_replays_every_change()
    {
        var tokenizer = DefaultTokenizer.Load();
        const string source = "def find_max(numbers):\n    return max(numbers)\n";
        int[] target = tokenizer.EncodeToIds(System.Text.Encoding.UTF8.GetBytes(source));
        // A fake that is certain of the target text: greedy sampling must reproduce it.
        var table = new double[target.Length, tokenizer.VocabSize];
        for (int i = 0; i < target.Length; i++) table[i, target[i]] = 30;
        var fake = new FakeDenoiser(table, tokenizer.MaskId);
        int prompt = 3;
        var canvas = Canvas.Completion(target[..prompt], target.Length - prompt, tokenizer.MaskId, 1);
        var recorder = new TraceRecorder();
        var ids = new DiffusionSampler(fake, new SamplerOptions { Steps = 6, Temperature = 0, Remask = RemaskOptions.None }).Sample([canvas], recorder)[0];
        Assert.Equal(target, ids);
        var text = SampleTexts.Extract(ids, canvas.Frozen, tokenizer, tokenizer.EndOfTextId, tokenizer.PadId);
        var trace = SamplingTraces.Build(recorder, 0, "p", text, tokenizer, AnchorWeightOptions.Defaults(AnchorStrategy.AnchorTree), tokenizer.MaskId);
        Assert.True(trace.Parsed);
        Assert.Equal(source, trace.Text);
        var byText = trace.Positions.Where(p => p.Kept).GroupBy(p => p.FinalText.Trim()).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        Assert.True(byText["def"].Keyword);
        Assert.True(byText["return"].Keyword);
        Assert.Equal("Return", byText["return"].Node);
        Assert.Equal(2, byText["return"].Depth); // docs/algorithms.md §6 worked example: Return at depth 2
        Assert.Equal(0.03, byText["return"].Gamma, 12); // λ·ρ^max(0, 2 − 2)
        Assert.Equal(canvas.Length - prompt, trace.Steps.Sum(s => s.Changes.Count));
        Assert.Equal(recorder.Steps.Count, trace.Steps.Count);
    }
}
