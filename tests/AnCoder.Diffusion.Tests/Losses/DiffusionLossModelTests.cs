using AnCoder.Anchoring.Shards;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Losses;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Schedules;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.Losses;

/// <summary>The loss on a real (tiny) network: plumbing, gradients, leaks, validation NELBO.</summary>
[Collection(TorchCollection.Name)]
public sealed class DiffusionLossModelTests
{
    private const int Rows = 3, Length = 12, Vocab = 32, MaskId = 1, PadId = 2;

    private static ModelConfig Config(Architecture architecture = Architecture.Anchored) => ModelPresets.Tiny with
    {
        Architecture = architecture, VocabSize = Vocab, HiddenSize = 32, IntermediateSize = 64,
        NumHiddenLayers = 1, DenoiserLayers = 1, NumAttentionHeads = 2, NumKeyValueHeads = 1, MaxPositionEmbeddings = 64,
    };

    /// <summary>Row 0 has a 3-token prompt, row 2 ends in 4 padding tokens; γ = 0.1 at even positions.</summary>
    private static Batch LoaderBatch()
    {
        var random = new Random(17);
        int n = Rows * Length;
        var batch = new Batch(Rows, Length, new int[n], new float[n], new bool[n], new bool[n]);
        for (int k = 0; k < n; k++)
        {
            int row = k / Length, column = k % Length;
            bool padding = row == 2 && column >= Length - 4;
            batch.Ids[k] = padding ? PadId : random.Next(3, Vocab);
            batch.Valid[k] = !padding;
            batch.PromptMask[k] = row == 0 && column < 3;
            batch.Weights[k] = padding || column % 2 == 1 ? 0f : 0.1f;
        }
        return batch;
    }

    [Fact]
    public void FromLoaderBatch_converts_arrays_to_tensors_and_loss_positions()
    {
        var source = LoaderBatch();
        using var batch = DiffusionBatch.FromLoaderBatch(source);
        Assert.Equal(ScalarType.Int64, batch.Ids.dtype);
        Assert.Equal(ScalarType.Float32, batch.AnchorWeights.dtype);
        Assert.Equal(ScalarType.Bool, batch.Conditioning.dtype);
        Assert.Equal(ScalarType.Bool, batch.Valid.dtype);
        Assert.All(new[] { batch.Ids, batch.AnchorWeights, batch.Conditioning, batch.Valid },
            t => Assert.Equal(new long[] { Rows, Length }, t.shape));
        Assert.Equal(source.Ids.Select(i => (long)i), batch.Ids.data<long>().ToArray());
        Assert.Equal(source.Weights, batch.AnchorWeights.data<float>().ToArray());
        Assert.Equal(source.PromptMask, batch.Conditioning.data<bool>().ToArray());
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using var lossPositions = batch.LossPositions();
        Assert.Equal(live + 1, DisposeScopeManager.Statistics.ThreadTotalLiveCount); // no intermediate left behind
        Assert.Equal(source.Valid.Zip(source.PromptMask, (v, p) => v && !p), lossPositions.data<bool>().ToArray());

        var broken = source with { Weights = new float[5] };
        Assert.Contains("Weights", Assert.Throws<ArgumentException>(() => DiffusionBatch.FromLoaderBatch(broken)).Message);
    }

    [Fact]
    public void Compute_equals_the_loss_of_the_same_draws_done_step_by_step()
    {
        torch.manual_seed(1);
        using var model = DiffusionModel.Create(Config());
        using var batch = DiffusionBatch.FromLoaderBatch(LoaderBatch());
        var options = LossOptions.From(model.Config.Diffusion);
        using var scope = NewDisposeScope();

        using var generator = new Generator(5);
        var parts = DiffusionLoss.Compute(model, batch, options, generator);

        using var replay = new Generator(5);
        var t = TimeSampling.Stratified(Rows, options.TimeEpsilon, replay);
        var (noisy, masked) = ForwardProcess.Mask(batch.Ids, t, options.Schedule, batch.Conditioning, MaskId, replay);
        var output = model.Forward(noisy, batch.Valid);
        var expected = DiffusionLoss.FromLogits(output.DenoiserLogits, output.AnchorLogits, batch, noisy, t, options, MaskId);

        Assert.Equal(expected.Loss.item<float>(), parts.Loss.item<float>(), 5);
        Assert.Equal(expected.DenoiserNll, parts.DenoiserNll, 5);
        Assert.Equal(expected.AnchorNll, parts.AnchorNll, 5);
        Assert.Equal(Rows * Length - 3 - 4, parts.ValidTokens);
        Assert.Equal(masked.logical_and(batch.LossPositions()).sum().item<long>(), parts.MaskedTokens);
        Assert.True(parts.AnchorNll > 0 && parts.DenoiserNll > 0);
        Assert.Equal(parts.DenoiserNll + parts.AnchorNll, parts.Loss.item<float>(), 4);
    }

