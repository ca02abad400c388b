using System.Text.Json;
using AnCoder.Diffusion.Configuration;
using AnCoder.Evaluation.Benchmarks;
using AnCoder.Evaluation.Execution;
using AnCoder.Experiments.Decoding;
using AnCoder.Experiments.Generation;
using AnCoder.Experiments.Models;

namespace AnCoder.Experiments.Tests;

/// <summary>`ancoder eval --model M --decoding` (issue 17 item 5): equal-calls arithmetic, the paired table, and the resumable driver on random:tiny.</summary>
[Collection(TorchCollection.Name)]
public sealed class DecodingMeasurementTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "ancoder-decoding-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void The_equal_calls_baseline_gets_the_extra_rows_as_steps_and_one_correction()
    {
        // Plain T = 8 spent 7.85 rows per sample, repair 16.2: 8 more steps (8.35 rounded).
        Assert.Equal(16, DecodingMeasurement.EqualCallsSteps(8, 7.85, 16.2));
        // A variant that spends 0.3 more still gets at least one step.
        Assert.Equal(9, DecodingMeasurement.EqualCallsSteps(8, 7.85, 8.15));
        // T = 16 spent 14.6 rows: 1.6 short, two more steps.
        Assert.Equal(18, DecodingMeasurement.CorrectedSteps(16, 14.6, 16.2));
        Assert.Equal(1, DecodingMeasurement.CorrectedSteps(2, 9, 1));
    }

    private static DecodingCell Cell(string variant, int index, double syntax, double rows, double nonTrivial = 0, double pass = 0) =>
        new("humaneval", 0, index, variant, 10, syntax, nonTrivial, pass, rows, 0.5, 0, 0);

    [Fact]
    public void The_baseline_at_equal_calls_is_the_plain_cell_closest_in_calls()
    {
        var cells = new[] { Cell("plain", 0, 0.1, 7.9), Cell("plain-T16", 0, 0.2, 15.1), Cell("plain-T17", 0, 0.2, 16.0), Cell("guard", 0, 0.4, 16.4) };
        Assert.Equal("plain-T17", DecodingMeasurement.EqualCallsBaseline(cells, Cell("repair", 0, 0.3, 16.3))!.Variant);
        Assert.Equal("plain", DecodingMeasurement.EqualCallsBaseline(cells, Cell("parallel", 0, 0.3, 3))!.Variant);
    }

    [Fact]
    public void Paired_differences_are_within_a_replicate_with_the_standard_error_over_replicates()
    {
        var cells = new[]
        {
            Cell("plain", 0, 0.1, 8), Cell("plain", 1, 0.2, 8),
            Cell("repair", 0, 0.3, 16, nonTrivial: 0.1), Cell("repair", 1, 0.3, 16),
            Cell("plain-T16", 0, 0.2, 16), Cell("plain-T16", 1, 0.4, 16),
            Cell("parallel", 0, 0.1, 4), Cell("parallel", 1, 0.1, 4),
        };
        var rows = DecodingReport.Differences(cells);
        var vsPlain = rows.Single(r => r.Variant == "repair" && r.Baseline == "plain");
        // Differences 0.2 and 0.1: mean 0.15, s = 0.0707, SE = s/√2 = 0.05.
        Assert.Equal(0.15, vsPlain.Syntax.Mean, 12);
        Assert.Equal(0.05, vsPlain.Syntax.StandardError, 12);
        Assert.Equal(0.05, vsPlain.NonTrivial.Mean, 12);
        var vsEqual = rows.Single(r => r.Variant == "repair" && r.Baseline == "plain at equal calls");
        Assert.Equal([16], vsEqual.BaselineSteps);
        Assert.Equal(0.0, vsEqual.Syntax.Mean, 12); // 0.1 and −0.1
        Assert.Equal(16, vsEqual.BaselineCalls.Mean, 12);
        // Parallel spends fewer calls: compared with plain only.
        Assert.Single(rows, r => r.Variant == "parallel");
        Assert.Equal(-0.05, rows.Single(r => r.Variant == "parallel").Syntax.Mean, 12);
        Assert.Equal(8, rows.Single(r => r.Variant == "parallel").BaselineCalls.Mean, 12);
    }

    [Fact]
    public void Runs_every_variant_adds_an_equal_calls_baseline_and_a_second_run_redoes_only_an_interrupted_cell()
    {
        Assert.True(LoadedModel.TryLoad("random:tiny", Precision.Fp32, out var model, out var error), error);
        using var _ = model!.Model;
        using var sandbox = PythonSandbox.Create(new SandboxOptions { Workers = 2 });
        var humanEval = BenchmarkLoader.Load(BenchmarkKind.HumanEval, DatasetLocator.Require(null, AppContext.BaseDirectory, Directory.GetCurrentDirectory()));
        var benchmarks = new Dictionary<BenchmarkKind, Benchmark> { [BenchmarkKind.HumanEval] = humanEval };
        var settings = new DecodingMeasurementSettings
        {
            Benchmarks = [new DecodingBenchmark(BenchmarkKind.HumanEval, 1)], Seeds = [0], SamplesPerProblem = 2, Steps = 2, Length = 8,
        };
        string output = Path.Combine(_root, "m");
        var progress = new List<DecodingProgress>();
        var cells = DecodingMeasurement.Run(model, "random:tiny", benchmarks, settings, Precision.Fp32, output, sandbox, progress.Add);

        // Every variant, two replicates each (sample indices 0 and 1), one sample per replicate.
        foreach (var variant in settings.Variants())
            Assert.Equal([0, 1], cells.Where(c => c.Variant == variant.Name).Select(c => c.SampleIndex).Order());
        Assert.All(cells, c => Assert.Equal(1, c.Samples));
        var plain = cells.First(c => c.Variant == "plain");
        var parallel = cells.First(c => c.Variant == "parallel");
        Assert.True(parallel.NetworkRowsPerSample >= 1);
        // Untrained weights never parse: repair remasks every canvas and spends more calls than plain, so a plain
        // baseline at more steps exists, and it is the one the report pairs with repair.
        var repair = cells.First(c => c.Variant == "repair");
        Assert.True(repair.RepairedPerSample > 0);
        Assert.True(repair.NetworkRowsPerSample > plain.NetworkRowsPerSample + 0.5);
        var baselines = cells.Where(c => c.Variant.StartsWith(DecodingVariant.EqualCallsPrefix, StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(baselines);
        var readBack = DecodingMeasurement.ReadAll(output);
        Assert.Equal(cells.Count, readBack.Count);
        var vsEqual = DecodingReport.Differences(readBack).Single(r => r.Variant == "repair" && r.Baseline == "plain at equal calls");
        Assert.True(vsEqual.BaselineSteps.All(s => s > settings.Steps));
        string table = DecodingReport.Markdown(readBack, settings);
        Assert.Contains("| repair+guard | `--repair 1 --guard prefix` | 2 |", table);
        Assert.Contains("plain at equal calls (T = ", table);

        // Resume: the guard cell was interrupted after one of its two samples; only it is made again (in full), the
        // others are reused unchanged.
        string guardDirectory = DecodingMeasurement.CellDirectory(output, "humaneval", 0, "guard");
        string guardResults = Path.Combine(guardDirectory, ModelEvaluation.ResultsFileName);
        var guardLines = File.ReadAllLines(guardResults);
        File.WriteAllLines(guardResults, guardLines.Take(1));
        string repairResults = File.ReadAllText(Path.Combine(DecodingMeasurement.CellDirectory(output, "humaneval", 0, "repair"), ModelEvaluation.ResultsFileName));
        progress.Clear();
        var again = DecodingMeasurement.Run(model, "random:tiny", benchmarks, settings, Precision.Fp32, output, sandbox, progress.Add);
        var redone = progress.Where(p => !p.Reused).Select(p => p.Cell).Distinct().ToList();
        Assert.Equal(["humaneval s0 guard"], redone);
        Assert.Equal(repairResults, File.ReadAllText(Path.Combine(DecodingMeasurement.CellDirectory(output, "humaneval", 0, "repair"), ModelEvaluation.ResultsFileName)));
        using var counts = JsonDocument.Parse(File.ReadAllText(Path.Combine(guardDirectory, ModelEvaluation.DecodingFileName)));
        Assert.Equal(2, counts.RootElement.GetProperty("samples_generated").GetInt32());
        Assert.Equal(guardLines.Length, File.ReadAllLines(guardResults).Length);
        Assert.Equal(cells.Count, again.Count);
    }
}
