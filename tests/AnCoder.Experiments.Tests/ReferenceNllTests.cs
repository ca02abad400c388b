using System.Text.Json;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Sampling;
using AnCoder.Evaluation.Benchmarks;
using AnCoder.Experiments.Generation;
using AnCoder.Experiments.Models;
using static TorchSharp.torch;

namespace AnCoder.Experiments.Tests;

/// <summary>
/// The left-to-right NLL of reference solutions (<see cref="ReferenceNll"/>) against the two decoders it stands for:
/// one-token-per-call diffusion sampling (the probability it records for each token it draws) and KV-cached
/// autoregressive decoding (the logits of each incremental step).
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class ReferenceNllTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "ancoder-reference-nll-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private static LoadedModel Load(string source)
    {
        Assert.True(LoadedModel.TryLoad(source, Precision.Fp32, out var model, out var error), error);
        return model!;
    }

    [Theory]
    [InlineData("random:tiny", 1)]
    [InlineData("random:tiny", 5)]
    public void A_diffusion_model_s_NLL_is_what_one_token_per_call_decoding_drew_each_token_with(string source, int batch)
    {
        var model = Load(source);
        using var _ = model.Model;
        const int length = 12;
        // Left to right, one token per network call (τ_p = 1), temperature 1: each reveal is drawn from exactly the
        // distribution the NLL scores, on exactly the canvas it builds.
        var options = model.DefaultOptions("none", 1.0) with { Order = UnmaskOrder.LeftToRight, Temperature = 1.0 };
        var sample = model.CreateSampler(options).Generate(["def f(a, b):\n"], new GenerationOptions { Length = length, Seed = 5, Record = true, BatchSize = 1 })[0];
        int promptLength = sample.Canvas.Frozen.Count(f => f);
        var reveals = sample.Recorder!.Steps.SelectMany(s => s.Changes[0]).ToList();
        Assert.Equal(Enumerable.Range(promptLength, length), reveals.Select(c => c.Position));   // one per step, left to right
        var expected = reveals.Select(c => -Math.Log(c.Probability)).ToArray();

        var nlls = ReferenceNll.TokenNlls(model.Model, sample.Ids[..promptLength], sample.Ids[promptLength..], length, batch);
        Assert.Equal(length, nlls.Length);
        for (int k = 0; k < length; k++) Assert.Equal(expected[k], nlls[k], 4);
    }

    [Fact]
    public void An_autoregressive_model_s_NLL_is_what_KV_cached_decoding_gives_each_token()
    {
        var model = Load("random-ar:tiny");
        using var _ = model.Model;
        int[] prompt = model.Tokenizer.Encode("def f(a, b):\n").Select(t => t.Id).ToArray();
        int[] targets = model.Tokenizer.Encode("    return a + b\n").Select(t => t.Id).Append(model.Config.EosTokenId).ToArray();
        var nlls = ReferenceNll.TokenNlls(model.Model, prompt, targets, length: 64, batch: 4);

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var session = ((CausalLmModel)model.Model).StartDecoding(1, prompt.Length + targets.Length);
        var logits = session.Step(tensor(prompt.Select(id => (long)id).ToArray()).unsqueeze(0));
        for (int k = 0; k < targets.Length; k++)
        {
            double expected = -nn.functional.log_softmax(logits.to(ScalarType.Float64), -1)[0, targets[k]].item<double>();
            Assert.Equal(expected, nlls[k], 4);
            logits = session.Step(tensor(new long[] { targets[k] }).unsqueeze(0));
        }
    }

    [Fact]
    public void A_benchmark_is_scored_on_its_completions_then_end_of_text_cut_to_G_tokens_and_written()
    {
        var model = Load("random:tiny");
        using var _ = model.Model;
        var benchmark = new Benchmark(BenchmarkKind.HumanEval,
        [
            new BenchmarkProblem("HumanEval/0", "def f(a):\n", "    return a\n", "", "f", "", []),
            new BenchmarkProblem("HumanEval/1", "def g(b):\n", "    x = b + 1\n    y = x * 2\n    z = y - 3\n    return z\n", "", "g", "", []),
        ]);
        var progress = new List<(int, int)>();
        var result = ReferenceNll.Measure(model, "random:tiny", benchmark, length: 8, batch: 3, (done, total) => progress.Add((done, total)));
        int shortTokens = model.Tokenizer.Encode("    return a\n").Count + 1;               // + end-of-text
        Assert.True(shortTokens <= 8);
        Assert.Equal([shortTokens, 8], result.Problems.Select(p => p.Tokens));               // the long one is cut to G, no end-of-text
        Assert.Equal([(1, 2), (2, 2)], progress);
        // The first problem's sum is its tokens' NLLs under the canvas definition.
        int[] prompt = model.Tokenizer.Encode("def f(a):\n").Select(t => t.Id).ToArray();
        int[] targets = model.Tokenizer.Encode("    return a\n").Select(t => t.Id).Append(model.Config.EosTokenId).ToArray();
        Assert.Equal(ReferenceNll.TokenNlls(model.Model, prompt, targets, 8, 1).Sum(), result.Problems[0].Nll, 6);
        Assert.Equal(result.Problems.Sum(p => p.Nll) / (shortTokens + 8), result.NllPerToken, 12);

        string path = result.Write(_root);
        Assert.Equal(Path.Combine(_root, ReferenceNll.FileName), path);
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        Assert.Equal(shortTokens + 8, json.RootElement.GetProperty("tokens").GetInt64());
        Assert.Equal("HumanEval/1", json.RootElement.GetProperty("problems")[1].GetProperty("task_id").GetString());
        Assert.Throws<ArgumentException>(() => ReferenceNll.TokenNlls(model.Model, prompt, new int[9], 8, 1));
    }
}
