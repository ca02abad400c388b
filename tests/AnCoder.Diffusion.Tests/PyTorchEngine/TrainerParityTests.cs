using System.Text.Json;
using AnCoder.Anchoring.Corpus;
using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Shards;
using AnCoder.Diffusion.Checkpoints;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Sampling;
using AnCoder.Diffusion.Schedules;
using AnCoder.Diffusion.Tests.Training;
using AnCoder.Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.PyTorchEngine;

/// <summary>
/// The PyTorch trainer (python/ancoder_torch/train.py) on the toy corpus against the C# trainer and against itself:
/// same batches, same random draws, same weights after k steps from the same start; DDP over 2 gloo processes with
/// half the batch each = 1 process; killed and resumed = uninterrupted; its checkpoints load and sample in .NET
/// exactly like the same weights saved by C#.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class TrainerParityTests(ToyCorpus toy) : IClassFixture<ToyCorpus>
{
    private const int Steps = 4;

    /// <summary>
    /// A C#-initialised model folder and a training config for it (the C# trainer writes it as run/config.json);
    /// <paramref name="strategyName"/> "ar": the AR objective from a causal model (a Hugging Face Qwen2 folder).
    /// </summary>
    private (string Init, TrainingConfig Config) Start(string name, string strategyName = "anchortree")
    {
        bool ar = strategyName == "ar";
        var strategy = ar ? AnchorStrategy.AnchorTree : AnCoder.Anchoring.Settings.SettingNames.Parse<AnchorStrategy>(strategyName, "strategy");
        string init = Path.Combine(toy.Root, $"init-{strategyName}");
        if (!Directory.Exists(init))
        {
            manual_seed(3);
            var shape = ModelConfig.Load(toy.ModelConfigFile);
            using var model = DiffusionModel.Create(shape with
            {
                Architecture = ar ? Architecture.Causal : TrainingRun.ArchitectureOf(strategy), Diffusion = new DiffusionSettings { Strategy = strategy },
            });
            ModelCheckpoint.Save(model, init);
        }
        var config = toy.Config(name, Steps) with
        {
            Init = init, Strategy = strategy, Objective = ar ? Objective.Ar : Objective.Diffusion, CheckpointInterval = 2, ValidationBatches = 2,
            ValidationInterval = ar ? 2 : 0,
        };
        Directory.CreateDirectory(config.Output!);
        File.WriteAllText(Path.Combine(config.Output!, "config.json"), TorchEngine.HandOverJson(config)); // what --engine torch writes
        return (init, config);
    }

    private static string[] TrainArguments(TrainingConfig config, params string[] extra) =>
        ["--config", Path.Combine(config.Output!, "config.json"), "--out", config.Output!, "--quiet", .. extra];

    private static Dictionary<string, Tensor> Weights(string run) =>
        Safetensors.Read(Path.Combine(run, TrainingRun.FinalModelDirectory, ModelCheckpoint.WeightsFileName));

    /// <summary>Same shape, dtype and every element bitwise equal.</summary>
    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && a.eq(b).all().item<bool>();

    private static double MaxDifference(Dictionary<string, Tensor> a, Dictionary<string, Tensor> b)
    {
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        return a.Keys.Max(k => (a[k] - b[k]).abs().max().item<float>());
    }

    /// <summary>
    /// Packed rows, and SFT rows (<see cref="PackingMode.Sft"/>: one sample per row, its prompt conditioning, end-of-text
    /// filling the row with loss; a quarter of the toy samples carry a 5-token prompt).
    /// </summary>
    [Theory]
    [InlineData(PackingMode.Pack, 45)] // 45 × 4 rows run past the first epoch (≈ 150 rows)
    [InlineData(PackingMode.Sft, 35)]  // 120 rows (one per sample): 35 × 4 cross the epoch boundary too
    public void Batches_are_the_CSharp_DataLoader_batches_row_for_row(PackingMode mode, int count)
    {
        using var scope = NewDisposeScope();
        const int seed = 11, rows = 4, length = 32;
        string file = Path.Combine(toy.Root, $"batches-{mode}.safetensors");
        PythonTorch.Run("ancoder_torch.parity", ["batches", toy.Data, $"{seed}", $"{rows}", $"{length}", $"{count}", file, mode.ToString().ToLowerInvariant()]);
        var theirs = Safetensors.Read(file);
        var shards = ShardSet.Open(toy.Data, "train");
        try
        {
            var loader = new DataLoader(shards, length, rows, seed, AnchorWeightOptions.Defaults(AnchorStrategy.AnchorTree), 0, 2, mode);
            if (mode == PackingMode.Sft) // the mode must show: prompts, and end-of-text with loss after short completions
            {
                var all = Enumerable.Range(0, (int)loader.RowCount).Select(r => loader.Row(r)).ToList();
                Assert.Contains(all, row => row.PromptMask.Take(5).All(p => p));
                Assert.Contains(all, row => row.Ids[^1] == 0 && !row.PromptMask[^1]);
                Assert.All(all, row => Assert.All(row.Valid, Assert.True));
            }
            Assert.True(loader.RowCount < rows * count, "the comparison must cross an epoch boundary");
            for (int k = 0; k < count; k++)
            {
                var batch = loader.NextBatch();
                Assert.Equal(batch.Ids.Select(i => (long)i), theirs[$"{k}.ids"].data<long>().ToArray());
                Assert.Equal(batch.Weights, theirs[$"{k}.weights"].data<float>().ToArray());
                Assert.Equal(batch.PromptMask, theirs[$"{k}.prompt"].data<byte>().ToArray().Select(b => b != 0));
                Assert.Equal(batch.Valid, theirs[$"{k}.valid"].data<byte>().ToArray().Select(b => b != 0));
            }
        }
        finally
        {
            foreach (var shard in shards) shard.Dispose();
        }
    }

    [Fact]
    public void Times_and_mask_draws_from_a_seed_equal_TorchSharp_ones()
    {
        using var scope = NewDisposeScope();
        string file = Path.Combine(toy.Root, "rand.safetensors");
        PythonTorch.Run("ancoder_torch.parity", ["rand", "11", "4", "32", file]);
        var theirs = Safetensors.Read(file);
        var generator = new Generator(11);
        var t = TimeSampling.Stratified(4, 1e-3, generator);
        var draws = rand([4, 32], dtype: ScalarType.Float64, generator: generator);
        Assert.True(Same(t, theirs["t"]), "stratified t differs");
        Assert.True(Same(draws, theirs["draws"]), "mask draws differ");
    }

    [Theory]
    [InlineData("anchortree")]
    [InlineData("mdlm")]
    [InlineData("ar")]
    public void Weights_after_k_steps_equal_the_CSharp_trainer(string strategy)
    {
        using var scope = NewDisposeScope();
        var (_, csharp) = Start("cs-" + strategy, strategy);
        Assert.Equal(TrainingStatus.Completed, TrainingRun.Run(csharp).Status);
        var (_, pytorch) = Start("py-" + strategy, strategy);
        PythonTorch.Run("ancoder_torch.train", TrainArguments(pytorch));
        if (strategy == "mdlm") // the torch engine does not read TorchSharp's optimizer state either, and says so
        {
            File.WriteAllText(Path.Combine(csharp.Output!, "config.json"), TorchEngine.HandOverJson(csharp)); // as --engine torch --resume writes it
            string refused = PythonTorch.Run("ancoder_torch.train", TrainArguments(csharp, "--resume"), expectedExit: 2);
            Assert.Contains("written by the C# engine", refused);
        }

        double difference = MaxDifference(Weights(csharp.Output!), Weights(pytorch.Output!));
        Assert.True(difference < 1e-4, $"weights after {Steps} AdamW steps (lr 1e-2) differ by {difference:G3}");
        double LossAt(TrainingConfig c, int step) => File.ReadLines(Path.Combine(c.Output!, AnCoder.Anchoring.Runs.MetricsRecord.FileName))
            .Select(l => JsonDocument.Parse(l).RootElement).First(e => e.GetProperty("step").GetInt64() == step).GetProperty("loss").GetDouble();
        double ours = LossAt(csharp, 1), theirs = LossAt(pytorch, 1);
        Assert.True(Math.Abs(ours - theirs) <= 1e-5 * ours, $"step-1 loss: C# {ours:R}, PyTorch {theirs:R}");
        if (strategy != "ar") return;
        // The AR folder: the same Hugging Face config.json, byte for byte, a causal model for `sample`/`eval --model`,
        // and the same validation NLL (docs/recipe.md §1).
        string Folder(TrainingConfig c, string file) => Path.Combine(c.Output!, TrainingRun.FinalModelDirectory, file);
        Assert.Equal(File.ReadAllText(Folder(csharp, ModelCheckpoint.ConfigFileName)), File.ReadAllText(Folder(pytorch, ModelCheckpoint.ConfigFileName)));
        Assert.Equal(File.ReadAllBytes(Folder(csharp, ModelCheckpoint.TokenizerFileName)), File.ReadAllBytes(Folder(pytorch, ModelCheckpoint.TokenizerFileName)));
        using (var loaded = ModelCheckpoint.Load(Path.Combine(pytorch.Output!, TrainingRun.FinalModelDirectory))) Assert.IsType<CausalLmModel>(loaded);
        double ValidAt(TrainingConfig c) => File.ReadLines(Path.Combine(c.Output!, AnCoder.Anchoring.Runs.MetricsRecord.FileName))
            .Select(l => JsonDocument.Parse(l).RootElement).Last(e => e.TryGetProperty("valid_nelbo", out var v) && v.ValueKind == JsonValueKind.Number)
            .GetProperty("valid_nelbo").GetDouble();
        Assert.True(Math.Abs(ValidAt(csharp) - ValidAt(pytorch)) <= 1e-4 * ValidAt(csharp), $"valid NLL: C# {ValidAt(csharp):R}, PyTorch {ValidAt(pytorch):R}");
        Assert.Equal("ar", JsonDocument.Parse(File.ReadLines(Path.Combine(pytorch.Output!, AnCoder.Anchoring.Runs.MetricsRecord.FileName)).Last()).RootElement.GetProperty("strategy").GetString());
    }

    [Fact]
    public void Two_gloo_processes_with_half_the_batch_each_equal_one_process()
    {
        using var scope = NewDisposeScope();
        var (_, one) = Start("ddp-1");
        PythonTorch.Run("ancoder_torch.train", TrainArguments(one));
        var (_, two) = Start("ddp-2");
        Assert.Equal(0, TorchEngine.Run(two, resume: false, processes: 2, PythonTorch.PackageRoot)); // what `ancoder train --engine torch --nproc 2` runs

        double difference = MaxDifference(Weights(one.Output!), Weights(two.Output!));
        Assert.True(difference < 1e-5, $"1 vs 2 processes: weights differ by {difference:G3} after {Steps} steps");
        Assert.Single(Directory.GetDirectories(Path.Combine(two.Output!, TrainingRun.FinalModelDirectory, "..", "checkpoints"), "step-0000004"));
        var lines = File.ReadAllLines(Path.Combine(two.Output!, AnCoder.Anchoring.Runs.MetricsRecord.FileName));
        Assert.Equal(Steps, lines.Length); // rank 0 alone writes metrics
    }

    /// <summary>
    /// The recipe's adaptation (docs/recipe.md §3) through <c>--engine torch</c>: an AR (Hugging Face) folder made
    /// bidirectional with ψ of depth 1, shift, the linear denoiser input and ψ's identity init, which the C# side applies
    /// into RUN/initial-model; then the two AdamW groups (pretrained 3e-3, fresh 1e-2) in PyTorch. Same weights as the
    /// C# trainer after k steps.
    /// </summary>
    [Fact]
    public void The_adaptation_switches_and_the_pretrained_learning_rate_train_as_in_the_CSharp_trainer()
    {
        using var scope = NewDisposeScope();
        var (arFolder, _) = Start("adapt-init", "ar");
        TrainingConfig Adapt(string name) => toy.Config(name, Steps) with
        {
            InitQwen = arFolder, ModelConfigFile = null, Strategy = AnchorStrategy.AnchorTree, DenoiserLayers = 1, Shift = true, DenoiserInput = DenoiserInput.Linear,
            DenoiserInit = DenoiserInit.Identity, PretrainedLearningRate = 3e-3, CheckpointInterval = 2, ValidationBatches = 0,
        };
        var csharp = Adapt("adapt-cs");
        Assert.Equal(TrainingStatus.Completed, TrainingRun.Run(csharp).Status);
        var torchRun = Adapt("adapt-py");
        var summary = TorchEngine.Train(torchRun, new TorchEngineOptions(PythonTorch.PackageRoot));
        Assert.Equal(TrainingStatus.Completed, summary.Status);
        Assert.Equal(Steps, summary.Steps);
        string initialModel = Path.Combine(torchRun.Output!, TorchEngine.InitialModelFolder);
        Assert.True(File.Exists(Path.Combine(initialModel, ModelCheckpoint.WeightsFileName)));
        // The torch engine's start is the C# trainer's start, bitwise, whatever the global generator did before: the
        // linear ψ input has no Qwen source and is drawn from the run's seed (it once came from the unseeded global
        // generator, and the two engines trained different models).
        rand(1000).Dispose();
        using (var start = TrainingRun.BuildModel(csharp, TrainingRun.Settings(csharp), CorpusBuilder.TryReadManifest(csharp.Data!)!.Config))
        {
            var initial = Safetensors.Read(Path.Combine(initialModel, ModelCheckpoint.WeightsFileName));
            var built = start.state_dict();
            Assert.Equal(built.Keys.Order(), initial.Keys.Order());
            Assert.Contains("denoiser_input.weight", built.Keys);
            foreach (var (name, value) in built) Assert.True(Same(value, initial[name]), $"{name}: the torch engine's start differs from the C# trainer's");
            Assert.True(MaxDifference(Weights(csharp.Output!), initial) > 1e-3, "the C# run did not move the weights"); // the comparison below is of trained weights
        }

        double difference = MaxDifference(Weights(csharp.Output!), Weights(torchRun.Output!));
        Assert.True(difference < 1e-4, $"adapted weights after {Steps} steps differ by {difference:G3}");
        using var model = ModelCheckpoint.Load(Path.Combine(torchRun.Output!, TrainingRun.FinalModelDirectory));
        Assert.Equal(ModelCheckpoint.Load(Path.Combine(csharp.Output!, TrainingRun.FinalModelDirectory)).Config, model.Config);
    }

    /// <summary>
    /// FSDP (<c>--fsdp on</c>, python/ancoder_torch/sharding.py) on 2 gloo processes: where this torch can shard on the
    /// CPU (torch 2.x) the weights equal DDP's and the run folder has one checkpoint per step, in our format; where it
    /// cannot (torch 1.13: FSDP is CUDA-only there) the run is refused in one line before any step, and `auto` picks DDP.
    /// </summary>
    [Fact]
    public void Fsdp_on_two_gloo_processes_equals_DDP_or_is_refused_in_one_line_where_this_torch_cannot_shard_on_the_CPU()
    {
        using var scope = NewDisposeScope();
        string probe = PythonTorch.Run(null, ["-c", "import torch; from ancoder_torch import sharding; " +
            "print(torch.__version__.split('.')[0]); print(sharding.decide('auto', 809_000_000, 2, torch.device('cpu')))"]);
        var lines = probe.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        int major = int.Parse(lines[0].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var (_, sharded) = Start("fsdp-on");
        if (major < 2)
        {
            Assert.StartsWith("(False, ", lines[1]); // auto: the 809M preset's size falls back to DDP here, and says why
            Assert.Contains("809,000,000 parameters would be sharded, but FSDP on CPU needs torch 2.x", lines[1]);
            Assert.Contains("using DDP", lines[1]);
            var refused = Assert.Throws<TrainingException>(() => TorchEngine.Train(sharded, new TorchEngineOptions(PythonTorch.PackageRoot, 2, "on")));
            Assert.Contains("FSDP on CPU needs torch 2.x", refused.Message);
            Assert.DoesNotContain('\n', refused.Message);
            Assert.Empty(TrainingCheckpoints.List(sharded.Output!));
            return; // the FSDP training path itself runs only where torch can shard (torch 2.x; CUDA)
        }
        Assert.StartsWith("(True,", lines[1]);
        var (_, replicated) = Start("fsdp-ddp");
        Assert.Equal(TrainingStatus.Completed, TorchEngine.Train(replicated, new TorchEngineOptions(PythonTorch.PackageRoot, 2, "off")).Status);
        Assert.Equal(TrainingStatus.Completed, TorchEngine.Train(sharded, new TorchEngineOptions(PythonTorch.PackageRoot, 2, "on")).Status);
        double difference = MaxDifference(Weights(replicated.Output!), Weights(sharded.Output!));
        Assert.True(difference < 1e-5, $"FSDP vs DDP: weights differ by {difference:G3} after {Steps} steps");
        var checkpoints = TrainingCheckpoints.List(sharded.Output!);
        Assert.Equal([4L, 2], checkpoints.Select(c => c.Step));
        Assert.All(checkpoints, c => Assert.Contains("\"fsdp\": true", File.ReadAllText(Path.Combine(c.Path, "trainer_state.json"))));
        using var loaded = ModelCheckpoint.Load(checkpoints[0].Path);
        Assert.Equal(Architecture.Anchored, loaded.Config.Architecture);
    }

    [Fact]
    public void A_run_killed_after_a_step_and_resumed_equals_an_uninterrupted_run_bitwise()
    {
        var (_, straight) = Start("straight");
        PythonTorch.Run("ancoder_torch.train", TrainArguments(straight));
        var (_, killed) = Start("killed");
        PythonTorch.Run("ancoder_torch.train", TrainArguments(killed, "--exit-after-step", "3"), expectedExit: 3);
        Assert.False(Directory.Exists(Path.Combine(killed.Output!, TrainingRun.FinalModelDirectory)));
        // Killed after step 3 with checkpoint_interval 2: step 3 was never saved, the newest checkpoint is step 2 (the
        // resume below replays step 3).
        Assert.Equal([2L], TrainingCheckpoints.List(killed.Output!).Select(c => c.Step));
        // The C# engine does not read PyTorch's optimizer state: it says how to continue instead of restarting at step 0,
        // naming that newest checkpoint as the --init alternative.
        var refused = Assert.Throws<TrainingException>(() => TrainingRun.Run(killed, resume: true));
        Assert.Contains("--engine torch", refused.Message);
        Assert.Contains("--init " + Path.Combine(killed.Output!, "checkpoints", "step-0000002"), refused.Message);
        Assert.DoesNotContain('\n', refused.Message);
        PythonTorch.Run("ancoder_torch.train", TrainArguments(killed, "--resume"));

        string final = Path.Combine(TrainingRun.FinalModelDirectory, ModelCheckpoint.WeightsFileName);
        Assert.Equal(File.ReadAllBytes(Path.Combine(straight.Output!, final)), File.ReadAllBytes(Path.Combine(killed.Output!, final)));
        var steps = File.ReadLines(Path.Combine(killed.Output!, AnCoder.Anchoring.Runs.MetricsRecord.FileName))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64());
        Assert.Equal([1L, 2, 3, 4], steps); // the killed run's step-3 line is replaced by the resumed one
    }

    [Fact]
    public void Samples_from_a_PyTorch_checkpoint_equal_samples_from_the_same_weights_saved_by_CSharp()
    {
        var (_, run) = Start("sample");
        PythonTorch.Run("ancoder_torch.train", TrainArguments(run, "--max-shard-mb", "0.05")); // several shard files
        string pytorchModel = Path.Combine(run.Output!, TrainingRun.FinalModelDirectory);
        Assert.True(File.Exists(Path.Combine(pytorchModel, Qwen2Import.IndexFileName)), "expected a sharded model folder");

        string csharpModel = Path.Combine(toy.Root, "resaved-" + Guid.NewGuid().ToString("N"));
        using (var loaded = ModelCheckpoint.Load(pytorchModel)) ModelCheckpoint.Save(loaded, csharpModel);
        using var fromPytorch = ModelCheckpoint.Load(pytorchModel);
        using var fromCsharp = ModelCheckpoint.Load(csharpModel);
        Assert.Equal(fromPytorch.Config, fromCsharp.Config);
        var a = fromPytorch.state_dict();
        var b = fromCsharp.state_dict();
        foreach (var (name, value) in a) Assert.True(Same(value, b[name]), $"{name} changed on the way");

        int[][] Sample(DiffusionModel model)
        {
            model.eval();
            var sampler = new DiffusionSampler(new ModelDenoiser(model), new SamplerOptions { Steps = 8 });
            var canvases = Enumerable.Range(0, 4).Select(seed => Canvas.Completion([3 + seed, 4, 5], 12, model.Config.MaskTokenId, seed)).ToList();
            return sampler.Sample(canvases);
        }
        Assert.Equal(Sample(fromCsharp), Sample(fromPytorch));
    }

    [Fact]
    public void A_checkpoint_saved_by_CSharp_and_resaved_by_PyTorch_is_bitwise_the_same_folder()
    {
        var (init, _) = Start("roundtrip");
        string resaved = Path.Combine(toy.Root, "roundtrip-" + Guid.NewGuid().ToString("N"));
        PythonTorch.Run("ancoder_torch.parity", ["roundtrip", init, resaved]);
        foreach (string file in new[] { ModelCheckpoint.WeightsFileName, ModelCheckpoint.TokenizerFileName })
            Assert.Equal(File.ReadAllBytes(Path.Combine(init, file)), File.ReadAllBytes(Path.Combine(resaved, file)));
        using var original = ModelCheckpoint.Load(init);
        using var back = ModelCheckpoint.Load(resaved);
        Assert.Equal(original.Config, back.Config);
        foreach (var (name, value) in original.state_dict()) Assert.True(Same(value, back.state_dict()[name]), name);
    }

    [Fact]
    public void The_GPU_script_dry_run_on_CPU_stops_at_its_budget_and_leaves_a_checkpoint_dotnet_loads()
    {
        string run = Path.Combine(toy.Root, "gpu-" + Guid.NewGuid().ToString("N")), export = run + "-export";
        string output = PythonTorch.Run(null, [Path.Combine(PythonTorch.RepositoryRoot, "tools", "gpu", "train.sh"), "--data", toy.Data, "--out", run,
            "--seconds", "2", "--max-steps", "100000", "--model-config", toy.ModelConfigFile, "--micro-batch", "4", "--context-length", "32",
            "--threads", "1", "--quiet", "--max-shard-mb", "0.05", "--export", export], executable: "bash");
        Assert.Contains("time budget reached", output);
        var files = Directory.GetFiles(export, "*", SearchOption.AllDirectories);
        Assert.InRange(files.Length, 5, 8); // config, tokenizer, index, ≥ 2 weight shards, metrics.jsonl
        Assert.All(files, f => Assert.True(new FileInfo(f).Length <= 0.05 * 1024 * 1024 + 1024 || !f.EndsWith(".safetensors"), $"{f} is over the shard limit"));
        var last = JsonDocument.Parse(File.ReadLines(Path.Combine(export, AnCoder.Anchoring.Runs.MetricsRecord.FileName)).Last()).RootElement;
        Assert.True(last.GetProperty("step").GetInt64() is > 0 and < 100000);
        using var model = ModelCheckpoint.Load(Path.Combine(export, TrainingRun.FinalModelDirectory));
        Assert.Equal(Architecture.Anchored, model.Config.Architecture);
    }

    [Fact]
    public void The_PyTorch_presets_are_the_CSharp_presets()
    {
        string file = Path.Combine(toy.Root, "presets.json");
        PythonTorch.Run("ancoder_torch.parity", ["presets", file]);
        using var document = JsonDocument.Parse(File.ReadAllText(file));
        Assert.Equal(ModelPresets.All.Keys.Order(), document.RootElement.EnumerateObject().Select(p => p.Name).Order());
        foreach (var preset in document.RootElement.EnumerateObject())
            Assert.Equal(ModelPresets.Get(preset.Name), ModelConfig.FromJson(preset.Value.GetRawText()));
    }
}
