using AnCoder.Diffusion.Configuration;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using AnCoder.Anchoring.Shards;
using AnCoder.Reporting.Plotting;
using AnCoder.Diffusion.Probing;
using AnCoder.Diffusion.Runtime;
using AnCoder.Diffusion.Schedules;
using Spectre.Console;
using TorchSharp;

namespace AnCoder.Cli.Commands;

/// <summary>
/// <c>ancoder probe --model DIR</c>: the AST probe of the paper's §4.2 / Figure 5 (docs/algorithms.md §8): on held-out
/// samples, mask an identifier and its ancestor chain, reveal k = 0..K hints in-out, out-in or at random, and record
/// the model's probability and argmax accuracy of the true identifier token. Writes probe.csv, probe.png
/// (probability), probe-accuracy.png, probe-paired.csv (in-out − out-in and out-in − random on the same
/// noise draws) and probe.json (settings and counts).
/// </summary>
public static class ProbeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder (config.json + model.safetensors [+ tokenizer]); random:<preset> = untrained weights.", Required = true };
        var data = new Option<string?>("--data") { Description = "Folder written by `ancoder prepare`: its `test` split is probed (default data/prepared unless --files is given)." };
        var files = new Option<string?>("--files") { Description = "Probe the *.py files under this folder instead of a prepared corpus." };
        var samples = new Option<int>("--samples") { Description = "Held-out samples to probe (one target each).", DefaultValueFactory = _ => 200 };
        var k = new Option<int>("--k") { Description = "Chain length K: targets need K ancestors with a token of their own; k = 0..K hints are revealed.", DefaultValueFactory = _ => 4 };
        var tGrid = new Option<string>("--t-grid") { Description = "Noise levels t (comma-separated, in (0, 1]); one noise draw per sample and t.", DefaultValueFactory = _ => "0.3,0.5,0.7" };
        var seed = new Option<int>("--seed") { Description = "Seed for sample order, targets, noise and the random order.", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "Output folder for probe.csv, probe.png, probe-accuracy.png, probe.json.", DefaultValueFactory = _ => "probe" };
        var context = new Option<int>("--context") { Description = "Tokens of a sample shown to the model (longer samples are cut; targets lie inside).", DefaultValueFactory = _ => 256 };
        var batch = new Option<int>("--batch") { Description = "Queries per forward pass.", DefaultValueFactory = _ => 32 };
        var precision = SettingOption.Create("--precision", "Activation dtype:", Precision.Fp32);
        var threads = new Option<int>("--threads") { Description = "Torch threads (0 = torch's default).", DefaultValueFactory = _ => 0 };
        var command = new Command("probe", "AST probe (paper §4.2, Figure 5): does revealing a token's AST ancestors nearest-first (in-out) help predict it more than farthest-first (out-in) or random hints?");
        foreach (var option in new Option[] { model, data, files, samples, k, tGrid, seed, output, context, batch, precision, threads })
            command.Options.Add(option);
        command.SetAction(parse =>
        {
            if (!TryParseGrid(parse.GetValue(tGrid)!, out var grid)) return Fail($"--t-grid {parse.GetValue(tGrid)}: expected comma-separated numbers such as 0.3,0.5,0.7");
            var options = new ProbeOptions
            {
                Samples = parse.GetValue(samples), K = parse.GetValue(k), TimeGrid = grid, Seed = parse.GetValue(seed),
                ContextLength = parse.GetValue(context), BatchSize = parse.GetValue(batch),
            };
            var problems = options.Validate();
            if (problems.Count > 0) return Fail(string.Join("; ", problems));
            string? filesDir = parse.GetValue(files), dataDir = parse.GetValue(data);
            if (filesDir is not null && dataDir is not null) return Fail("give either --data or --files, not both");
            if (filesDir is not null && !Directory.Exists(filesDir)) return Fail($"--files {filesDir}: no such folder");
            dataDir ??= filesDir is null ? RepositoryPaths.DefaultPreparedData : null;
            if (dataDir is not null && !File.Exists(Path.Combine(dataDir, "manifest.json")))
                return Fail($"--data {dataDir}: no manifest.json (run `ancoder prepare`, or give --files DIR)");
            TorchRuntime.Initialize();
            if (parse.GetValue(threads) > 0) torch.set_num_threads(parse.GetValue(threads));
            if (!LoadedModel.TryLoad(parse.GetValue(model)!, parse.GetValue(precision), out var loaded, out string? error)) return Fail(error!);
            using var _ = loaded!.Model;
            try
            {
                ProbeMeasurement.Outcome? outcome = null;
                AnsiConsole.Progress().AutoClear(false)
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                    .Start(context =>
                    {
                        ProgressTask? task = null;
                        outcome = ProbeMeasurement.Measure(loaded, dataDir, filesDir, options, parse.GetValue(output)!, (done, total) =>
                        {
                            task ??= context.AddTask($"probing ({total} queries)", maxValue: total);
                            task.Value = done;
                        });
                    });
                if (outcome is null)
                    return Fail($"no sample had an identifier with {options.K} ancestors (and enough noise) — try a smaller --k or a higher t");
                PrintSummary(outcome.Rows, options, outcome.Summary, outcome.Mismatched);
                PrintDifferences(outcome.Differences);
                foreach (string file in outcome.Files) AnsiConsole.MarkupLine($"wrote [green]{Markup.Escape(file)}[/]");
                return 0;
            }
            catch (Exception e) when (e is ShardFormatException or IOException or UnauthorizedAccessException)
            {
                return Fail(e.Message);
            }
        });
        return command;
    }

    internal static bool TryParseGrid(string text, out double[] grid)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        grid = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out grid[i])) return false;
        return parts.Length > 0;
    }

    private static void PrintSummary(List<ProbeRow> rows, ProbeOptions options, ProbePlanSummary summary, int mismatched)
    {
        AnsiConsole.MarkupLine($"{summary.SamplesUsed} samples probed ({summary.SamplesWithoutTarget} without a target"
            + (mismatched > 0 ? $", {mismatched} not re-encodable" : "") + $"); skipped noise draws per t: {string.Join(", ", summary.SkippedDraws)}");
        foreach (var group in rows.GroupBy(r => r.T))
        {
            var table = new Table { Title = new TableTitle($"t = {group.Key.ToString(CultureInfo.InvariantCulture)}: p(target) ± SE  /  accuracy") };
            table.AddColumn("k");
            foreach (var order in ProbeSelection.Orders) table.AddColumn(new TableColumn(ProbeSelection.Name(order)).RightAligned());
            for (int hints = 0; hints <= options.K; hints++)
            {
                var cells = new List<string> { hints.ToString(CultureInfo.InvariantCulture) };
                foreach (var order in ProbeSelection.Orders)
                {
                    var row = group.First(r => r.Order == order && r.Hints == hints);
                    cells.Add(string.Create(CultureInfo.InvariantCulture, $"{row.MeanProbability:F4} ± {row.ProbabilityError:F4} / {row.Accuracy:F3} (n={row.N})"));
                }
                table.AddRow(cells.Select(Markup.Escape).ToArray());
            }
            AnsiConsole.Write(table);
        }
    }

    /// <summary>One line per comparison and t: the paired differences for k = 1..K−1 (k = K reveals the same set in both chain orders).</summary>
    private static void PrintDifferences(List<ProbeDifference> differences)
    {
        AnsiConsole.MarkupLine("paired differences of p(target) on the same noise draw (mean ± SE), k = 1, 2, …:");
        foreach (var group in differences.GroupBy(d => (d.Better, d.Worse, d.T)))
        {
            string cells = string.Join("  ", group.OrderBy(d => d.Hints).Select(d =>
                string.Create(CultureInfo.InvariantCulture, $"k={d.Hints}: {(d.MeanDifference >= 0 ? "+" : "")}{d.MeanDifference:0.0000} ± {d.StandardError:0.0000}")));
            Console.WriteLine($"  {ProbeSelection.Name(group.Key.Better)} − {ProbeSelection.Name(group.Key.Worse)} at t = {group.Key.T.ToString(CultureInfo.InvariantCulture)}: {cells}");
        }
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"ancoder probe: {message}");
        return 2;
    }
}
