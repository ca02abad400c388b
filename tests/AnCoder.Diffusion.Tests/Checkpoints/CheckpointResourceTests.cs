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
}
