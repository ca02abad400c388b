using AnCoder.Anchoring.Settings;
using AnCoder.Diffusion.Configuration;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using AnCoder.Diffusion.Runtime;
using AnCoder.Experiments.Benchmarks;
using Spectre.Console;
using TorchSharp;

namespace AnCoder.Cli.Commands;

/// <summary><c>ancoder bench sample</c>: <see cref="SamplingBenchmark"/> over precisions, printed as a table.</summary>
public static class BenchSampleCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder or random:<preset> (speed does not depend on the weights).", DefaultValueFactory = _ => "random:tiny" };
        var steps = new Option<string>("--steps") { Description = "Comma-separated T values.", DefaultValueFactory = _ => "64,128,256" };
        var batches = new Option<string>("--batches") { Description = "Comma-separated batch sizes.", DefaultValueFactory = _ => "1,20" };
        var precisions = new Option<string>("--precisions") { Description = "Comma-separated: fp32, bf16.", DefaultValueFactory = _ => "fp32,bf16" };
        var length = new Option<int>("--length") { Description = "Generated tokens per sample (G).", DefaultValueFactory = _ => 128 };
        var rounds = BenchOptions.Rounds(1, "Timed rounds per configuration (median reported).");
        var output = new Option<string?>("--out") { Description = "Also write the results as JSON to this file." };
        var command = new Command("sample", "Sampler throughput over T × batch × precision × caching, and the share of time outside the networks.");
        foreach (var option in new Option[] { model, steps, batches, precisions, length, rounds, output }) command.Options.Add(option);
        command.SetAction(parse =>
        {
            int[] stepList, batchList;
            try
            {
                stepList = Numbers(parse.GetValue(steps)!);
                batchList = Numbers(parse.GetValue(batches)!);
            }
            catch (FormatException e)
            {
                Console.Error.WriteLine($"ancoder bench sample: {e.Message}");
                return 2;
            }
            var precisionList = parse.GetValue(precisions)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (precisionList.Any(p => !SettingNames.TryParse<Precision>(p, out _)))
            {
                Console.Error.WriteLine($"ancoder bench sample: --precisions takes {SettingNames.Choices<Precision>()}");
                return 2;
            }
            TorchRuntime.Initialize();
            return Run(parse.GetValue(model)!, stepList, batchList, precisionList, parse.GetValue(length), Math.Max(1, parse.GetValue(rounds)), parse.GetValue(output));
        });
        return command;
    }

    private static int[] Numbers(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : throw new FormatException($"'{s}' is not a positive integer")).ToArray();

    private static int Run(string modelSource, int[] stepList, int[] batchList, string[] precisionList, int length, int rounds, string? output)
    {
        var rows = new List<SamplingBenchmarkRow>();
        Console.WriteLine($"model {modelSource}, G = {length}, prompt = find_max signature + docstring, torch threads {torch.get_num_threads()}, {rounds} round(s), cached/uncached alternating");
        foreach (string precision in precisionList)
        {
            if (!LoadedModel.TryLoad(modelSource, SettingNames.Parse<Precision>(precision, "precision"), out var loaded, out string? error))
            {
                Console.Error.WriteLine($"ancoder bench sample: {error}");
                return 2;
            }
            using var _ = loaded!.Model;
            rows.AddRange(SamplingBenchmark.Measure(loaded, precision, stepList, batchList, length, rounds, row =>
                Console.WriteLine($"{precision} T={row.Steps,3} B={row.Batch,2} cache={(row.Caching ? "on " : "off")}: {row.Seconds,7:F2} s, {row.SamplesPerSecond,7:F2} samples/s, "
                    + $"{row.TokensPerSecond,8:F0} tokens/s, {row.NetworkCallsPerSample,4:F0} network calls, {100 * row.OutsideShare,5:F1}% outside the networks")));
        }
        var table = new Table().AddColumns("precision", "T", "batch", "cache", "s", "samples/s", "tokens/s", "network calls", "outside networks");
        foreach (var r in rows)
            table.AddRow(r.Precision, $"{r.Steps}", $"{r.Batch}", r.Caching ? "on" : "off", $"{r.Seconds:F2}", $"{r.SamplesPerSecond:F2}",
                $"{r.TokensPerSecond:F0}", $"{r.NetworkCallsPerSample:F0}", $"{100 * r.OutsideShare:F1}%");
        AnsiConsole.Write(table);
        if (output is not null)
        {
            File.WriteAllText(output, JsonSerializer.Serialize(new { model = modelSource, length, rounds, threads = torch.get_num_threads(), rows },
                new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
            Console.WriteLine($"results: {output}");
        }
        return 0;
    }
}
