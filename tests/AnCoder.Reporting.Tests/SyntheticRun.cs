using System.Globalization;
using System.Text;

namespace AnCoder.Reporting.Tests;

/// <summary>
/// SYNTHETIC run folders for the plotting tests: made-up numbers shaped like a training run (an exponentially falling
/// loss, warmup + cosine LR), NOT results of any training. Layout as the trainer writes it: config.json with
/// "strategy", metrics.jsonl with one JSON object per logging step, valid_nelbo only on validation steps.
/// </summary>
public sealed class SyntheticRun : IDisposable
{
    public string Root { get; }

    public SyntheticRun()
    {
        Root = Path.Combine(Path.GetTempPath(), "ancoder-plot-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }

    /// <summary>A made-up metrics line; <paramref name="valid"/> adds valid_nelbo.</summary>
    public static string Line(long step, string strategy = "anchortree", double? loss = null, double? valid = null, double anchorNll = 0.25)
    {
        double denoiser = loss is double l ? l - anchorNll : 2 + 6 * Math.Exp(-step / 50.0);
        double lr = 3e-4 * Math.Min(1, step / 10.0) * (0.1 + 0.45 * (1 + Math.Cos(Math.PI * step / 200.0)));
        var json = new StringBuilder();
        json.Append(CultureInfo.InvariantCulture, $"{{\"step\":{step},\"tokens\":{step * 4096},\"wall_seconds\":{step * 0.5:R},\"lr\":{lr:R},")
            .Append(CultureInfo.InvariantCulture, $"\"loss\":{denoiser + anchorNll:R},\"denoiser_nll\":{denoiser:R},\"anchor_nll\":{anchorNll:R},")
            .Append(CultureInfo.InvariantCulture, $"\"grad_norm\":{1 + 1.0 / step:R},\"tokens_per_second\":8192.0,\"strategy\":\"{strategy}\"");
        if (valid is double v) json.Append(CultureInfo.InvariantCulture, $",\"valid_nelbo\":{v:R}");
        return json.Append('}').ToString();
    }

    /// <summary>Writes folder <paramref name="name"/> with <paramref name="steps"/> logging steps (1..steps) and a
    /// validation every <paramref name="validEvery"/> steps; returns its path.</summary>
    public string Create(string name, string strategy = "anchortree", int steps = 40, int validEvery = 10, bool mdlmZeroAnchor = false)
    {
        var lines = new List<string>();
        for (int step = 1; step <= steps; step++)
        {
            double anchor = mdlmZeroAnchor ? 0 : 0.25;
            double? valid = step % validEvery == 0 ? 2.5 + 5 * Math.Exp(-step / 60.0) : null;
            lines.Add(Line(step, strategy, valid: valid, anchorNll: anchor));
        }
        return CreateRaw(name, string.Join('\n', lines) + "\n", strategy);
    }

    /// <summary>Writes folder <paramref name="name"/> with exactly this metrics.jsonl text (and a config.json unless
    /// <paramref name="strategy"/> is null).</summary>
    public string CreateRaw(string name, string metricsText, string? strategy = "anchortree")
    {
        string dir = Path.Combine(Root, name);
        Directory.CreateDirectory(dir);
        if (strategy != null) File.WriteAllText(Path.Combine(dir, "config.json"), $"{{\"strategy\":\"{strategy}\",\"note\":\"synthetic test run\"}}");
        File.WriteAllText(Path.Combine(dir, "metrics.jsonl"), metricsText);
        return dir;
    }
}
