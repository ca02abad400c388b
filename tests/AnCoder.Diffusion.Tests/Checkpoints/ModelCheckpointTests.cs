using AnCoder.Anchoring.Tokenization;
using AnCoder.Diffusion.Checkpoints;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.Checkpoints;

[Collection(TorchCollection.Name)]
public sealed class ModelCheckpointTests
{
    private static ModelConfig SmallConfig(Architecture architecture) => ModelPresets.Tiny with
    {
        Architecture = architecture, VocabSize = 96, HiddenSize = 32, IntermediateSize = 48, NumAttentionHeads = 2,
        NumKeyValueHeads = 1, NumHiddenLayers = 2, DenoiserLayers = 1,
    };

    private static Tensor SampleIds() => tensor(new long[] { 5, 1, 17, 42, 1, 95, 0, 3, 7, 7, 1, 60, 2, 2, 2, 2 }).reshape(2, 8);

    [Theory]
    [InlineData(Architecture.Mdlm)]
    [InlineData(Architecture.Anchored)]
    public void Save_then_load_gives_bitwise_identical_logits(Architecture architecture)
    {
        using var folder = new TemporaryFolder();
        torch.manual_seed(11);
        using var model = DiffusionModel.Create(SmallConfig(architecture));
        string directory = folder["checkpoint"];
        ModelCheckpoint.Save(model, directory);

        using var loaded = ModelCheckpoint.Load(directory);
        Assert.Equal(model.Config, loaded.Config);
        using var scope = NewDisposeScope();
        var ids = SampleIds();
        var keyMask = ids != 2;
        var before = model.Forward(ids, keyMask);
        var after = loaded.Forward(ids, keyMask);
        Assert.True(TensorBytes.Equal(before.DenoiserLogits, after.DenoiserLogits));
        if (architecture == Architecture.Anchored) Assert.True(TensorBytes.Equal(before.AnchorLogits!, after.AnchorLogits!));
        else Assert.Null(after.AnchorLogits);
        foreach (var (name, parameter) in model.named_parameters())
            Assert.True(TensorBytes.Equal(parameter, loaded.get_parameter(name)!), name);
    }

