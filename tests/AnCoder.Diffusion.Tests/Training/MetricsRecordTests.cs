using AnCoder.Anchoring.Runs;
using System.Text.Json;
using AnCoder.Diffusion.Training;

namespace AnCoder.Diffusion.Tests.Training;

public sealed class MetricsRecordTests
{
    [Fact]
    public void FiniteValuesAreWrittenUnderTheirSnakeCaseKeys()
    {
        var line = new MetricsRecord(20, 40960, 12.5, 1e-3, 7.25, 7.0, 0.25, 1.5, 3276.8, 6.5, "anchortree").ToJsonLine();
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        Assert.Equal(20, root.GetProperty("step").GetInt64());
        Assert.Equal(7.25, root.GetProperty("loss").GetDouble());
        Assert.Equal(0.25, root.GetProperty("anchor_nll").GetDouble());
        Assert.Equal(6.5, root.GetProperty("valid_nelbo").GetDouble());
        Assert.Equal("anchortree", root.GetProperty("strategy").GetString());
    }

    [Fact]
    public void NonFiniteValuesBecomeNullInsteadOfThrowing()
    {
        var line = new MetricsRecord(5, 10240, 3, 1e-3, double.NaN, double.PositiveInfinity, 0.5, double.NaN, 100, double.NaN, "mdlm").ToJsonLine();
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        Assert.Equal(JsonValueKind.Null, root.GetProperty("loss").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("denoiser_nll").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("grad_norm").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("valid_nelbo").ValueKind);
        Assert.Equal(0.5, root.GetProperty("anchor_nll").GetDouble());
    }
}
