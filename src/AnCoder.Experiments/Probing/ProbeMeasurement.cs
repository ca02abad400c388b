using System.Globalization;
using System.Text.Json;
using AnCoder.Diffusion.Probing;
using AnCoder.Diffusion.Schedules;
using AnCoder.Experiments.Models;
using AnCoder.Reporting.Plotting;

namespace AnCoder.Experiments.Probing;

/// <summary>
/// The AST probe of one model (paper §4.2, Figure 5; docs/algorithms.md §8): runs the queries of
/// <see cref="ProbePlan"/> and writes probe.csv, probe-paired.csv, probe.png, probe-accuracy.png and probe.json.
/// Used by <c>ancoder probe</c> and by <c>ancoder repro</c>.
/// </summary>
public static class ProbeMeasurement
{
    /// <summary>The paired differences a probe writes (and <c>repro</c> reads back).</summary>
    public const string PairedCsvFileName = "probe-paired.csv";

    /// <summary>What one probe of one model produced (also written to its output folder).</summary>
    public sealed record Outcome(List<ProbeRow> Rows, List<ProbeDifference> Differences, ProbePlanSummary Summary, int Mismatched, List<string> Files);

    /// <summary>
    /// Probes one model on the test split of a prepared corpus (or on *.py files) and writes probe.csv, probe-paired.csv,
    /// probe.png, probe-accuracy.png and probe.json into <paramref name="outDir"/>; null when no sample had a target.
    /// <paramref name="progress"/> receives (queries done, queries in all).
    /// </summary>
    public static Outcome? Measure(LoadedModel loaded, string? dataDir, string? filesDir, ProbeOptions options, string outDir,
        Action<int, int>? progress = null)
    {
        var config = loaded.Config;
        if (options.ContextLength > config.MaxPositionEmbeddings) options = options with { ContextLength = config.MaxPositionEmbeddings };
        int mismatched = 0;
        var sources = dataDir is not null
            ? ProbeSamples.FromPrepared(dataDir, loaded.Tokenizer, options.Seed, () => mismatched++)
            : ProbeSamples.FromFiles(filesDir!, loaded.Tokenizer, options.Seed);
        var (queries, summary) = ProbePlan.Build(sources, options, NoiseSchedules.From(config.Diffusion), config.MaskTokenId);
        if (queries.Count == 0) return null;
        var observations = ProbeRunner.Run(loaded.Model, queries, options.BatchSize, done => progress?.Invoke(done, queries.Count));
        var rows = ProbeResults.Aggregate(observations, options.TimeGrid, options.K);
        var differences = ProbeResults.PairedDifferences(observations, options.TimeGrid, options.K);
        var written = Write(outDir, rows, options, summary, mismatched, loaded.Name, dataDir ?? filesDir!);
        RunPlots.WriteAtomically(Path.Combine(outDir, PairedCsvFileName), System.Text.Encoding.UTF8.GetBytes(ProbeResults.ToPairedCsv(differences)));
        written.Add(Path.Combine(outDir, PairedCsvFileName));
        return new Outcome(rows, differences, summary, mismatched, written);
    }

    /// <summary>The figure's panels, one per t, from the CSV rows (probability or accuracy).</summary>
    public static List<ProbePanel> Panels(IReadOnlyList<ProbeRow> rows, bool accuracy) =>
        rows.GroupBy(r => r.T).Select(group => new ProbePanel(
            $"t = {group.Key.ToString(CultureInfo.InvariantCulture)}",
            accuracy ? "argmax accuracy of the target" : "p(target token)",
            group.GroupBy(r => r.Order).Select(order =>
            {
                var sorted = order.OrderBy(r => r.Hints).ToList();
                return new ProbeCurve(ProbeSelection.Name(order.Key), sorted.Select(r => (double)r.Hints).ToArray(),
                    sorted.Select(r => accuracy ? r.Accuracy : r.MeanProbability).ToArray(),
                    sorted.Select(r => accuracy ? r.AccuracyError : r.ProbabilityError).ToArray());
            }).ToList())).ToList();

    private static List<string> Write(string outDir, List<ProbeRow> rows, ProbeOptions options, ProbePlanSummary summary, int mismatched,
        string modelName, string source)
    {
        Directory.CreateDirectory(outDir);
        var written = new List<string>();
        void Save(string name, byte[] bytes)
        {
            string path = Path.Combine(outDir, name);
            RunPlots.WriteAtomically(path, bytes);
            written.Add(path);
        }
        Save("probe.csv", System.Text.Encoding.UTF8.GetBytes(ProbeResults.ToCsv(rows)));
        Save("probe.png", ProbePlot.RenderPng(Panels(rows, accuracy: false), 520, 420));
        Save("probe-accuracy.png", ProbePlot.RenderPng(Panels(rows, accuracy: true), 520, 420));
        var settings = new
        {
            model = modelName, source, samples_requested = options.Samples, samples_used = summary.SamplesUsed,
            samples_without_target = summary.SamplesWithoutTarget, samples_not_reencoded = mismatched,
            k = options.K, t_grid = options.TimeGrid, skipped_draws_per_t = summary.SkippedDraws, seed = options.Seed,
            context = options.ContextLength,
        };
        Save("probe.json", JsonSerializer.SerializeToUtf8Bytes(settings, new JsonSerializerOptions { WriteIndented = true }));
        return written;
    }

}
