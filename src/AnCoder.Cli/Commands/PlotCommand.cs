using System.CommandLine;
using AnCoder.Reporting.Plotting;
using Spectre.Console;

namespace AnCoder.Cli.Commands;

/// <summary>
/// <c>ancoder plot RUN_DIR [RUN_DIR...] [--out DIR] [--x step|tokens|time] [--smooth N] [--log-y] [--compare]</c>:
/// PNG curves of training runs (loss and its parts, validation NELBO, LR, grad norm; several runs overlaid) and
/// metrics.csv; <c>--compare</c> adds the final/min validation NELBO table (terminal + compare.md).
/// </summary>
public static class PlotCommand
{
    public static Command Create()
    {
        var runs = new Argument<string[]>("run-dirs")
        {
            Description = "Training run folders (each holds metrics.jsonl and config.json, as written by `ancoder train`). Several folders are overlaid in one plot per metric.",
            Arity = ArgumentArity.OneOrMore,
        };
        var output = new Option<string?>("--out") { Description = "Output folder for the PNGs and metrics.csv. Default: RUN_DIR/plots for one run, ./plots for several." };
        var xAxis = new Option<string>("--x") { Description = "X axis: step, tokens (training tokens seen) or time (wall clock).", DefaultValueFactory = _ => "step" };
        var smooth = new Option<int>("--smooth") { Description = "Trailing moving average over N logged points for the loss curves and grad norm (1 = raw; the raw curve stays faint behind).", DefaultValueFactory = _ => 1 };
        var logY = new Option<bool>("--log-y") { Description = "Logarithmic y axis." };
        var width = new Option<int>("--width") { Description = "Image width in pixels.", DefaultValueFactory = _ => PlotOptions.Default.Width };
        var height = new Option<int>("--height") { Description = "Image height in pixels.", DefaultValueFactory = _ => PlotOptions.Default.Height };
        var compare = new Option<bool>("--compare") { Description = $"Also print a table of each run's final and minimum validation NELBO and write it as markdown ({RunComparison.FileName} in the output folder)." };
        var command = new Command("plot", "Plot training runs: loss (+ denoiser/anchor parts), validation NELBO, learning rate and gradient norm as PNGs, plus metrics.csv.");
        command.Arguments.Add(runs);
        foreach (var option in new Option[] { output, xAxis, smooth, logY, width, height, compare }) command.Options.Add(option);
        command.SetAction(parse =>
        {
            string[] runDirs = parse.GetValue(runs) ?? [];
            try
            {
                var options = new PlotOptions(PlotOptions.ParseXAxis(parse.GetValue(xAxis)!), parse.GetValue(smooth), parse.GetValue(logY),
                    parse.GetValue(width), parse.GetValue(height));
                string outDir = parse.GetValue(output) ?? (runDirs.Length == 1 ? Path.Combine(runDirs[0], RunPlots.RunPlotsFolder) : "plots");
                var result = RunPlots.Write(runDirs, outDir, options);
                foreach (string warning in result.Warnings)
                    Console.Error.WriteLine($"ancoder plot: warning: {warning}");
                foreach (var run in result.Runs)
                    AnsiConsole.MarkupLine($"[bold]{Markup.Escape(run.Label)}[/]: {run.Records.Count} records up to step {run.Records[^1].Step}, "
                        + $"{run.Records.Count(r => r.HasValidation)} with validation");
                foreach (string file in result.Files)
                    AnsiConsole.MarkupLine($"wrote [green]{Markup.Escape(file)}[/]");
                if (parse.GetValue(compare)) Compare(result.Runs, outDir);
                return 0;
            }
            catch (PlotException e)
            {
                Console.Error.WriteLine($"ancoder plot: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    private static void Compare(IReadOnlyList<RunData> runs, string outDir)
    {
        var rows = runs.Select(RunComparison.Summarize).ToList();
        var table = new Table();
        foreach (var (header, i) in RunComparison.Headers.Select((h, i) => (h, i)))
            table.AddColumn(i < 2 ? new TableColumn(header) : new TableColumn(header).RightAligned());
        foreach (var row in rows) table.AddRow(RunComparison.Cells(row).Select(Markup.Escape).ToArray());
        AnsiConsole.Write(table);
        string path = Path.Combine(outDir, RunComparison.FileName);
        RunPlots.WriteAtomically(path, System.Text.Encoding.UTF8.GetBytes(RunComparison.Markdown(rows)));
        AnsiConsole.MarkupLine($"wrote [green]{Markup.Escape(path)}[/]");
    }
}
