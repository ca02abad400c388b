using AnCoder.Anchoring.Runs;
using AnCoder.Diffusion.Configuration;
using AnCoder.Anchoring.Labels;
using System.Text.Json;
using AnCoder.Diffusion.Checkpoints;
using AnCoder.Diffusion.Training;

namespace AnCoder.Diffusion.Tests.Training;

[Collection(TorchCollection.Name)]
public sealed class TrainingRunTests(ToyCorpus toy) : IClassFixture<ToyCorpus>
{
    private readonly ToyCorpus _toy = toy;

    private static byte[] FinalWeights(TrainingConfig config) =>
        File.ReadAllBytes(Path.Combine(config.Output!, TrainingRun.FinalModelDirectory, ModelCheckpoint.WeightsFileName));

    [Fact]
    public void Loss_falls_on_a_toy_corpus_and_metrics_have_the_agreed_keys()
    {
        var config = _toy.Config("falls", 60) with { ValidationInterval = 30, LogInterval = 10 };
        var summary = TrainingRun.Run(config);

        Assert.Equal(TrainingStatus.Completed, summary.Status);
        var lines = File.ReadAllLines(Path.Combine(config.Output!, MetricsRecord.FileName));
        Assert.Equal(6, lines.Length);
        var first = JsonDocument.Parse(lines[0]).RootElement;
        var last = JsonDocument.Parse(lines[^1]).RootElement;
        double firstLoss = first.GetProperty("loss").GetDouble();
        double lateLoss = lines[^3..].Average(l => JsonDocument.Parse(l).RootElement.GetProperty("loss").GetDouble());
        Assert.True(lateLoss < 0.6 * firstLoss, $"loss {firstLoss} → {lateLoss}");
        // A uniform guess over the 64 ids has NELBO ln 64 = 4.16 (∫ w(t)(1 − α_t) dt = 1); the data uses 8 ids.
        Assert.InRange(last.GetProperty("valid_nelbo").GetDouble(), 0, 0.75 * Math.Log(ToyCorpus.Vocab));
        string[] keys = ["step", "tokens", "wall_seconds", "lr", "loss", "denoiser_nll", "anchor_nll", "grad_norm", "tokens_per_second", "strategy"];
        Assert.Equal(keys, first.EnumerateObject().Select(p => p.Name));
        Assert.Equal(keys.Take(9).Append("valid_nelbo").Append("strategy"), last.EnumerateObject().Select(p => p.Name));
        Assert.Equal(60, last.GetProperty("step").GetInt64());
        Assert.Equal("anchortree", last.GetProperty("strategy").GetString());
        Assert.True(File.Exists(Path.Combine(config.Output!, TrainingRun.ConfigFileName)));
        Assert.Equal(config.ToJson(), TrainingConfig.Load(Path.Combine(config.Output!, TrainingRun.ConfigFileName)).ToJson());
    }

