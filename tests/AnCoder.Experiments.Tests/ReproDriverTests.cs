using AnCoder.Anchoring.Labels;
using System.Text.Json;
using AnCoder.Experiments.Repro;

namespace AnCoder.Experiments.Tests;

/// <summary>
/// The driver end to end on a minute-scale experiment: two tiny variants, a few steps at context 64, two HumanEval
/// problems and one MBPP problem × 2 samples at T = 8 (and T = 4 for the T-scaling table).
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class ReproDriverTests(TinyCorpus corpus) : IClassFixture<TinyCorpus>
{
    private ReproConfig Config() => new()
    {
        Training = new ReproConfig().Training with { Model = "tiny", Data = corpus.Data, ContextLength = 64, MicroBatch = 4, Threads = 1, ValidationBatches = 2, LogInterval = 1 },
        Variants = [AnchorStrategy.Mdlm, AnchorStrategy.AnchorTree], Seeds = 1, Steps = 6, HumanevalProblems = 2, HumanevalN = 2, MbppProblems = 1, MbppN = 2,
        EvalSteps = 8, EvalLength = 24, TScaling = [4, 8], LambdaAblation = [], RhoD0Sweep = [], ProbeSamples = 8, ProbeK = 2,
    };

    [Fact]
    public void A_minute_scale_experiment_produces_a_complete_report_folder_and_resumes_without_redoing_work()
    {
        string output = Path.Combine(corpus.Root, "experiment");
        var progress = new RecordingProgress();
        Assert.Equal(ReproOutcome.Completed, ReproRunner.Run(Config(), output, "ancoder repro --test", progress));

        foreach (var run in new[] { "mdlm-s0", "anchortree-s0" })
        {
            Assert.True(File.Exists(Path.Combine(output, "runs", run, "model", "model.safetensors")), run);
            Assert.True(File.Exists(Path.Combine(output, "runs", run, "metrics.jsonl")), run);
            Assert.Equal(4, File.ReadLines(Path.Combine(output, "runs", run, "eval", "humaneval-T8", "results.jsonl")).Count());
            Assert.Equal(4, File.ReadLines(Path.Combine(output, "runs", run, "eval", "humaneval-T4", "results.jsonl")).Count());
            Assert.Equal(2, File.ReadLines(Path.Combine(output, "runs", run, "eval", "mbpp-T8", "results.jsonl")).Count());
        }
        var png = File.ReadAllBytes(Path.Combine(output, "plots", "loss.png"));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png.Take(4));
        Assert.True(File.Exists(Path.Combine(output, "plots", "t_scaling_syntax.png")));

        string report = File.ReadAllText(Path.Combine(output, "REPORT.md"));
        Assert.Contains("## Table 1: main comparison", report);
        Assert.Contains("\n| mdlm | ", report);
        Assert.Contains("\n| anchortree | ", report);
        Assert.Contains("| 74.72 |", report); // the paper's AnchorTree HumanEval syntax validity beside ours
        Assert.Contains("## Table 2: T-scaling on HumanEval", report);
        Assert.Contains("## Agreement with the paper", report);
        Assert.Contains("ancoder repro --test", report);
        Assert.Contains("![loss](plots/loss.png)", report);
        Assert.Contains("HumanEval valid lines %", report);
        Assert.Contains("| HumanEval non-trivial % |", report);
        Assert.Contains("## Example samples", report);
        Assert.Contains("## AST probe", report);
        Assert.Contains("probe: revealing hints in-out helps anchortree more than out-in", report);
        Assert.True(File.Exists(Path.Combine(output, "plots", "probe_anchortree.png")));
        Assert.True(File.Exists(Path.Combine(output, "plots", "t_scaling_valid_lines.png")));

        var results = ReproResults.FromJson(File.ReadAllText(Path.Combine(output, ReproResults.FileName)));
        Assert.Equal(6, results.StepsPerRun);
        Assert.All(results.Runs, r => Assert.Equal(RunStatus.Completed, r.Status));
        Assert.All(results.Runs, r => Assert.True(double.IsFinite(r.FinalValidNelbo), $"{r.Name}: no validation NELBO"));
        var humanEval = results.Eval("anchortree-s0", "humaneval", 8)!;
        Assert.Equal(2, humanEval.Problems.Count);
        Assert.All(humanEval.Problems, p => Assert.Equal(2, p.N));
        Assert.NotNull(humanEval.SyntaxValidity);
        Assert.InRange(humanEval.ValidLines!.Value, 0, 1);
        Assert.InRange(humanEval.NonTrivialValidity!.Value, 0, humanEval.SyntaxValidity!.Value);
        Assert.NotEmpty(humanEval.Examples!);
        Assert.All(File.ReadLines(Path.Combine(output, "runs", "anchortree-s0", "eval", "humaneval-T8", "results.jsonl")),
            line => Assert.Contains("\"non_trivial\":", line));
        Assert.Equal(["anchortree-s0", "mdlm-s0"], results.Probes!.Select(p => p.Run).Order());
        // K = 2: in-out − out-in and out-in − random at k = 1, 2 for each of the three default noise levels.
        Assert.All(results.Probes!, p => Assert.Equal(2 * 3 * 2, p.Gaps.Count));

        // Again: nothing is trained or sampled twice; the journals are untouched.
        var journal = Path.Combine(output, "runs", "mdlm-s0", "eval", "humaneval-T8", "results.jsonl");
        string before = File.ReadAllText(journal);
        var again = new RecordingProgress();
        Assert.Equal(ReproOutcome.Completed, ReproRunner.Run(Config(), output, "ancoder repro --test", again));
        Assert.Contains("mdlm-s0: trained (model exists), skipped", again.Lines);
        Assert.Contains("anchortree-s0: trained (model exists), skipped", again.Lines);
        Assert.DoesNotContain(again.Lines, l => l.StartsWith("train "));
        Assert.DoesNotContain(again.Lines, l => l.StartsWith("probe "));
        Assert.Equal(before, File.ReadAllText(journal));
    }

    [Fact]
    public void An_interrupted_run_resumes_from_its_checkpoint()
    {
        string output = Path.Combine(corpus.Root, "interrupted");
        var config = Config() with { Variants = [AnchorStrategy.AnchorTree], TScaling = [], HumanevalProblems = 0, MbppProblems = 0 };
        config = config with { Training = config.Training with { CheckpointInterval = 2 } };
        using (var cancellation = new CancellationTokenSource())
        {
            var stopper = new RecordingProgress { CancelAtStep = (3, cancellation) };
            Assert.Equal(ReproOutcome.Interrupted, ReproRunner.Run(config, output, "repro", stopper, cancellation.Token));
        }
        string run = Path.Combine(output, "runs", "anchortree-s0");
        Assert.False(File.Exists(Path.Combine(run, "model", "model.safetensors")));
        var progress = new RecordingProgress();
        Assert.Equal(ReproOutcome.Completed, ReproRunner.Run(config, output, "repro", progress));
        Assert.True(File.Exists(Path.Combine(run, "model", "model.safetensors")));
        // The resumed run started after the interruption's checkpoint, not from step 0.
        Assert.True(progress.FirstAdvance > 0, $"resumed at step {progress.FirstAdvance}");
        var steps = File.ReadLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(1, 6).Select(s => (long)s), steps);
    }
}
