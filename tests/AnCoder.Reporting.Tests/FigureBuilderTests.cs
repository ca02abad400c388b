using AnCoder.Reporting.Plotting;

namespace AnCoder.Reporting.Tests;

public sealed class FigureBuilderTests : IDisposable
{
    private readonly SyntheticRun runs = new();

    public void Dispose() => runs.Dispose();

    private static FigureModel Figure(IReadOnlyList<FigureModel> figures, string name) => Assert.Single(figures, f => f.Name == name);

    [Fact]
    public void OneRunGivesOneFigurePerMetricWithTheLossParts()
    {
        var run = RunData.Load(runs.Create("at-1", "anchortree", steps: 40, validEvery: 10));
        var figures = FigureBuilder.Build([run], PlotOptions.Default);
        Assert.Equal(["loss", "valid_nelbo", "lr", "grad_norm"], figures.Select(f => f.Name));
        var loss = Figure(figures, "loss");
        Assert.Equal(["loss", "denoiser_nll", "anchor_nll"], loss.LabelledSeries.Select(s => s.Metric));
        Assert.Equal(["training loss", "denoiser NLL", "anchor NLL"], loss.LabelledSeries.Select(s => s.Label));
        Assert.Equal([LineStyle.Solid, LineStyle.Dashed, LineStyle.Dotted], loss.Series.Select(s => s.Style));
        Assert.Contains("anchortree (at-1)", loss.Title);
        Assert.All(loss.Series, s => Assert.Equal(40, s.X.Length));
        // Validation only where it was logged: steps 10, 20, 30, 40.
        var valid = Assert.Single(Figure(figures, "valid_nelbo").Series);
        Assert.Equal([10.0, 20, 30, 40], valid.X);
        Assert.True(valid.Markers);
    }

    [Fact]
    public void TwoRunsOverlayInOneFigurePerMetricWithOneSeriesPerRun()
    {
        var mdlm = runs.Create("mdlm-1", "mdlm", steps: 30, validEvery: 10, mdlmZeroAnchor: true);
        var anchored = runs.Create("at-1", "anchortree", steps: 50, validEvery: 10);
        var loaded = RunPlots.LoadRuns([mdlm, anchored]);
        var figures = FigureBuilder.Build(loaded, PlotOptions.Default);
        Assert.Equal(["loss", "valid_nelbo", "lr", "grad_norm"], figures.Select(f => f.Name));
        foreach (string name in new[] { "valid_nelbo", "lr", "grad_norm" })
        {
            var figure = Figure(figures, name);
            Assert.Equal(2, figure.Series.Count);
            Assert.Equal(["mdlm (mdlm-1)", "anchortree (at-1)"], figure.Series.Select(s => s.Label));
            Assert.Equal([0, 1], figure.Series.Select(s => s.Run));
        }
        Assert.Equal([30, 50], Figure(figures, "lr").Series.Select(s => s.X.Length));
        // Loss: both runs' totals, the anchored run's parts; the MDLM run's parts (anchor NLL 0, denoiser NLL = loss)
        // are left out.
        var loss = Figure(figures, "loss");
        Assert.Equal(["mdlm (mdlm-1): training loss", "anchortree (at-1): training loss",
            "anchortree (at-1): denoiser NLL", "anchortree (at-1): anchor NLL"], loss.Series.Select(s => s.Label));
        Assert.Equal(2, loss.Series.Count(s => s.Metric == "loss"));
    }

    [Fact]
    public void RunsWithTheSameFolderNameAreToldApartByPath()
    {
        var a = new SyntheticRun();
        try
        {
            string first = runs.Create("run");
            string second = a.Create("run");
            var loaded = RunPlots.LoadRuns([first, second]);
            Assert.Equal(2, loaded.Select(r => r.Label).Distinct().Count());
        }
        finally
        {
            a.Dispose();
        }
    }

    [Fact]
    public void SmoothingDrawsTheRawCurveFaintlyBehindTheMovingAverage()
    {
        var run = RunData.Load(runs.Create("r", steps: 20));
        var figures = FigureBuilder.Build([run], PlotOptions.Default with { Smooth = 4 });
        var grad = Figure(figures, "grad_norm");
        Assert.Equal(2, grad.Series.Count);
        var raw = grad.Series[0];
        var smoothed = grad.Series[1];
        Assert.True(raw.Faint);
        Assert.Null(raw.Label);
        Assert.Equal(Smoothing.MovingAverage(raw.Y, 4), smoothed.Y);
        Assert.Equal(run.Records.Select(r => r.GradNorm), raw.Y);
        // LR and validation are never smoothed.
        Assert.Single(Figure(figures, "lr").Series);
    }

    [Fact]
    public void XAxisTokensAndTimeAreScaledToReadableUnits()
    {
        var run = RunData.Load(runs.Create("r", steps: 400, validEvery: 100)); // tokens = 4096·step, time = step/2 s
        var byTokens = Figure(FigureBuilder.Build([run], PlotOptions.Default with { X = XAxis.Tokens }), "lr");
        Assert.Equal("training tokens (millions)", byTokens.XLabel);
        Assert.Equal(400 * 4096 / 1e6, byTokens.Series[0].X[^1], 12);
        var byTime = Figure(FigureBuilder.Build([run], PlotOptions.Default with { X = XAxis.Time }), "lr");
        Assert.Equal("wall-clock time (minutes)", byTime.XLabel);
        Assert.Equal(200 / 60.0, byTime.Series[0].X[^1], 12);
    }

    [Fact]
    public void LogYLeavesOutNonPositiveValues()
    {
        // Step 3's loss is negative: a log axis cannot show it.
        var text = string.Join('\n', Enumerable.Range(1, 5).Select(s => SyntheticRun.Line(s, loss: s == 3 ? -1 : 2))) + "\n";
        var negative = RunData.Load(runs.CreateRaw("neg", text));
        var loss = Figure(FigureBuilder.Build([negative], PlotOptions.Default with { LogY = true }), "loss");
        Assert.True(loss.LogY);
        Assert.Equal([1.0, 2, 4, 5], loss.Series.First(s => s.Metric == "loss").X);
    }

    [Fact]
    public void FiguresWithoutDataAreLeftOut()
    {
        string text = string.Join('\n', Enumerable.Range(1, 5).Select(s => SyntheticRun.Line(s))) + "\n"; // no validation yet
        var figures = FigureBuilder.Build([RunData.Load(runs.CreateRaw("novalid", text))], PlotOptions.Default);
        Assert.DoesNotContain(figures, f => f.Name == "valid_nelbo");
    }

    [Fact]
    public void StrategyComesFromConfigElseFromTheMetrics()
    {
        string text = SyntheticRun.Line(1, strategy: "keyword") + "\n";
        var withConfig = RunData.Load(runs.CreateRaw("c", text, strategy: "identifier"));
        Assert.Equal("identifier (c)", withConfig.Label);
        var withoutConfig = RunData.Load(runs.CreateRaw("n", text, strategy: null));
        Assert.Equal("keyword (n)", withoutConfig.Label);
        Assert.Contains(withoutConfig.Warnings, w => w.Contains("config.json not found"));
    }
}
