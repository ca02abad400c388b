using AnCoder.Reporting.Plotting;

namespace AnCoder.Reporting.Tests;

public sealed class RunMetricsTests
{
    private static string Lines(params string[] lines) => string.Join('\n', lines) + "\n";

    [Fact]
    public void UnfinishedLastLineIsSkippedWithAWarning()
    {
        string text = Lines(SyntheticRun.Line(1), SyntheticRun.Line(2)) + "{\"step\":3,\"tokens\":122";
        var log = RunMetrics.Parse(text, "run/metrics.jsonl");
        Assert.Equal([1L, 2L], log.Records.Select(r => r.Step));
        var warning = Assert.Single(log.Warnings);
        Assert.StartsWith("run/metrics.jsonl:3: ignored the unfinished last line", warning);
    }

    [Fact]
    public void RepeatedStepsKeepTheLastRecordInStepOrder()
    {
        // A resumed run: steps 3 and 4 were logged, the checkpoint was at step 2, so 3 and 4 come again.
        string text = Lines(SyntheticRun.Line(1, loss: 9), SyntheticRun.Line(2, loss: 8), SyntheticRun.Line(3, loss: 7.5),
            SyntheticRun.Line(4, loss: 7.4), SyntheticRun.Line(3, loss: 7), SyntheticRun.Line(4, loss: 6), SyntheticRun.Line(5, loss: 5));
        var log = RunMetrics.Parse(text, "m.jsonl");
        Assert.Equal([1L, 2L, 3L, 4L, 5L], log.Records.Select(r => r.Step));
        Assert.Equal([9.0, 8, 7, 6, 5], log.Records.Select(r => Math.Round(r.Loss, 12)));
        Assert.Contains(log.Warnings, w => w.Contains("2 step(s) logged more than once"));
    }

    [Fact]
    public void TruncatedLastLineAndRepeatsTogether()
    {
        string text = Lines(SyntheticRun.Line(1, loss: 3), SyntheticRun.Line(2, loss: 2), SyntheticRun.Line(2, loss: 1)) + "{\"step\":3,\"lo";
        var log = RunMetrics.Parse(text, "m.jsonl");
        Assert.Equal([1L, 2L], log.Records.Select(r => r.Step));
        Assert.Equal(1.0, log.Records[1].Loss, 12);
        Assert.Equal(2, log.Warnings.Count);
    }

    [Fact]
    public void KilledThenResumedRunKeepsTheCompleteRecordAfterTheUnfinishedOne()
    {
        // kill -9 mid-line, then the resumed run appends its next record right after the unfinished bytes.
        string text = Lines(SyntheticRun.Line(1), "{\"step\":2,\"tok" + SyntheticRun.Line(2, loss: 4), SyntheticRun.Line(3));
        var log = RunMetrics.Parse(text, "m.jsonl");
        Assert.Equal([1L, 2L, 3L], log.Records.Select(r => r.Step));
        Assert.Equal(4.0, log.Records[1].Loss, 12);
        Assert.Contains(log.Warnings, w => w.StartsWith("m.jsonl:2: an unfinished record"));
    }

    [Fact]
    public void FieldsAreReadAndValidationOnlyWhereLogged()
    {
        string text = Lines(
            "{\"step\":10,\"tokens\":40960,\"wall_seconds\":5.5,\"lr\":0.0003,\"loss\":4.5,\"denoiser_nll\":4.0,\"anchor_nll\":0.5,\"grad_norm\":1.25,\"tokens_per_second\":8000,\"strategy\":\"keyword\"}",
            "{\"step\":20,\"loss\":\"NaN\",\"valid_nelbo\":3.75,\"lr\":null}");
        var log = RunMetrics.Parse(text, "m.jsonl");
        var first = log.Records[0];
        Assert.Equal((10L, 40960.0, 5.5, 0.0003, 4.5, 4.0, 0.5, 1.25, 8000.0, "keyword"),
            (first.Step, first.Tokens, first.WallSeconds, first.Lr, first.Loss, first.DenoiserNll, first.AnchorNll, first.GradNorm, first.TokensPerSecond, first.Strategy));
        Assert.False(first.HasValidation);
        Assert.True(log.Records[1].HasValidation);
        Assert.Equal(3.75, log.Records[1].ValidNelbo);
        Assert.True(double.IsNaN(log.Records[1].Loss));
        Assert.True(double.IsNaN(log.Records[1].Lr));
        Assert.Empty(log.Warnings);
    }

    [Fact]
    public void CrlfLinesAndBlankLinesAreAccepted()
    {
        var log = RunMetrics.Parse(SyntheticRun.Line(1) + "\r\n\r\n" + SyntheticRun.Line(2) + "\r\n", "m.jsonl");
        Assert.Equal(2, log.Records.Count);
        Assert.Empty(log.Warnings);
    }

    [Theory]
    [InlineData("{\"step\":1}\nnot json\n{\"step\":3}\n", "m.jsonl:2: not valid JSON")]
    [InlineData("{\"step\":1}\n{\"loss\":2.5}\n", "m.jsonl:2: missing \"step\"")]
    [InlineData("{\"step\":1.5}\n", "m.jsonl:1: \"step\" must be an integer, found 1.5")]
    [InlineData("{\"step\":\"7\"}\n", "m.jsonl:1: \"step\" must be an integer, found \"7\"")]
    [InlineData("{\"step\":-1}\n", "m.jsonl:1: \"step\" must not be negative")]
    [InlineData("{\"step\":1,\"loss\":\"high\"}\n", "m.jsonl:1: \"loss\" must be a number, found \"high\"")]
    [InlineData("{\"step\":1,\"strategy\":3}\n", "m.jsonl:1: \"strategy\" must be a string, found 3")]
    [InlineData("{\"step\":1}\n[1,2]\n", "m.jsonl:2: expected a JSON object, found an array")]
    [InlineData("{\"step\":1}\n{\"step\":2,\"lo\n{\"step\":3}\n", "m.jsonl:2: not valid JSON")]
    public void MalformedLinesNameFileAndLine(string text, string expectedStart)
    {
        var error = Assert.Throws<PlotException>(() => RunMetrics.Parse(text, "m.jsonl"));
        Assert.StartsWith(expectedStart, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n  \n")]
    public void EmptyFileIsAnError(string text)
    {
        var error = Assert.Throws<PlotException>(() => RunMetrics.Parse(text, "r/metrics.jsonl"));
        Assert.Equal("r/metrics.jsonl is empty: no metrics were logged yet", error.Message);
    }

    [Fact]
    public void OnlyAnUnfinishedLineIsAnError()
    {
        var error = Assert.Throws<PlotException>(() => RunMetrics.Parse("{\"step\":1,\"lo", "r/metrics.jsonl"));
        Assert.Equal("r/metrics.jsonl has no complete record", error.Message);
    }
}