    [Fact]
    public void Gradients_reach_both_networks_even_without_anchor_loss()
    {
        torch.manual_seed(2);
        using var model = DiffusionModel.Create(Config());
        using var batch = DiffusionBatch.FromLoaderBatch(LoaderBatch());
        foreach (double anchorScale in new[] { 1.0, 0.0 })
        {
            model.zero_grad();
            var options = LossOptions.From(model.Config.Diffusion) with { AnchorScale = anchorScale };
            using (var scope = NewDisposeScope())
            {
                using var generator = new Generator(3);
                var parts = DiffusionLoss.Compute(model, batch, options, generator);
                parts.Loss.backward();
            }
            // The denoiser loss alone flows through ψ into φ (docs/algorithms.md §4).
            foreach (var name in new[] { "anchor.embed_tokens.weight", "anchor.layers.0.self_attn.q_proj.weight",
                         "anchor.norm.weight", "denoiser.embed_tokens.weight", "denoiser.layers.0.mlp.down_proj.weight" })
            {
                var parameter = model.named_parameters().Single(p => p.name == name).parameter;
                Assert.NotNull(parameter.grad);
                Assert.True(parameter.grad!.abs().max().item<float>() > 0, $"no gradient at {name} (anchor scale {anchorScale})");
            }
        }
    }

    [Fact]
    public void Mdlm_model_has_no_anchor_part_and_trains()
    {
        torch.manual_seed(3);
        using var model = DiffusionModel.Create(Config(Architecture.Mdlm));
        using var batch = DiffusionBatch.FromLoaderBatch(LoaderBatch());
        using var scope = NewDisposeScope();
        using var generator = new Generator(4);
        var parts = DiffusionLoss.Compute(model, batch, LossOptions.From(model.Config.Diffusion), generator);
        Assert.Equal(0, parts.AnchorNll);
        Assert.Equal(parts.DenoiserNll, parts.Loss.item<float>(), 4);
        parts.Loss.backward();
        Assert.True(model.parameters().All(p => p.grad is not null));
    }

    [Fact]
    public void Validation_nelbo_is_the_denoiser_part_without_gradients()
    {
        torch.manual_seed(4);
        using var model = DiffusionModel.Create(Config());
        using var batch = DiffusionBatch.FromLoaderBatch(LoaderBatch());
        var options = LossOptions.From(model.Config.Diffusion);
        using var scope = NewDisposeScope();
        using var first = new Generator(8);
        using var second = new Generator(8);
        double validation = DiffusionLoss.ValidationNelbo(model, batch, options.Schedule, first);
        var parts = DiffusionLoss.Compute(model, batch, options, second);
        Assert.Equal(parts.DenoiserNll, validation, 5);
        Assert.True(parts.AnchorNll > 0);
        Assert.True(double.IsFinite(validation) && validation > 0);
        Assert.All(model.parameters(), p => Assert.Null(p.grad));
    }

    [Fact]
    public void Compute_and_validation_leak_no_tensors()
    {
        torch.manual_seed(5);
        using var model = DiffusionModel.Create(Config());
        using var batch = DiffusionBatch.FromLoaderBatch(LoaderBatch());
        var options = LossOptions.From(model.Config.Diffusion);
        using var generator = new Generator(6);
        // Warm up once (lazily created tensors such as rotary tables are not leaks).
        using (var parts = DiffusionLoss.Compute(model, batch, options, generator).Loss) parts.backward();
        model.zero_grad();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int step = 0; step < 3; step++)
        {
            using (var loss = DiffusionLoss.Compute(model, batch, options, generator).Loss) loss.backward();
            DiffusionLoss.ValidationNelbo(model, batch, options.Schedule, generator);
            model.zero_grad();
        }
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