    [Fact]
    public void Folder_holds_config_weights_and_the_default_tokenizer()
    {
        using var folder = new TemporaryFolder();
        using var model = DiffusionModel.Create(SmallConfig(Architecture.Anchored));
        string directory = folder["checkpoint"];
        ModelCheckpoint.Save(model, directory);

        Assert.Equal(new[] { "config.json", "model.safetensors", "tokenizer.json" },
            Directory.EnumerateFiles(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(model.Config, ModelConfig.Load(Path.Combine(directory, "config.json")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(DefaultTokenizer.Directory, "tokenizer.json")),
            File.ReadAllBytes(Path.Combine(directory, "tokenizer.json")));
        var metadata = Safetensors.ReadMetadata(Path.Combine(directory, "model.safetensors"));
        Assert.Equal("pt", metadata["format"]);
        using var scope = NewDisposeScope();
        var stored = Safetensors.Read(Path.Combine(directory, "model.safetensors"));
        Assert.Equal(model.state_dict().Keys.Order(StringComparer.Ordinal), stored.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new[] { "checkpoint" }, folder.Entries()); // no staging folder left
    }

    [Fact]
    public void Tokenizer_comes_from_a_given_file_or_folder()
    {
        using var folder = new TemporaryFolder();
        using var model = DiffusionModel.Create(SmallConfig(Architecture.Mdlm));
        string tokenizerFolder = folder["hf-tokenizer"];
        Directory.CreateDirectory(tokenizerFolder);
        File.WriteAllText(Path.Combine(tokenizerFolder, "tokenizer.json"), "{\"version\":\"1.0\"}");
        File.WriteAllText(Path.Combine(tokenizerFolder, "merges.txt"), "a b\n");
        File.WriteAllText(Path.Combine(tokenizerFolder, "unrelated.txt"), "not copied");

        ModelCheckpoint.Save(model, folder["from-folder"], tokenizerFolder);
        Assert.Equal(new[] { "config.json", "merges.txt", "model.safetensors", "tokenizer.json" },
            Directory.EnumerateFiles(folder["from-folder"]).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        string single = folder["my-tokenizer.json"];
        File.WriteAllText(single, "{\"single\":true}");
        ModelCheckpoint.Save(model, folder["from-file"], single);
        Assert.Equal("{\"single\":true}", File.ReadAllText(Path.Combine(folder["from-file"], "tokenizer.json")));

        var error = Assert.Throws<CheckpointException>(() => ModelCheckpoint.Save(model, folder["nowhere"], folder["missing-tokenizer"]));
        Assert.Contains("missing-tokenizer: tokenizer file or folder not found", error.Message);
        Assert.False(Directory.Exists(folder["nowhere"]));
    }

    [Fact]
    public void Saving_over_an_existing_checkpoint_replaces_it_whole()
    {
        using var folder = new TemporaryFolder();
        string directory = folder["checkpoint"];
        torch.manual_seed(1);
        using var first = DiffusionModel.Create(SmallConfig(Architecture.Anchored));
        ModelCheckpoint.Save(first, directory);
        File.WriteAllText(Path.Combine(directory, "stale.txt"), "from an older save");
        torch.manual_seed(2);
        using var second = DiffusionModel.Create(SmallConfig(Architecture.Mdlm));
        ModelCheckpoint.Save(second, directory);

        Assert.False(File.Exists(Path.Combine(directory, "stale.txt")));
        using var loaded = ModelCheckpoint.Load(directory);
        Assert.Equal(Architecture.Mdlm, loaded.Config.Architecture);
        Assert.Equal(new[] { "checkpoint" }, folder.Entries());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_save_that_fails_midway_leaves_no_partial_folder(bool previousExists)
    {
        using var folder = new TemporaryFolder();
        string directory = folder["checkpoint"];
        torch.manual_seed(3);
        using var model = DiffusionModel.Create(SmallConfig(Architecture.Anchored));
        byte[]? previousWeights = null;
        if (previousExists)
        {
            ModelCheckpoint.Save(model, directory);
            previousWeights = File.ReadAllBytes(Path.Combine(directory, "model.safetensors"));
        }
        torch.manual_seed(4);
        using var other = DiffusionModel.Create(SmallConfig(Architecture.Anchored));
        var crash = new IOException("disk full (simulated)");
        var thrown = Assert.Throws<IOException>(() => ModelCheckpoint.Save(other, directory, null, new CheckpointSaveOptions(),
            afterFileWritten: name => { if (name == "model.safetensors") throw crash; }));
        Assert.Same(crash, thrown);

        if (previousExists)
        {
            Assert.Equal(previousWeights, File.ReadAllBytes(Path.Combine(directory, "model.safetensors")));
            Assert.Equal(new[] { "checkpoint" }, folder.Entries());
            using var loaded = ModelCheckpoint.Load(directory);
        }
        else
        {
            Assert.Empty(folder.Entries());
        }
    }

    [Fact]
    public void Extra_files_are_saved_with_the_model_or_not_at_all()
    {
        using var folder = new TemporaryFolder();
        using var model = DiffusionModel.Create(SmallConfig(Architecture.Mdlm));
        string directory = folder["checkpoint"];
        ModelCheckpoint.Save(model, directory, null, new CheckpointSaveOptions
        {
            WriteExtraFiles = staging => File.WriteAllText(Path.Combine(staging, "trainer_state.json"), "{\"step\":7}"),
        });
        Assert.Equal("{\"step\":7}", File.ReadAllText(Path.Combine(directory, "trainer_state.json")));
        using (ModelCheckpoint.Load(directory)) { } // extra files do not disturb loading

        Assert.Throws<InvalidOperationException>(() => ModelCheckpoint.Save(model, folder["second"], null, new CheckpointSaveOptions
        {
            WriteExtraFiles = _ => throw new InvalidOperationException("optimizer state not ready"),
        }));
        Assert.Equal(new[] { "checkpoint" }, folder.Entries());
    }

    [Fact]
    public void Load_lists_every_missing_unexpected_and_reshaped_tensor()
    {
        using var folder = new TemporaryFolder();
        string directory = folder["checkpoint"];
        var config = SmallConfig(Architecture.Anchored);
        using (var model = DiffusionModel.Create(config)) ModelCheckpoint.Save(model, directory);
        // The config now claims a deeper φ, a shallower ψ and a wider MLP than the stored weights have.
        File.WriteAllText(Path.Combine(directory, "config.json"),
            (config with { NumHiddenLayers = 3, DenoiserLayers = 1, IntermediateSize = 40 }).ToJson());
        var stored = config with { DenoiserLayers = 2 };
        using (var model = DiffusionModel.Create(stored))
            Safetensors.Write(Path.Combine(directory, "model.safetensors"), model.state_dict());

        var error = Assert.Throws<CheckpointException>(() => ModelCheckpoint.Load(directory));
        string message = error.Message;
        Assert.StartsWith(Path.Combine(directory, "model.safetensors") + " does not fit the model: ", message);
        // φ layer 2 has no stored weights: 12 tensors (q/k/v weight+bias, o, gate/up/down, two norms).
        Assert.Contains("missing tensors (12): anchor.layers.2.input_layernorm.weight, anchor.layers.2.mlp.down_proj.weight,", message);
        Assert.Contains("unexpected tensors (12): denoiser.layers.1.input_layernorm.weight,", message);
        foreach (var network in new[] { "anchor.layers.0", "anchor.layers.1", "denoiser.layers.0" })
        {
            Assert.Contains($"shape of '{network}.mlp.gate_proj.weight': stored [48, 32] vs model [40, 32]", message);
            Assert.Contains($"shape of '{network}.mlp.down_proj.weight': stored [32, 48] vs model [32, 40]", message);
        }
        Assert.Equal(9, message.Split("shape of '").Length - 1);
    }

    [Fact]
    public void Load_reports_a_dtype_that_cannot_be_converted()
    {
        using var folder = new TemporaryFolder();
        string directory = folder["checkpoint"];
        using var model = DiffusionModel.Create(SmallConfig(Architecture.Mdlm));
        ModelCheckpoint.Save(model, directory);
        using var scope = NewDisposeScope();
        var tensors = Safetensors.Read(Path.Combine(directory, "model.safetensors"));
        tensors["model.norm.weight"] = tensors["model.norm.weight"].to(ScalarType.Int64);
        Safetensors.Write(Path.Combine(directory, "model.safetensors"), tensors);

        var error = Assert.Throws<CheckpointException>(() => ModelCheckpoint.Load(directory));
        Assert.Contains("dtype of 'model.norm.weight': stored Int64 vs model Float32", error.Message);
    }

    [Fact]
    public void Bf16_weights_load_into_fp32_parameters_and_strict_mode_refuses_them()
    {
        using var folder = new TemporaryFolder();
        string directory = folder["checkpoint"];
        torch.manual_seed(5);
        using var model = DiffusionModel.Create(SmallConfig(Architecture.Anchored));
        ModelCheckpoint.Save(model, directory, null, new CheckpointSaveOptions { StoreAs = ScalarType.BFloat16 });
        using var scope = NewDisposeScope();
        var stored = Safetensors.Read(Path.Combine(directory, "model.safetensors"));
        Assert.All(stored.Values, tensor => Assert.Equal(ScalarType.BFloat16, tensor.dtype));

        using var loaded = ModelCheckpoint.Load(directory);
        foreach (var (name, parameter) in loaded.named_parameters())
        {
            Assert.Equal(ScalarType.Float32, parameter.dtype);
            Assert.True(TensorBytes.Equal(model.get_parameter(name)!.detach().to(ScalarType.BFloat16).to(ScalarType.Float32), parameter), name);
        }

        using var bf16 = ModelCheckpoint.Load(directory, new CheckpointLoadOptions { ParameterType = ScalarType.BFloat16, ConvertFloatingTypes = false });
        Assert.All(bf16.parameters(), parameter => Assert.Equal(ScalarType.BFloat16, parameter.dtype));
        var output = bf16.Forward(SampleIds());
        Assert.Equal(ScalarType.Float32, output.DenoiserLogits.dtype);

        var error = Assert.Throws<CheckpointException>(() => ModelCheckpoint.Load(directory, new CheckpointLoadOptions { ConvertFloatingTypes = false }));
        Assert.Contains("dtype of 'anchor.embed_tokens.weight': stored BFloat16 vs model Float32", error.Message);
    }

    [Fact]
    public void Corrupted_weights_and_bad_configs_give_errors_naming_the_file()
    {
        using var folder = new TemporaryFolder();
        string directory = folder["checkpoint"];
        using var model = DiffusionModel.Create(SmallConfig(Architecture.Mdlm));
        ModelCheckpoint.Save(model, directory);
        string weights = Path.Combine(directory, "model.safetensors");
        string config = Path.Combine(directory, "config.json");
        byte[] bytes = File.ReadAllBytes(weights);

        File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);
        var error = Assert.Throws<CheckpointException>(() => ModelCheckpoint.Load(directory));
        Assert.StartsWith(weights + ": tensor '", error.Message);
        Assert.Contains("point outside the file", error.Message);

        File.WriteAllBytes(weights, bytes);
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"hidden_size\": 32", "\"hidden_size\": -1"));
        error = Assert.Throws<CheckpointException>(() => ModelCheckpoint.Load(directory));
        Assert.StartsWith(config + ": ", error.Message);
        Assert.Contains("hidden_size must be positive (got -1)", error.Message);

        File.Delete(config);
        error = Assert.Throws<CheckpointException>(() => ModelCheckpoint.Load(directory));
        Assert.Contains("no config.json", error.Message);
        error = Assert.Throws<CheckpointException>(() => ModelCheckpoint.Load(folder["nothing-here"]));
        Assert.Contains("checkpoint folder not found", error.Message);
    }
}
