using AnCoder.Anchoring.Runs;
using System.Text.Json;

namespace AnCoder.Reporting.Plotting;

/// <summary>A training run folder as the plots see it: its name, strategy (config.json's "strategy", else the metrics'
/// "strategy") and its metrics.</summary>
public sealed record RunData(string Directory, string Name, string Strategy, RunMetrics Metrics, IReadOnlyList<string> Warnings)
{
    public const string ConfigFile = "config.json";

    /// <summary>The legend label: strategy and folder name, e.g. "anchortree (small-at-1)".</summary>
    public string Label => $"{Strategy} ({Name})";

    public IReadOnlyList<MetricsRecord> Records => Metrics.Records;

    /// <summary>Loads a run folder; throws <see cref="PlotException"/> when the folder or its metrics.jsonl is missing,
    /// empty or malformed. A missing or unreadable config.json is only a warning: the metrics carry the strategy too.</summary>
    public static RunData Load(string directory)
    {
        string trimmed = Path.TrimEndingDirectorySeparator(directory);
        if (File.Exists(trimmed)) throw new PlotException($"{directory} is a file; give the run folder that holds {RunMetrics.FileName}");
        if (!System.IO.Directory.Exists(trimmed)) throw new PlotException($"run folder not found: {directory}");
        string metricsPath = Path.Combine(trimmed, RunMetrics.FileName);
        if (!File.Exists(metricsPath))
            throw new PlotException($"{directory} has no {RunMetrics.FileName} (is it a training run folder? `ancoder train` writes one per run)");
        var metrics = RunMetrics.Read(metricsPath);
        var warnings = new List<string>(metrics.Warnings);
        string? strategy = ReadConfigStrategy(Path.Combine(trimmed, ConfigFile), warnings)
                        ?? metrics.Records.Select(r => r.Strategy).LastOrDefault(s => !string.IsNullOrEmpty(s));
        string name = Path.GetFileName(Path.GetFullPath(trimmed));
        return new RunData(trimmed, name, strategy ?? "unknown strategy", metrics, warnings);
    }

    private static string? ReadConfigStrategy(string path, List<string> warnings)
    {
        if (!File.Exists(path))
        {
            warnings.Add($"{path} not found; the strategy comes from the metrics");
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("strategy", out var strategy) && strategy.ValueKind == JsonValueKind.String)
                return strategy.GetString();
            warnings.Add($"{path}: no \"strategy\" string; the strategy comes from the metrics");
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            warnings.Add($"{path}: unreadable ({e.Message.Split(". ")[0]}); the strategy comes from the metrics");
        }
        return null;
    }
}
