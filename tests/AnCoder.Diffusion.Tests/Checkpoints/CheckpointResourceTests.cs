using System.Diagnostics;
using AnCoder.Diffusion.Checkpoints;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.Checkpoints;

/// <summary>A [Fact] that runs only when ANCODER_HEAVY_TESTS=1 (minutes and gigabytes; not for CI).</summary>
internal sealed class HeavyCheckpointFactAttribute : FactAttribute
{
    public HeavyCheckpointFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("ANCODER_HEAVY_TESTS") != "1") Skip = "set ANCODER_HEAVY_TESTS=1 to run";
    }
}

[Collection(TorchCollection.Name)]
public sealed class CheckpointResourceTests
{
    [Fact]
    public void Save_load_and_import_leave_no_live_tensors_behind()
    {
        using var folder = new TemporaryFolder();
        var config = ModelPresets.Tiny with { VocabSize = 64, HiddenSize = 32, IntermediateSize = 48, NumAttentionHeads = 2, NumKeyValueHeads = 1 };
        static long Live() => DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        // Whatever building a model leaves tracked (not ours: Model/) is the baseline for Load and the import.
        long start = Live();
        using (DiffusionModel.Create(config)) { }
        long perModel = Live() - start;

        using var model = DiffusionModel.Create(config);
        for (int round = 0; round < 3; round++)
        {
            long before = Live();
            ModelCheckpoint.Save(model, folder["checkpoint"]);
            Assert.Equal(before, Live());
            using (ModelCheckpoint.Load(folder["checkpoint"])) { }
            Assert.Equal(before + perModel, Live());
            using (Qwen2Import.FromHuggingFace(ReferenceFiles.TinyQwen2, new Qwen2ImportOptions { MaskTokenId = 63 })) { }
            Assert.Equal(before + 2 * perModel, Live());
            foreach (var tensor in Safetensors.Read(ReferenceFiles.ReferenceTensors).Values) tensor.Dispose();
            Assert.Equal(before + 2 * perModel, Live());
        }
    }

    /// <summary>The paper's 809M model (3.2 GB of fp32 weights in one file): save, load, identical parameters.</summary>
    [HeavyCheckpointFact]
    public void Paper_scale_model_round_trips_through_a_3_GB_file()
    {
        using var folder = new TemporaryFolder();
        torch.manual_seed(0);
        var clock = Stopwatch.StartNew();
        using var model = DiffusionModel.Create(ModelPresets.AnCoder809M);
        var created = clock.Elapsed;
        clock.Restart();
        ModelCheckpoint.Save(model, folder["checkpoint"]);
        var saved = clock.Elapsed;
        long bytes = new FileInfo(Path.Combine(folder["checkpoint"], "model.safetensors")).Length;
        Assert.True(bytes > 3L << 30, $"{bytes} bytes");
        clock.Restart();
        using var loaded = ModelCheckpoint.Load(folder["checkpoint"]);
        var load = clock.Elapsed;
        foreach (var (name, parameter) in model.named_parameters())
        {
            using var other = loaded.get_parameter(name)!;
            Assert.True(parameter.equal(other).all().item<bool>(), name);
        }
        Console.Error.WriteLine($"809M: create {created.TotalSeconds:F1} s, save {saved.TotalSeconds:F1} s ({bytes / 1e9:F2} GB), load {load.TotalSeconds:F1} s");
    }

    /// <summary>A Qwen2.5-Coder-0.5B-shaped folder (random bf16, two shards) imported into the 809M anchored model.</summary>
    [HeavyCheckpointFact]
    public void Paper_scale_Qwen_import()
    {
        using var folder = new TemporaryFolder();
        string qwen = folder["qwen"];
        Directory.CreateDirectory(qwen);
        var shape = ModelPresets.AnCoder809M;
        File.WriteAllText(Path.Combine(qwen, "config.json"), $$"""
            {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_act": "silu", "hidden_size": {{shape.HiddenSize}},
             "intermediate_size": {{shape.IntermediateSize}}, "num_hidden_layers": 24, "num_attention_heads": 14,
             "num_key_value_heads": 2, "rope_theta": 1000000.0, "rms_norm_eps": 1e-06, "vocab_size": 151936,
             "tie_word_embeddings": true, "max_position_embeddings": 32768, "torch_dtype": "bfloat16",
             "eos_token_id": 151643, "bos_token_id": 151643, "rope_scaling": null, "use_sliding_window": false}
            """);
        torch.manual_seed(0);
        var clock = Stopwatch.StartNew();
        var weightMap = new Dictionary<string, string>();
        using (var mdlm = DiffusionModel.Create(shape with { Architecture = Architecture.Mdlm }))
        {
            var all = mdlm.state_dict();
            for (int shard = 0; shard < 2; shard++)
            {
                using var scope = NewDisposeScope();
                string file = $"model-0000{shard + 1}-of-00002.safetensors";
                // MDLM's names are Qwen's (model.*): shard 1 = embedding + layers 0..11, shard 2 = layers 12..23 + norm.
                var part = all.Where(pair => ShardOf(pair.Key) == shard)
                    .ToDictionary(pair => pair.Key, pair => pair.Value.detach().to(ScalarType.BFloat16));
                Safetensors.Write(Path.Combine(qwen, file), part);
                foreach (var name in part.Keys) weightMap[name] = file;
            }
        }
        File.WriteAllText(Path.Combine(qwen, "model.safetensors.index.json"),
            System.Text.Json.JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = weightMap }));
        var written = clock.Elapsed;
        Assert.Equal(24 * 12 + 2, weightMap.Count);

        clock.Restart();
        using var model = Qwen2Import.FromHuggingFace(qwen, new Qwen2ImportOptions());
        var imported = clock.Elapsed;
        Assert.Equal(12, model.Config.DenoiserLayers);
        Assert.Equal(151665, model.Config.MaskTokenId);
        long parameters = model.ParameterCount();
        Console.Error.WriteLine($"Qwen-shaped folder written in {written.TotalSeconds:F1} s; import {imported.TotalSeconds:F1} s, " +
            $"{parameters:N0} parameters, peak RSS {Process.GetCurrentProcess().PeakWorkingSet64 / 1e9:F1} GB");
    }

    private static int ShardOf(string name) => name.StartsWith("model.layers.", StringComparison.Ordinal)
        ? (int.Parse(name.Split('.')[2]) < 12 ? 0 : 1)
        : (name == "model.embed_tokens.weight" ? 0 : 1);
}