    [Fact]
    public void Resume_after_an_interruption_gives_bitwise_the_same_weights()
    {
        var straight = _toy.Config("straight", 8);
        Assert.Equal(TrainingStatus.Completed, TrainingRun.Run(straight).Status);

        var split = _toy.Config("split", 8) with { CheckpointInterval = 3 };
        using var cancel = new CancellationTokenSource();
        var first = TrainingRun.Run(split, new StopAtStep(4, cancel), cancel.Token);
        Assert.Equal(TrainingStatus.Interrupted, first.Status);
        Assert.Equal(4, first.Steps);
        Assert.EndsWith("step-0000004", first.LastCheckpoint);
        Assert.Equal(first.LastCheckpoint, first.ModelDirectory);
        using (var partial = ModelCheckpoint.Load(first.ModelDirectory!)) Assert.Equal(Configuration.Architecture.Anchored, partial.Config.Architecture);

        var second = TrainingRun.Run(split, resume: true);
        Assert.Equal(TrainingStatus.Completed, second.Status);
        Assert.Equal(8, second.Steps);
        Assert.Equal(FinalWeights(straight), FinalWeights(split));
        var steps = File.ReadAllLines(Path.Combine(split.Output!, MetricsRecord.FileName))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64());
        Assert.Equal(Enumerable.Range(1, 8).Select(i => (long)i), steps);
    }

    [Fact]
    public void A_checkpoint_without_a_valid_checksum_is_never_loaded()
    {
        var straight = _toy.Config("straight", 8);
        TrainingRun.Run(straight);

        var split = _toy.Config("split", 8) with { CheckpointInterval = 2 };
        using var cancel = new CancellationTokenSource();
        TrainingRun.Run(split, new StopAtStep(6, cancel), cancel.Token);
        string root = TrainingCheckpoints.Root(split.Output!);
        // step 6: what a kill -9 while saving leaves (a hidden staging folder, never renamed into place);
        // step 5: a copy of step 2 with one flipped byte in optimizer.bin; step 4: its checksum file is missing.
        Directory.Move(Path.Combine(root, "step-0000006"), Path.Combine(root, ".step-0000006.tmp-0123"));
        File.Delete(Path.Combine(root, "step-0000004", TrainingCheckpoints.ChecksumFile));
        Directory.CreateDirectory(Path.Combine(root, "step-0000005"));
        foreach (string file in Directory.EnumerateFiles(Path.Combine(root, "step-0000002")))
            File.Copy(file, Path.Combine(root, "step-0000005", Path.GetFileName(file)));
        string optimizer = Path.Combine(root, "step-0000005", TrainingCheckpoints.OptimizerFile);
        var bytes = File.ReadAllBytes(optimizer);
        bytes[^5] ^= 0x40;
        File.WriteAllBytes(optimizer, bytes);

        var warnings = new List<string>();
        var found = TrainingCheckpoints.FindLatestValid(split.Output!, warnings.Add);
        Assert.Equal(2, found!.Value.Step);
        Assert.Collection(warnings,
            w => Assert.Contains("step-0000005: optimizer.bin does not match its checksum", w),
            w => Assert.Contains("step-0000004: no checksums.sha256", w));

        var observer = new StopAtStep(-1);
        var resumed = TrainingRun.Run(split, observer, resume: true);
        Assert.Equal(TrainingStatus.Completed, resumed.Status);
        Assert.Contains(observer.Messages, m => m.Contains("ignoring checkpoint") && m.Contains("step-0000005"));
        Assert.Equal(FinalWeights(straight), FinalWeights(split));
        Assert.False(Directory.Exists(Path.Combine(root, ".step-0000006.tmp-0123")));
    }

    [Fact]
    public void Mdlm_with_accumulation_bf16_and_ema_runs_and_keeps_the_last_k_checkpoints()
    {
        var config = _toy.Config("mdlm", 6) with
        {
            Strategy = AnchorStrategy.Mdlm, GradientAccumulation = 2, Precision = Precision.Bf16, EmaDecay = 0.9, CheckpointInterval = 1, KeepLast = 2,
        };
        var summary = TrainingRun.Run(config);
        Assert.Equal(TrainingStatus.Completed, summary.Status);
        Assert.Equal(["step-0000006", "step-0000005"], TrainingCheckpoints.List(config.Output!).Select(c => Path.GetFileName(c.Path)));
        Assert.True(File.Exists(Path.Combine(config.Output!, TrainingRun.EmaModelDirectory, ModelCheckpoint.WeightsFileName)));
        var model = ModelCheckpoint.Load(Path.Combine(config.Output!, TrainingRun.FinalModelDirectory));
        Assert.Equal(Configuration.Architecture.Mdlm, model.Config.Architecture);
        // Tokens seen = non-padding positions of 6 steps × 2 micro-batches × 4 rows × 64 (packed rows: little padding).
        Assert.InRange(summary.Tokens, config.TokensPerStep * 6 * 9 / 10, config.TokensPerStep * 6);
    }

    [Fact]
    public void Divergence_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint()
    {
        var config = _toy.Config("nan", 6) with { LearningRate = 1e30, WarmupRatio = 0, CheckpointInterval = 1 };
        var summary = TrainingRun.Run(config);
        Assert.Equal(TrainingStatus.Diverged, summary.Status);
        Assert.Contains($"stopped at step {summary.Steps + 1}:", summary.Message);
        Assert.Contains(summary.LastCheckpoint ?? "last good checkpoint: none", summary.Message);
        // Nothing was saved from the diverged step: the newest checkpoint is the last completed step, and it verifies.
        var newest = TrainingCheckpoints.FindLatestValid(config.Output!);
        Assert.Equal(summary.Steps, newest?.Step ?? 0);
        Assert.False(Directory.Exists(Path.Combine(config.Output!, TrainingRun.FinalModelDirectory)));
    }

    [Fact]
    public void Refuses_to_overwrite_a_run_without_resume_and_reports_missing_data()
    {
        var config = _toy.Config("twice", 2) with { CheckpointInterval = 1 };
        TrainingRun.Run(config);
        var again = Assert.Throws<TrainingException>(() => TrainingRun.Run(config));
        Assert.Contains("--resume", again.Message);

        var missing = _toy.Config("missing", 2) with { Data = Path.Combine(_toy.Root, "nowhere") };
        var error = Assert.Throws<TrainingException>(() => TrainingRun.Run(missing));
        Assert.Contains("manifest.json", error.Message);
    }

    [Fact]
    public void Initialises_from_our_checkpoint_and_from_a_qwen2_folder()
    {
        var first = _toy.Config("stage1", 20) with { LogInterval = 20 };
        var stage1 = TrainingRun.Run(first);
        var scratch = _toy.Config("scratch", 1);
        TrainingRun.Run(scratch);
        var next = _toy.Config("stage2", 1) with { Init = stage1.ModelDirectory, Seed = 11 };
        TrainingRun.Run(next);
        double Loss(TrainingConfig c) => JsonDocument.Parse(File.ReadAllLines(Path.Combine(c.Output!, MetricsRecord.FileName))[0]).RootElement.GetProperty("loss").GetDouble();
        // Same seed, data and masks at step 1: only the starting weights differ, and the trained ones do better.
        Assert.True(Loss(next) < Loss(scratch), $"init {Loss(next)} vs scratch {Loss(scratch)}");

        string qwen = Checkpoints.ReferenceFiles.TinyQwen2; // the checkpoints helper's committed fixture (vocabulary 64)
        var fromQwen = _toy.Config("qwen", 2) with { InitQwen = qwen, ModelConfigFile = null };
        var summary = TrainingRun.Run(fromQwen);
        Assert.Equal(TrainingStatus.Completed, summary.Status);
        var config = Configuration.ModelConfig.Load(Path.Combine(summary.ModelDirectory!, ModelCheckpoint.ConfigFileName));
        Assert.Equal((32, 4, AnchorStrategy.AnchorTree), (config.HiddenSize, config.NumHiddenLayers, config.Diffusion.Strategy));

        var wrong = _toy.Config("wrong", 1) with { Init = stage1.ModelDirectory, Strategy = AnchorStrategy.Mdlm };
        Assert.Contains("cannot train with strategy `mdlm`", Assert.Throws<TrainingException>(() => TrainingRun.Run(wrong)).Message);
    }

    [Fact]
    public void Live_tensors_do_not_grow_with_the_number_of_steps()
    {
        TrainingRun.Run(_toy.Config("warm", 2));
        long Leaked(long steps)
        {
            long before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            TrainingRun.Run(_toy.Config("leaks", steps) with { GradientAccumulation = 2, EmaDecay = 0.9, ValidationInterval = 2, CheckpointInterval = 3 });
            return TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount - before;
        }
        // A model leaves a few cached tensors (its rotary tables) when disposed: a constant, not a per-step growth.
        Assert.Equal(Leaked(2), Leaked(12));
    }
}
