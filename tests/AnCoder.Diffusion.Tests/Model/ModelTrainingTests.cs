using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AnCoder.Diffusion.Tests.Model;

[Collection(TorchCollection.Name)]
public sealed class ModelTrainingTests
{
    /// <summary>A very small anchored config: every test here runs in well under a second.</summary>
    private static ModelConfig Micro(Architecture architecture = Architecture.Anchored, DenoiserInput input = DenoiserInput.Softmax) => new()
    {
        Architecture = architecture, DenoiserInput = input, VocabSize = 96, HiddenSize = 32, IntermediateSize = 64,
        NumHiddenLayers = 2, DenoiserLayers = 1, NumAttentionHeads = 4, NumKeyValueHeads = 2,
    };

    /// <summary>Cross-entropy of the denoiser logits against the clean ids at the masked positions only.</summary>
    private static Tensor DenoiserLoss(DiffusionModel model, Tensor clean, Tensor noisy)
    {
        var logits = model.Forward(noisy).DenoiserLogits;
        var nll = F.cross_entropy(logits.reshape(-1, logits.shape[^1]), clean.reshape(-1), reduction: nn.Reduction.None);
        var masked = noisy.reshape(-1).eq(model.Config.MaskTokenId).to(ScalarType.Float32);
        return (nll * masked).sum() / masked.sum();
    }

    private static (Tensor Clean, Tensor Noisy) Batch(ModelConfig config, long batch = 2, long length = 12)
    {
        var clean = randint(3, config.VocabSize, [batch, length], dtype: ScalarType.Int64);
        var noisy = clean.masked_fill(rand(batch, length).lt(0.5), config.MaskTokenId);
        noisy[.., 0] = config.MaskTokenId; // at least one masked position per row
        return (clean, noisy);
    }

    [Theory]
    [InlineData(Architecture.Anchored, DenoiserInput.Softmax)]
    [InlineData(Architecture.Anchored, DenoiserInput.Logits)]
    [InlineData(Architecture.Anchored, DenoiserInput.Linear)]
    [InlineData(Architecture.Mdlm, DenoiserInput.Softmax)]
    public void The_denoiser_loss_alone_gives_every_parameter_of_both_networks_a_gradient(Architecture architecture, DenoiserInput input)
    {
        manual_seed(1);
        using var model = DiffusionModel.Create(Micro(architecture, input));
        using var scope = NewDisposeScope();
        var (clean, noisy) = Batch(model.Config);
        DenoiserLoss(model, clean, noisy).backward();
        var names = new List<string>();
        foreach (var (name, parameter) in model.named_parameters())
        {
            names.Add(name);
            var grad = parameter.grad;
            Assert.True(grad is not null, $"{name} has no gradient");
            Assert.True(grad!.abs().sum().item<float>() > 0, $"{name} has an all-zero gradient");
        }
        if (architecture == Architecture.Anchored)
        {
            Assert.Contains(names, n => n.StartsWith("anchor.layers.0."));
            Assert.Contains(names, n => n.StartsWith("denoiser.layers.0."));
        }
    }

    [Fact]
    public void The_gradient_into_the_anchor_network_matches_a_finite_difference()
    {
        manual_seed(2);
        using var model = DiffusionModel.Create(Micro());
        using var scope = NewDisposeScope();
        var (clean, noisy) = Batch(model.Config);
        var parameter = model.named_parameters().Single(p => p.name == "anchor.layers.1.mlp.down_proj.weight").parameter;
        DenoiserLoss(model, clean, noisy).backward();
        var grad = parameter.grad!;
        var index = grad.abs().argmax().item<long>();
        double analytic = grad.flatten()[index].item<float>();
        double step = 1e-2, original;
        using (no_grad()) original = parameter.flatten()[index].item<float>();
        double Loss(double value)
        {
            using var _ = no_grad();
            parameter.view(-1)[index] = value;
            return DenoiserLoss(model, clean, noisy).item<float>();
        }
        double numeric = (Loss(original + step) - Loss(original - step)) / (2 * step);
        Loss(original);
        Assert.True(Math.Abs(analytic - numeric) <= 0.02 * Math.Abs(analytic) + 1e-5, $"analytic {analytic} vs finite difference {numeric}");
    }

    /// <summary>
    /// bf16 compute against fp32 on the reference weights (large enough that logits spread over ~±20): bf16 keeps
    /// 8 bits of mantissa (relative step 2⁻⁸ ≈ 0.4 %), so per-element errors of a few percent of the logit range are
    /// expected after 3 layers; we require max error ≤ 4 % and mean error ≤ 0.5 % of the largest |logit|.
    /// </summary>
    [Fact]
    public void Bf16_and_fp32_logits_agree_within_bf16_precision()
    {
        using var fixture = ReferenceFixture.Load();
        using var model = DiffusionModel.Create(fixture.Config);
        fixture.LoadInto(model);
        using var scope = NewDisposeScope();
        var fp32 = model.Forward(fixture.Ids, fixture.KeyMask);
        model.ComputeType = ScalarType.BFloat16;
        var bf16 = model.Forward(fixture.Ids, fixture.KeyMask);
        Assert.Equal(ScalarType.Float32, bf16.DenoiserLogits.dtype);
        foreach (var (reference, low, what) in new[] { (fp32.DenoiserLogits, bf16.DenoiserLogits, "denoiser"), (fp32.AnchorLogits!, bf16.AnchorLogits!, "anchor") })
        {
            double scale = reference.abs().max().item<float>();
            var error = (low - reference).abs();
            double max = error.max().item<float>() / scale, mean = error.mean().item<float>() / scale;
            Assert.True(max <= 0.04, $"{what}: bf16 max error {max:P2} of max |logit|");
            Assert.True(mean <= 0.005, $"{what}: bf16 mean error {mean:P3} of max |logit|");
            Assert.True(max > 0, "bf16 path computed in fp32");
        }
        foreach (var p in model.parameters()) Assert.Equal(ScalarType.Float32, p.dtype); // fp32 master weights
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void Live_tensor_count_stays_flat_over_many_training_steps(ScalarType computeType)
    {
        manual_seed(3);
        using var model = DiffusionModel.Create(Micro() with { VocabSize = 64, HiddenSize = 16, IntermediateSize = 32 });
        model.ComputeType = computeType;
        using var optimizer = optim.AdamW(model.parameters(), lr: 1e-3);
        long? after = null;
        for (int step = 0; step < 150; step++)
        {
            using (var scope = NewDisposeScope())
            {
                optimizer.zero_grad();
                var (clean, noisy) = Batch(model.Config, batch: 2, length: 8);
                DenoiserLoss(model, clean, noisy).backward();
                optimizer.step();
            }
            if (step == 2) after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        }
        Assert.Equal(after, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
