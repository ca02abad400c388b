using System.Buffers.Binary;
using AnCoder.Reporting.Plotting;

namespace AnCoder.Reporting.Tests;

public sealed class RunPlotsTests : IDisposable
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    private readonly SyntheticRun runs = new();

    public void Dispose() => runs.Dispose();

    /// <summary>Width and height from the PNG's IHDR chunk, which must come first (PNG spec §11.2.2).</summary>
    private static (int Width, int Height) PngSize(byte[] png)
    {
        Assert.True(png.Length > 33, "too short for a PNG");
        Assert.Equal(PngSignature, png[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(png, 12, 4));
        return (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
    }

    [Fact]
    public void WritesValidPngsOfTheConfiguredSizeAndMetricsCsv()
    {
        string mdlm = runs.Create("mdlm-1", "mdlm", steps: 30, mdlmZeroAnchor: true);
        string anchored = runs.Create("at-1", "anchortree", steps: 30);
        string outDir = Path.Combine(runs.Root, "plots");
        var result = RunPlots.Write([mdlm, anchored], outDir, PlotOptions.Default with { Width = 640, Height = 360, Smooth = 3 });
        string[] pngs = ["loss.png", "valid_nelbo.png", "lr.png", "grad_norm.png"];
        Assert.Equal(pngs.Select(p => Path.Combine(outDir, p)).Append(Path.Combine(outDir, "metrics.csv")), result.Files);
        foreach (string png in pngs)
            Assert.Equal((640, 360), PngSize(File.ReadAllBytes(Path.Combine(outDir, png))));
        Assert.Empty(Directory.GetFiles(outDir, "*.tmp"));

        string[] csv = File.ReadAllLines(Path.Combine(outDir, "metrics.csv"));
        Assert.Equal(string.Join(',', MetricsCsv.Columns), csv[0]);
        Assert.Equal(1 + 60, csv.Length);
        Assert.StartsWith("mdlm-1,mdlm,1,4096,", csv[1]);
        Assert.EndsWith(",", csv[1]);            // step 1 has no validation: empty last cell
        Assert.StartsWith("at-1,anchortree,10,", csv[40]);
        Assert.False(csv[40].EndsWith(','));     // step 10 has one
    }

    [Fact]
    public void TheTrainerCallWritesIntoTheRunFolder()
    {
        string run = runs.Create("at-2", steps: 12, validEvery: 4);
        var result = RunPlots.WriteIntoRun(run);
        Assert.Equal((1000, 600), PngSize(File.ReadAllBytes(Path.Combine(run, "plots", "loss.png"))));
        Assert.Equal(5, result.Files.Count);
    }

    [Fact]
    public void AnXAxisNoRecordHasGivesAWarningNotAnEmptyFigure()
    {
        string text = string.Join('\n', Enumerable.Range(1, 3).Select(s => $"{{\"step\":{s},\"loss\":{s}}}")) + "\n";
        string run = runs.CreateRaw("no-tokens", text);
        var result = RunPlots.Write([run], Path.Combine(run, "plots"), PlotOptions.Default with { X = XAxis.Tokens });
        Assert.Empty(result.Figures);
        Assert.Contains(result.Warnings, w => w.StartsWith("nothing to plot: no record has both a finite tokens value"));
        Assert.Equal(4, File.ReadAllLines(Path.Combine(run, "plots", "metrics.csv")).Length);
    }

    [Fact]
    public void ComparisonTableHasFinalAndMinimumValidation()
    {
        // Validation NELBO 5, 3, 4 at steps 2, 4, 6: final 4 (step 6), minimum 3 at step 4.
        string text = string.Join('\n', new[]
        {
            SyntheticRun.Line(1, loss: 6), SyntheticRun.Line(2, loss: 5, valid: 5), SyntheticRun.Line(3, loss: 4.5),
            SyntheticRun.Line(4, loss: 4, valid: 3), SyntheticRun.Line(5, loss: 3.5), SyntheticRun.Line(6, loss: 3.25, valid: 4),
        }) + "\n";
        var summary = RunComparison.Summarize(RunData.Load(runs.CreateRaw("cmp", text, "keyword")));
        Assert.Equal((6L, 3.25, 4.0, 6L, 3.0, 4L),
            (summary.LastStep, Math.Round(summary.FinalLoss, 12), summary.FinalValidNelbo, summary.FinalValidStep, summary.MinValidNelbo, summary.MinValidStep));
        string[] md = RunComparison.Markdown([summary]).Split('\n');
        Assert.Equal("| run | strategy | step | tokens | time | train loss | valid NELBO | min valid | min at |", md[0]);
        Assert.Equal("| cmp | keyword | 6 | 24.6 K | 3s | 3.2500 | 4.0000 | 3.0000 | 4 |", md[2]);
    }

    [Fact]
    public void MissingFolderIsAnError()
    {
        string missing = Path.Combine(runs.Root, "nope");
        var error = Assert.Throws<PlotException>(() => RunPlots.Write([missing], Path.Combine(runs.Root, "out"), PlotOptions.Default));
        Assert.Equal($"run folder not found: {missing}", error.Message);
    }

    [Fact]
    public void FolderWithoutMetricsIsAnError()
    {
        string empty = Path.Combine(runs.Root, "empty-run");
        Directory.CreateDirectory(empty);
        var error = Assert.Throws<PlotException>(() => RunData.Load(empty));
        Assert.StartsWith($"{empty} has no metrics.jsonl", error.Message);
    }

    [Fact]
    public void EmptyMetricsFileIsAnError()
    {
        string run = runs.CreateRaw("fresh", "");
        var error = Assert.Throws<PlotException>(() => RunData.Load(run));
        Assert.Equal($"{Path.Combine(run, "metrics.jsonl")} is empty: no metrics were logged yet", error.Message);
    }

    [Fact]
    public void MalformedLineNamesTheFileAndLine()
    {
        string run = runs.CreateRaw("bad", SyntheticRun.Line(1) + "\n{\"step\": oops}\n" + SyntheticRun.Line(3) + "\n");
        var error = Assert.Throws<PlotException>(() => RunPlots.Write([run], Path.Combine(run, "plots"), PlotOptions.Default));
        Assert.StartsWith($"{Path.Combine(run, "metrics.jsonl")}:2: not valid JSON", error.Message);
        Assert.False(Directory.Exists(Path.Combine(run, "plots")), "nothing is written when a run is unusable");
    }

    [Fact]
    public void BadOptionsAreErrors()
    {
        Assert.Equal("--x must be step, tokens or time, not \"epochs\"", Assert.Throws<PlotException>(() => PlotOptions.ParseXAxis("epochs")).Message);
        Assert.Equal(XAxis.Tokens, PlotOptions.ParseXAxis("TOKENS"));
        string run = runs.Create("r", steps: 3);
        var error = Assert.Throws<PlotException>(() => RunPlots.Write([run], runs.Root, PlotOptions.Default with { Smooth = 0 }));
        Assert.Equal("--smooth must be at least 1 (1 = no smoothing), not 0", error.Message);
    }
}

public sealed class LiveRunTests : IDisposable
{
    private readonly SyntheticRun runs = new();

    public void Dispose() => runs.Dispose();

    [Fact]
    public void ARunStillBeingWrittenCanBePlotted()
    {
        string run = runs.Create("live", steps: 5);
        // Opened the way the trainer appends (FileShare.Read), mid-line as if the process were writing right now.
        using var writer = new StreamWriter(new FileStream(Path.Combine(run, "metrics.jsonl"), FileMode.Append, FileAccess.Write, FileShare.Read));
        writer.Write("{\"step\":6,\"tok");
        writer.Flush();
        var loaded = RunData.Load(run);
        Assert.Equal(5, loaded.Records.Count);
        Assert.Contains(loaded.Warnings, w => w.Contains(":6: ignored the unfinished last line"));
    }
}
