using System.Text.Json.Nodes;
using AnCoder.Diffusion.Checkpoints;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.Checkpoints;

/// <summary>
/// Imports the committed tiny Qwen2 folder (bf16, two shards; Reference/make_tiny_qwen2.py) and compares our forward
/// with the logits that script computed independently in float64 from Hugging Face's Qwen2 math.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class Qwen2ImportTests
{
    private const int TinyMaskId = 63;
    private static readonly Qwen2ImportOptions Anchored = new() { MaskTokenId = TinyMaskId, DenoiserLayers = 2 };

    private static (Tensor Ids, Tensor KeyMask, Dictionary<string, Tensor> Expected) Fixture()
    {
        var expected = Safetensors.Read(ReferenceFiles.TinyQwen2Expected);
        return (expected["ids"], expected["key_mask"], expected);
    }

    private static void AssertClose(Tensor expected, Tensor actual, double tolerance)
    {
        Assert.Equal(expected.shape, actual.shape);
        double worst = (expected - actual).abs().max().item<float>();
        Assert.True(worst <= tolerance, $"max |difference| {worst} exceeds {tolerance}");
    }

    [Fact]
    public void Anchored_import_reproduces_the_reference_anchor_and_denoiser_logits()
    {
        using var model = Qwen2Import.FromHuggingFace(ReferenceFiles.TinyQwen2, Anchored);
        using var scope = NewDisposeScope();
        var (ids, keyMask, expected) = Fixture();
        var output = model.Forward(ids, keyMask);
        AssertClose(expected["anchor_logits"], output.AnchorLogits!, 1e-4);
        AssertClose(expected["denoiser_logits"], output.DenoiserLogits, 1e-4);
    }

    [Fact]
    public void Mdlm_import_reproduces_the_reference_logits()
    {
        using var model = Qwen2Import.FromHuggingFace(ReferenceFiles.TinyQwen2, Anchored with { Architecture = Architecture.Mdlm });
        Assert.IsType<MdlmModel>(model);
        Assert.Equal(4, model.Config.NumHiddenLayers);
        using var scope = NewDisposeScope();
        var (ids, keyMask, expected) = Fixture();
        AssertClose(expected["mdlm_logits"], model.Forward(ids, keyMask).DenoiserLogits, 1e-4);
    }

    [Fact]
    public void Weights_land_where_ALGORITHMS_section_4_puts_them()
    {
        using var model = Qwen2Import.FromHuggingFace(ReferenceFiles.TinyQwen2, Anchored);
        using var scope = NewDisposeScope();
        var qwen = new Dictionary<string, Tensor>();
        foreach (var shard in Directory.EnumerateFiles(ReferenceFiles.TinyQwen2, "*.safetensors"))
            foreach (var (name, tensor) in Safetensors.Read(shard)) qwen[name] = tensor;
        Assert.Equal(4 * 12 + 2, qwen.Count);

        var parameters = model.state_dict();
        Assert.Equal(4 * 12 + 2 + 2 * 12 + 2, parameters.Count); // φ: 4 layers, ψ: 2 layers, each with embedding + norm
        foreach (var (name, parameter) in parameters)
        {
            Assert.Equal(ScalarType.Float32, parameter.dtype);
            string qwenName = "model." + name[(name.IndexOf('.') + 1)..];
            Assert.True(TensorBytes.Equal(qwen[qwenName].to(ScalarType.Float32), parameter), $"{name} ≠ {qwenName}");
        }
        Assert.Equal(new[] { "anchor", "denoiser" }, parameters.Keys.Select(name => name[..name.IndexOf('.')]).Distinct().Order());
        Assert.DoesNotContain("denoiser.layers.2.mlp.up_proj.weight", parameters.Keys);
        Assert.Equal(TinyMaskId, model.Config.MaskTokenId);
        Assert.Equal(1e6, model.Config.RopeTheta);
        Assert.Equal(128, model.Config.MaxPositionEmbeddings);
    }

    [Fact]
    public void Bf16_parameters_hold_the_stored_values_and_give_the_same_logits()
    {
        using var fp32 = Qwen2Import.FromHuggingFace(ReferenceFiles.TinyQwen2, Anchored);
        using var bf16 = Qwen2Import.FromHuggingFace(ReferenceFiles.TinyQwen2, Anchored with { ParameterType = ScalarType.BFloat16 });
        Assert.All(bf16.parameters(), parameter => Assert.Equal(ScalarType.BFloat16, parameter.dtype));
        using var scope = NewDisposeScope();
        var (ids, keyMask, _) = Fixture();
        // The stored weights are bf16, so widening them at every matmul computes exactly what fp32 parameters do.
        Assert.True(TensorBytes.Equal(fp32.Forward(ids, keyMask).DenoiserLogits, bf16.Forward(ids, keyMask).DenoiserLogits));
    }

    [Fact]
    public void Import_then_checkpoint_round_trip_keeps_the_logits()
    {
        using var folder = new TemporaryFolder();
        using var model = Qwen2Import.FromHuggingFace(ReferenceFiles.TinyQwen2, Anchored);
        string tokenizer = folder["tokenizer.json"];
        File.WriteAllText(tokenizer, "{}");
        ModelCheckpoint.Save(model, folder["imported"], tokenizer);
        using var loaded = ModelCheckpoint.Load(folder["imported"]);
        using var scope = NewDisposeScope();
        var (ids, keyMask, _) = Fixture();
        Assert.True(TensorBytes.Equal(model.Forward(ids, keyMask).DenoiserLogits, loaded.Forward(ids, keyMask).DenoiserLogits));
    }

    [Fact]
    public void Config_defaults_follow_the_paper()
    {
        var qwen = HuggingFaceQwen2Config.Load(Path.Combine(ReferenceFiles.TinyQwen2, "config.json"));
        var config = Qwen2Import.BuildConfig(qwen, new Qwen2ImportOptions { MaskTokenId = TinyMaskId });
        Assert.Equal(Architecture.Anchored, config.Architecture);
        Assert.Equal(2, config.DenoiserLayers); // half of Qwen's layers: the paper's 12 of 24
        Assert.Equal((64, 32, 48, 4, 2, 1), (config.VocabSize, config.HiddenSize, config.IntermediateSize, config.NumHiddenLayers, config.NumAttentionHeads, config.NumKeyValueHeads));
        Assert.Equal((0, 0), (config.EosTokenId, config.PadTokenId));
        Assert.Null(new Qwen2ImportOptions().MaskTokenId); // config.json's mask_token_id, else the paper's 151665:
        Assert.Equal(151665, Qwen2Import.QwenMaskTokenId);

        var error = Assert.Throws<CheckpointException>(() => Qwen2Import.BuildConfig(qwen, new Qwen2ImportOptions(), "tiny/config.json"));
        Assert.Contains("tiny/config.json: the imported model's config is not usable: mask_token_id (151665) must be in [0, vocab_size=64)", error.Message);
        error = Assert.Throws<CheckpointException>(() => Qwen2Import.BuildConfig(qwen, Anchored with { DenoiserLayers = 5 }));
        Assert.Contains("denoiser layers must be in 1..4 (Qwen's num_hidden_layers), got 5", error.Message);
    }

    [Theory]
    [InlineData("model.embed_tokens.weight", Architecture.Anchored, "anchor.embed_tokens.weight|denoiser.embed_tokens.weight")]
    [InlineData("model.norm.weight", Architecture.Anchored, "anchor.norm.weight|denoiser.norm.weight")]
    [InlineData("model.layers.11.self_attn.q_proj.bias", Architecture.Anchored, "anchor.layers.11.self_attn.q_proj.bias|denoiser.layers.11.self_attn.q_proj.bias")]
    [InlineData("model.layers.12.mlp.up_proj.weight", Architecture.Anchored, "anchor.layers.12.mlp.up_proj.weight")]
    [InlineData("model.layers.23.mlp.up_proj.weight", Architecture.Mdlm, "model.layers.23.mlp.up_proj.weight")]
    [InlineData("lm_head.weight", Architecture.Anchored, "")]
    [InlineData("model.layers.0.self_attn.rotary_emb.inv_freq", Architecture.Anchored, "")]
    public void Qwen_names_map_to_phi_and_psi(string qwenName, Architecture architecture, string expected)
    {
        var targets = Qwen2Import.TargetNames(qwenName, architecture, denoiserLayers: 12);
        Assert.Equal(expected, string.Join("|", targets));
    }

    [Fact]
    public void Lm_head_must_be_absent_or_equal_to_the_embedding()
    {
        using var folder = new TemporaryFolder();
        string single = folder["single"];
        using var scope = NewDisposeScope();
        var weights = new Dictionary<string, Tensor>();
        foreach (var shard in Directory.EnumerateFiles(ReferenceFiles.TinyQwen2, "*.safetensors"))
            foreach (var (name, tensor) in Safetensors.Read(shard)) weights[name] = tensor;
        Directory.CreateDirectory(single);
        WriteConfig(single, config => config["tie_word_embeddings"] = false);

        // Untied without lm_head: cannot know the output layer.
        Safetensors.Write(Path.Combine(single, "model.safetensors"), weights);
        var error = Assert.Throws<CheckpointException>(() => Qwen2Import.FromHuggingFace(single, Anchored));
        Assert.Contains("tie_word_embeddings = false but there is no lm_head.weight", error.Message);

        // An lm_head equal to the embedding is the tied case written out: imported, same logits.
        weights["lm_head.weight"] = weights["model.embed_tokens.weight"].clone();
        Safetensors.Write(Path.Combine(single, "model.safetensors"), weights);
        using (var model = Qwen2Import.FromHuggingFace(single, Anchored))
        {
            var (ids, keyMask, expected) = Fixture();
            AssertClose(expected["denoiser_logits"], model.Forward(ids, keyMask).DenoiserLogits, 1e-4);
        }

        // A different lm_head cannot be represented by our tied networks.
        weights["lm_head.weight"] = weights["model.embed_tokens.weight"] * 2;
        Safetensors.Write(Path.Combine(single, "model.safetensors"), weights);
        error = Assert.Throws<CheckpointException>(() => Qwen2Import.FromHuggingFace(single, Anchored));
        Assert.Contains("'lm_head.weight' differs from 'model.embed_tokens.weight'", error.Message);
    }

    [Fact]
    public void A_config_that_does_not_match_the_weights_lists_every_mismatch()
    {
        using var folder = new TemporaryFolder();
        string copy = folder["qwen"];
        ReferenceFiles.CopyDirectory(ReferenceFiles.TinyQwen2, copy);
        WriteConfig(copy, config => { config["num_hidden_layers"] = 5; config["intermediate_size"] = 40; });
        var error = Assert.Throws<CheckpointException>(() => Qwen2Import.FromHuggingFace(copy, Anchored));
        Assert.StartsWith(copy + " does not fit a Qwen2 model of its config.json", error.Message);
        Assert.Contains("missing tensors (12): anchor.layers.4.input_layernorm.weight,", error.Message);
        Assert.Contains("shape of 'anchor.layers.0.mlp.gate_proj.weight': stored [48, 32] vs model [40, 32]", error.Message);
        Assert.Contains("shape of 'denoiser.layers.1.mlp.down_proj.weight': stored [32, 48] vs model [32, 40]", error.Message);
        Assert.Equal(3 * (4 + 2), error.Message.Split("shape of '").Length - 1);
    }

    [Fact]
    public void Missing_or_odd_folders_give_clear_errors()
    {
        using var folder = new TemporaryFolder();
        var error = Assert.Throws<CheckpointException>(() => Qwen2Import.FromHuggingFace(folder["absent"], Anchored));
        Assert.Contains("absent: Hugging Face model folder not found", error.Message);

        string empty = folder["empty"];
        Directory.CreateDirectory(empty);
        error = Assert.Throws<CheckpointException>(() => Qwen2Import.FromHuggingFace(empty, Anchored));
        Assert.Contains("config.json: not found", error.Message);

        string noWeights = folder["no-weights"];
        Directory.CreateDirectory(noWeights);
        File.Copy(Path.Combine(ReferenceFiles.TinyQwen2, "config.json"), Path.Combine(noWeights, "config.json"));
        File.WriteAllText(Path.Combine(noWeights, "pytorch_model.bin"), "");
        error = Assert.Throws<CheckpointException>(() => Qwen2Import.FromHuggingFace(noWeights, Anchored));
        Assert.Contains("neither model.safetensors nor model.safetensors.index.json (pytorch_model.bin is not supported", error.Message);

        string missingShard = folder["missing-shard"];
        ReferenceFiles.CopyDirectory(ReferenceFiles.TinyQwen2, missingShard);
        File.Delete(Path.Combine(missingShard, "model-00002-of-00002.safetensors"));
        error = Assert.Throws<CheckpointException>(() => Qwen2Import.FromHuggingFace(missingShard, Anchored));
        Assert.Contains("model.safetensors.index.json: shard files missing from the folder: model-00002-of-00002.safetensors", error.Message);

        string llama = folder["llama"];
        ReferenceFiles.CopyDirectory(ReferenceFiles.TinyQwen2, llama);
        WriteConfig(llama, config => config["model_type"] = "llama");
        error = Assert.Throws<CheckpointException>(() => Qwen2Import.FromHuggingFace(llama, Anchored));
        Assert.Contains("model_type is 'llama', expected 'qwen2'", error.Message);

        string noHidden = folder["no-hidden"];
        ReferenceFiles.CopyDirectory(ReferenceFiles.TinyQwen2, noHidden);
        WriteConfig(noHidden, config => config.Remove("hidden_size"));
        error = Assert.Throws<CheckpointException>(() => Qwen2Import.FromHuggingFace(noHidden, Anchored));
        Assert.Contains("config.json: missing hidden_size", error.Message);

        string scaled = folder["scaled"];
        ReferenceFiles.CopyDirectory(ReferenceFiles.TinyQwen2, scaled);
        WriteConfig(scaled, config => config["rope_scaling"] = new JsonObject { ["type"] = "yarn", ["factor"] = 4.0 });
        error = Assert.Throws<CheckpointException>(() => Qwen2Import.FromHuggingFace(scaled, Anchored));
        Assert.Contains("rope_scaling", error.Message);
        Assert.Contains("is not supported", error.Message);
    }

    private static void WriteConfig(string folder, Action<JsonObject> change)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(ReferenceFiles.TinyQwen2, "config.json")))!.AsObject();
        change(config);
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
    }
}
