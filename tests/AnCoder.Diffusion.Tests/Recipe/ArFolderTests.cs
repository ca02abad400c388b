using System.Text.Json;
using AnCoder.Diffusion.Checkpoints;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Tests.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.Recipe;

/// <summary>
/// The autoregressive model's folder is a Hugging Face Qwen2ForCausalLM folder (docs/recipe.md §1): compared with the
/// committed tiny Qwen2 folder (written by Reference/make_tiny_qwen2.py from Hugging Face's layout), and read back by
/// the Qwen2 import whose φ, with its causal mask back on, reproduces the AR model's logits.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class ArFolderTests
{
    private const int TinyMaskId = 63;

    /// <summary>A random causal model with exactly the tiny Qwen2 fixture's shape.</summary>
    internal static CausalLmModel TinyCausal(int seed = 3)
    {
        var qwen = HuggingFaceQwen2Config.Load(Path.Combine(ReferenceFiles.TinyQwen2, "config.json"));
        var config = Qwen2Import.BuildConfig(qwen, new Qwen2ImportOptions { Architecture = Architecture.Causal, MaskTokenId = TinyMaskId });
        manual_seed(seed);
        var model = (CausalLmModel)DiffusionModel.Create(config);
        using (no_grad())
            foreach (var (name, parameter) in model.named_parameters())
                if (name.EndsWith("norm.weight", StringComparison.Ordinal)) parameter.uniform_(0.5, 1.5); // not all ones
                else if (name.EndsWith(".bias", StringComparison.Ordinal)) parameter.normal_(0, 0.1);
        return model;
    }

    internal static Tensor Ids() => tensor(new long[] { 5, 9, 17, 3, 40, 22, 8, 61, 1, 30, 12, 44, 7, 19, 2, 50 }, [2, 8]);

    private static void AssertClose(Tensor expected, Tensor actual, double tolerance)
    {
        Assert.Equal(expected.shape, actual.shape);
        double worst = (expected - actual).abs().max().item<float>();
        Assert.True(worst <= tolerance, $"max |difference| {worst} exceeds {tolerance}");
    }

    private static Dictionary<string, long[]> TensorShapes(string folder)
    {
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var file in Qwen2Import.WeightFiles(folder))
        {
            using var safetensors = SafetensorsFile.Open(file);
            foreach (var entry in safetensors.Entries) shapes[entry.Name] = entry.Shape;
        }
        return shapes;
    }

    [Fact]
    public void The_AR_folder_has_Hugging_Face_Qwen2_tensor_names_shapes_and_config_fields()
    {
        using var folder = new TemporaryFolder();
        using var model = TinyCausal();
        ModelCheckpoint.Save(model, folder.Path);

        var ours = TensorShapes(folder.Path);
        var huggingFace = TensorShapes(ReferenceFiles.TinyQwen2);
        Assert.Equal(huggingFace.Keys.Order(StringComparer.Ordinal), ours.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, shape) in huggingFace) Assert.True(shape.SequenceEqual(ours[name]), $"shape of {name}");
        Assert.Contains(ModelCheckpoint.TokenizerFileName, folder.Entries());

        using var ourConfig = JsonDocument.Parse(File.ReadAllText(folder["config.json"]));
        using var theirConfig = JsonDocument.Parse(File.ReadAllText(Path.Combine(ReferenceFiles.TinyQwen2, "config.json")));
        var ourFields = ourConfig.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetRawText());
        foreach (var field in theirConfig.RootElement.EnumerateObject())
        {
            Assert.True(ourFields.ContainsKey(field.Name), $"config.json lacks {field.Name}");
            string expected = field.Name == "torch_dtype" ? "\"float32\"" : field.Value.GetRawText(); // fp32 master weights
            Assert.True(JsonElement.DeepEquals(JsonDocument.Parse(expected).RootElement, JsonDocument.Parse(ourFields[field.Name]).RootElement),
                $"{field.Name}: ours {ourFields[field.Name]}, Hugging Face's {expected}");
        }
        // Beyond Hugging Face's fields only pad_token_id (a standard one) and our mask_token_id.
        Assert.Equal(["mask_token_id", "pad_token_id"], ourFields.Keys.Except(theirConfig.RootElement.EnumerateObject().Select(p => p.Name)).Order());
    }

    [Fact]
    public void Imported_phi_with_the_causal_mask_back_on_reproduces_the_AR_logits()
    {
        using var folder = new TemporaryFolder();
        using var ar = TinyCausal();
        ModelCheckpoint.Save(ar, folder.Path);
        using var scope = NewDisposeScope();
        var ids = Ids();
        var expected = ar.Forward(ids).DenoiserLogits;

        // The paper's path: φ = all layers made bidirectional, ψ = the first N_d (mask id from config.json).
        using var anchored = (AnchoredModel)Qwen2Import.FromHuggingFace(folder.Path, new Qwen2ImportOptions { DenoiserLayers = 2 });
        Assert.Equal(TinyMaskId, anchored.Config.MaskTokenId);
        var bidirectional = anchored.Forward(ids).AnchorLogits!;
        Assert.True((bidirectional - expected).abs().max().item<float>() > 1e-3, "bidirectional φ should differ from the AR model");
        anchored.Anchor.Causal = true;
        AssertClose(expected, anchored.Forward(ids).AnchorLogits!, 1e-5);

        using var mdlm = (MdlmModel)Qwen2Import.FromHuggingFace(folder.Path, new Qwen2ImportOptions { Architecture = Architecture.Mdlm });
        mdlm.Network.Causal = true;
        AssertClose(expected, mdlm.Forward(ids).DenoiserLogits, 1e-5);

        // Our checkpoint loader reads the folder back as the causal model, bit for bit.
        using var loaded = ModelCheckpoint.Load(folder.Path);
        Assert.IsType<CausalLmModel>(loaded);
        Assert.True(loaded.Forward(ids).DenoiserLogits.eq(expected).all().item<bool>());
    }

    [Fact]
    public void Causal_logits_never_see_later_tokens_and_one_layer_equals_bidirectional_attention_on_the_prefix()
    {
        using var scope = NewDisposeScope();
        var ids = Ids();
        // (1) With the tiny Qwen2 fixture's weights (4 layers): position i depends on tokens 0..i only.
        using var causal = Qwen2Import.FromHuggingFace(ReferenceFiles.TinyQwen2, new Qwen2ImportOptions { Architecture = Architecture.Causal, MaskTokenId = TinyMaskId });
        var logits = causal.Forward(ids).DenoiserLogits;
        var changedTail = ids.clone();
        changedTail[.., 5..] = changedTail[.., 5..].remainder(7) + 40;
        AssertClose(logits[.., ..5], causal.Forward(changedTail).DenoiserLogits[.., ..5], 1e-5);
        Assert.True((logits[.., 5..] - causal.Forward(changedTail).DenoiserLogits[.., 5..]).abs().max().item<float>() > 1e-2);

        // (2) One layer: the last position of a prefix attends all of it, and the keys are plain embeddings, so the
        // causal model at i equals the bidirectional model (validated against the reference) on ids[..i] at i.
        var config = causal.Config with { NumHiddenLayers = 1 };
        using var oneCausal = DiffusionModel.Create(config);
        using var oneBidirectional = DiffusionModel.Create(config with { Architecture = Architecture.Mdlm });
        using (no_grad())
        {
            var weights = causal.state_dict();
            foreach (var (name, target) in oneCausal.state_dict()) target.copy_(weights[name]);
            foreach (var (name, target) in oneBidirectional.state_dict()) target.copy_(weights[name]);
        }
        var one = oneCausal.Forward(ids).DenoiserLogits;
        var worst = Enumerable.Range(0, (int)ids.shape[1])
            .Select(i => (oneBidirectional.Forward(ids[.., ..(i + 1)]).DenoiserLogits[.., i] - one[.., i]).abs().max().item<float>()).ToList();
        Assert.True(worst.Max() < 1e-5, "per position: " + string.Join(", ", worst));

        // bf16 compute takes the explicit-attention path with the same mask.
        oneCausal.ComputeType = oneBidirectional.ComputeType = ScalarType.BFloat16;
        AssertClose(oneBidirectional.Forward(ids[.., ..5]).DenoiserLogits[.., 4], oneCausal.Forward(ids).DenoiserLogits[.., 4], 0.05);
    }

    [Fact]
    public void Dream_shift_keeps_the_AR_heads_meaning_and_no_shift_is_ADLMs()
    {
        // Hand-made: with shift, position i shows the logits computed at i−1 (the AR head's prediction of token i);
        // position 0 keeps its own. Checked on φ imported from the AR folder with its causal mask back on.
        using var folder = new TemporaryFolder();
        using var ar = TinyCausal();
        ModelCheckpoint.Save(ar, folder.Path);
        using var scope = NewDisposeScope();
        var ids = Ids();
        var expected = ar.Forward(ids).DenoiserLogits;
        using var shifted = (AnchoredModel)Qwen2Import.FromHuggingFace(folder.Path, new Qwen2ImportOptions { DenoiserLayers = 1, Shift = true });
        using var plain = (AnchoredModel)Qwen2Import.FromHuggingFace(folder.Path, new Qwen2ImportOptions { DenoiserLayers = 1 });
        shifted.Anchor.Causal = plain.Anchor.Causal = true;
        var withShift = shifted.Forward(ids);
        var withoutShift = plain.Forward(ids);
        AssertClose(expected, withoutShift.AnchorLogits!, 1e-5);
        AssertClose(expected[.., ..^1], withShift.AnchorLogits![.., 1..], 1e-5);
        AssertClose(expected[.., ..1], withShift.AnchorLogits![.., ..1], 1e-5);
        // ψ shifts the same way: its unshifted output at i−1 appears at i.
        AssertClose(withoutShift.DenoiserLogits[.., ..^1], withShift.DenoiserLogits[.., 1..], 1e-5);
    }
}
