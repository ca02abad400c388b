using AnCoder.Anchoring.Labels;
using AnCoder.Diffusion.Checkpoints;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Losses;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Schedules;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.PyTorchEngine;

/// <summary>
/// The loss (docs/algorithms.md §1–5) and its gradients in the two engines: the same weights (saved by C#, loaded by
/// python/ancoder_torch), the same batch (padding, a prompt, anchor weights), the same t and z_t → the same loss (fp32,
/// ≤ 1e-5 relative) and the same gradient for every parameter. A change to the model or loss on either side fails here.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class LossParityTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "ancoder-parity-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }

    private static readonly (string Architecture, string DenoiserInput, bool Shift, string Schedule, string AnchorLossOn)[] Cases =
    [
        // architecture, denoiser input, shift, schedule, anchor loss on
        ("mdlm", "softmax", false, "cosine2", "all"),
        ("anchored", "softmax", false, "cosine2", "all"),       // AnchorTree, the paper's model
        ("anchored", "logits", false, "loglinear", "masked"),
        ("anchored", "linear", true, "md4cosine", "all"),
        ("anchored", "softmax", true, "cosine", "masked"),
    ];

    /// <summary>All cases against one python process (its start-up, importing torch, costs seconds).</summary>
    [Fact]
    public void Loss_and_gradients_equal_the_PyTorch_engine()
    {
        var cases = Cases.Select(c => ($"{c}", Prepare(c.Architecture, c.DenoiserInput, c.Shift, c.Schedule, c.AnchorLossOn))).ToList();
        PythonTorch.Run("ancoder_torch.parity", ["loss", .. cases.SelectMany(c => new[] { c.Item2.ModelDir, c.Item2.Inputs, c.Item2.Result })]);
        foreach (var (name, prepared) in cases)
        {
            Compare(name, prepared);
            prepared.Model.Dispose();
        }
    }

    /// <summary>
    /// The AR objective (docs/recipe.md §1): a causal model saved as a Hugging Face Qwen2ForCausalLM folder, a batch with
    /// padding, a prompt and a mask-id token → the same next-token loss, target count and gradients.
    /// </summary>
    [Fact]
    public void Next_token_loss_and_gradients_equal_the_PyTorch_engine()
    {
        var prepared = PrepareAr();
        PythonTorch.Run("ancoder_torch.parity", ["loss", prepared.ModelDir, prepared.Inputs, prepared.Result]);
        Compare("ar", prepared);
        prepared.Model.Dispose();
    }

    /// <summary>
    /// One SFT batch as <see cref="AnCoder.Anchoring.Shards.PackingMode.Sft"/> builds it (docs/corpus.md): a prompt
    /// (conditioning: never masked, no loss), the completion, then end-of-text to the end of the row (valid, with loss,
    /// γ = 0), no padding → the same loss and gradients for the anchored diffusion loss and the AR loss.
    /// </summary>
    [Fact]
    public void Sft_loss_and_gradients_equal_the_PyTorch_engine_for_diffusion_and_AR()
    {
        const int rows = 2, length = 12, eos = 0;
        int[] prompts = [4, 2], completions = [3, 7];
        var generator = new Generator(99);
        var ids = randint(3, 64, [rows, length], generator: generator);
        var gamma = rand([rows, length], generator: generator) * 0.3;
        var conditioning = zeros([rows, length], ScalarType.Bool);
        for (int r = 0; r < rows; r++)
        {
            conditioning[r, TensorIndex.Slice(null, prompts[r])] = true;
            ids[r, TensorIndex.Slice(prompts[r] + completions[r])] = eos;  // end-of-text fills the row
            gamma[r, TensorIndex.Slice(prompts[r] + completions[r])] = 0;
        }
        var valid = ones([rows, length], ScalarType.Bool);               // no padding in SFT rows

        var anchoredConfig = SmallConfig(Architecture.Anchored);
        var t = TimeSampling.Stratified(rows, anchoredConfig.Diffusion.TimeEpsilon, generator);
        var (noisy, _) = ForwardProcess.Mask(ids, t, NoiseSchedules.From(anchoredConfig.Diffusion), conditioning, anchoredConfig.MaskTokenId, generator);
        Assert.True(noisy.eq(ids).logical_or(conditioning.logical_not()).all().item<bool>(), "a prompt position was masked");
        string diffusionDir = Path.Combine(root, "sft-diffusion"), arDir = Path.Combine(root, "sft-ar");
        Directory.CreateDirectory(diffusionDir);
        Directory.CreateDirectory(arDir);
        var diffusion = PrepareWithLoss(diffusionDir, anchoredConfig, ids, gamma, conditioning, valid, (model, batch) =>
        {
            var output = model.Forward(noisy, DiffusionLoss.KeyMask(batch));
            var parts = DiffusionLoss.FromLogits(output.DenoiserLogits, output.AnchorLogits, batch, noisy, t, LossOptions.From(anchoredConfig.Diffusion), anchoredConfig.MaskTokenId);
            Assert.Equal(rows * length - prompts.Sum(), parts.ValidTokens); // completion and end-of-text carry loss, the prompt does not
            Assert.True(parts.MaskedTokens > 0 && parts.AnchorNll > 0, "the case must exercise both loss terms");
            return (parts.Loss, parts.ValidTokens, parts.MaskedTokens);
        }, noisy, t);
        var ar = PrepareWithLoss(arDir, SmallConfig(Architecture.Causal), ids, gamma, conditioning, valid, (model, batch) =>
        {
            var output = model.Forward(ids, DiffusionLoss.KeyMask(batch));
            var parts = NextTokenLoss.FromLogits(output.DenoiserLogits, batch, anchoredConfig.MaskTokenId);
            Assert.Equal(rows * length - prompts.Sum(), parts.ValidTokens); // targets: every position after the prompt
            return (parts.Loss, parts.ValidTokens, 0L);
        });
        PythonTorch.Run("ancoder_torch.parity", ["loss", diffusion.ModelDir, diffusion.Inputs, diffusion.Result, ar.ModelDir, ar.Inputs, ar.Result]);
        Compare("sft diffusion", diffusion);
        Compare("sft ar", ar);
        diffusion.Model.Dispose();
        ar.Model.Dispose();
    }

    private Prepared PrepareAr()
    {
        string caseDir = Path.Combine(root, "ar");
        Directory.CreateDirectory(caseDir);
        var config = SmallConfig(Architecture.Causal);
        const int rows = 3, length = 12;
        var generator = new Generator(321);
        var ids = randint(3, 64, [rows, length], generator: generator);
        ids[0, 6] = config.MaskTokenId;                               // a mask id: never a target
        var valid = ones([rows, length], ScalarType.Bool);
        valid[2, TensorIndex.Slice(8)] = false;                       // row 2: 4 padding positions
        var conditioning = zeros([rows, length], ScalarType.Bool);
        conditioning[1, TensorIndex.Slice(null, 5)] = true;           // row 1: a 5-token prompt, no loss on it
        return PrepareWithLoss(caseDir, config, ids, zeros([rows, length]), conditioning, valid, (model, batch) =>
        {
            var output = model.Forward(ids, DiffusionLoss.KeyMask(batch));
            var parts = NextTokenLoss.FromLogits(output.DenoiserLogits, batch, config.MaskTokenId);
            Assert.Equal(3 * 11 - 1 - 4 - 4, parts.ValidTokens); // 33 (i−1, i) pairs − the mask-id target − 4 prompt targets − 4 padding targets
            return (parts.Loss, parts.ValidTokens, 0L);
        });
    }

    private static ModelConfig SmallConfig(Architecture architecture) => new()
    {
        Architecture = architecture, VocabSize = 64, HiddenSize = 32, IntermediateSize = 48, NumHiddenLayers = 2, DenoiserLayers = 1,
        NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 64,
    };

    /// <summary>Seeds and saves a model of <paramref name="config"/>, runs <paramref name="loss"/> on the batch (backward included), writes the inputs.</summary>
    private static Prepared PrepareWithLoss(string caseDir, ModelConfig config, Tensor ids, Tensor gamma, Tensor conditioning, Tensor valid,
        Func<DiffusionModel, DiffusionBatch, (Tensor Loss, long Valid, long Masked)> loss, Tensor? noisy = null, Tensor? t = null)
    {
        manual_seed(7);
        var model = DiffusionModel.Create(config); // outside the dispose scope: it outlives this method
        using var scope = NewDisposeScope();
        using (no_grad())
            foreach (var (name, p) in model.named_parameters()) // larger than the N(0, 0.02) init: far-from-uniform softmaxes
                if (!name.EndsWith("norm.weight")) p.copy_(randn(p.shape) * (name.Contains("embed") ? 0.5 : 1.0 / Math.Sqrt(p.shape[^1])));
        string modelDir = Path.Combine(caseDir, "model");
        ModelCheckpoint.Save(model, modelDir);
        using var batch = new DiffusionBatch(ids.clone(), gamma.clone(), conditioning.clone(), valid.clone()); // it disposes its tensors
        var (value, validTokens, maskedTokens) = loss(model, batch);
        value.backward();
        string inputs = Path.Combine(caseDir, "inputs.safetensors"), result = Path.Combine(caseDir, "result.safetensors");
        var tensors = new Dictionary<string, Tensor>
        {
            ["ids"] = ids, ["weights"] = gamma, ["conditioning"] = conditioning.to(ScalarType.Int64), ["valid"] = valid.to(ScalarType.Int64),
        };
        if (noisy is not null) tensors["noisy"] = noisy;
        if (t is not null) tensors["t"] = t;
        Safetensors.Write(inputs, tensors);
        return new Prepared(model, value.item<float>(), validTokens, maskedTokens, modelDir, inputs, result);
    }

    private sealed record Prepared(DiffusionModel Model, double Loss, long ValidTokens, long MaskedTokens, string ModelDir, string Inputs, string Result);

    private Prepared Prepare(string architecture, string denoiserInput, bool shift, string schedule, string anchorLossOn)
    {
        string caseDir = Path.Combine(root, $"{architecture}-{denoiserInput}-{shift}-{schedule}-{anchorLossOn}");
        Directory.CreateDirectory(caseDir);
        var config = new ModelConfig
        {
            Architecture = architecture == "mdlm" ? Architecture.Mdlm : Architecture.Anchored, VocabSize = 64, HiddenSize = 32,
            IntermediateSize = 48, NumHiddenLayers = 2, DenoiserLayers = 1, NumAttentionHeads = 4, NumKeyValueHeads = 2,
            MaxPositionEmbeddings = 64, DenoiserInput = Enum.Parse<DenoiserInput>(denoiserInput, ignoreCase: true), Shift = shift,
            Diffusion = new DiffusionSettings
            {
                Schedule = Enum.Parse<ScheduleKind>(schedule, ignoreCase: true), AnchorLossOn = Enum.Parse<AnchorLossOn>(anchorLossOn, ignoreCase: true),
                Strategy = architecture == "mdlm" ? AnchorStrategy.Mdlm : AnchorStrategy.AnchorTree,
            },
        };
        manual_seed(7);
        var model = DiffusionModel.Create(config); // outside the dispose scope: it outlives this method
        using var scope = NewDisposeScope();
        using (no_grad())
            foreach (var (name, p) in model.named_parameters()) // larger than the N(0, 0.02) init: far-from-uniform softmaxes
                if (!name.EndsWith("norm.weight")) p.copy_(randn(p.shape) * (name.Contains("embed") ? 0.5 : 1.0 / Math.Sqrt(p.shape[^1])));
        string modelDir = Path.Combine(caseDir, "model");
        ModelCheckpoint.Save(model, modelDir);

        const int rows = 3, length = 12;
        var generator = new Generator(123);
        var ids = randint(3, 64, [rows, length], generator: generator);
        var valid = ones([rows, length], ScalarType.Bool);
        valid[2, TensorIndex.Slice(9)] = false;                       // row 2: 3 padding positions
        var conditioning = zeros([rows, length], ScalarType.Bool);
        conditioning[1, TensorIndex.Slice(null, 4)] = true;           // row 1: a 4-token prompt
        var gamma = rand([rows, length], generator: generator) * 0.3 * (rand([rows, length], generator: generator) > 0.4);
        using var batch = new DiffusionBatch(ids, gamma, conditioning, valid);
        var t = TimeSampling.Stratified(rows, config.Diffusion.TimeEpsilon, generator);
        var (noisy, _) = ForwardProcess.Mask(ids, t, NoiseSchedules.From(config.Diffusion), conditioning, config.MaskTokenId, generator);

        var output = model.Forward(noisy, DiffusionLoss.KeyMask(batch));
        var parts = DiffusionLoss.FromLogits(output.DenoiserLogits, output.AnchorLogits, batch, noisy, t, LossOptions.From(config.Diffusion), config.MaskTokenId);
        parts.Loss.backward();
        Assert.True(parts.MaskedTokens > 0 && (architecture == "mdlm" || parts.AnchorNll > 0), "the case must exercise both loss terms");

        string inputs = Path.Combine(caseDir, "inputs.safetensors"), result = Path.Combine(caseDir, "result.safetensors");
        Safetensors.Write(inputs, new Dictionary<string, Tensor>
        {
            ["ids"] = ids, ["weights"] = gamma, ["conditioning"] = conditioning.to(ScalarType.Int64), ["valid"] = valid.to(ScalarType.Int64),
            ["noisy"] = noisy, ["t"] = t,
        });
        return new Prepared(model, parts.Loss.item<float>(), parts.ValidTokens, parts.MaskedTokens, modelDir, inputs, result);
    }

    private static void Compare(string name, Prepared prepared)
    {
        using var scope = NewDisposeScope();
        var theirs = Safetensors.Read(prepared.Result);
        double ours = prepared.Loss, pytorch = theirs["loss"][0].item<float>();
        Assert.True(Math.Abs(ours - pytorch) <= 1e-5 * Math.Abs(ours), $"{name}: loss: C# {ours:R}, PyTorch {pytorch:R}");
        Assert.Equal([prepared.ValidTokens, prepared.MaskedTokens], theirs["counts"].data<long>().ToArray());
        int compared = 0;
        var model = prepared.Model;
        foreach (var (parameterName, p) in model.named_parameters())
        {
            string name2 = $"{name}: {parameterName}";
            var grad = p.grad!;
            var other = theirs["grad." + parameterName];
            double scale = grad.abs().max().item<float>();
            double difference = (grad - other).abs().max().item<float>();
            Assert.True(scale > 0, $"{name2}: zero gradient (the case does not reach this parameter)");
            Assert.True(difference <= 1e-4 * scale, $"{name2}: gradients differ by {difference:G3} (largest {scale:G3})");
            compared++;
        }
        Assert.Equal(model.named_parameters().Count(), compared);
    }
}
