using System.CommandLine;
using System.Globalization;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Runtime;
using AnCoder.Experiments;
using AnCoder.Experiments.Benchmarks;
using TorchSharp;

namespace AnCoder.Cli.Commands;

/// <summary>
/// <c>ancoder bench ar-decode</c>: autoregressive decoding tokens/s with the KV cache (docs/recipe.md §2) at each
/// batch size, beside the same model and algorithm in PyTorch (bench/ar_decode_torch.py with /usr/bin/python3):
/// greedy, end-of-text ignored (every row decodes --new tokens), prompt run once and its cache shared, median of rounds.
/// </summary>
public static class BenchArDecodeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "An AR model folder (train --objective ar) or a preset (tiny, small): random weights of that shape.", DefaultValueFactory = _ => "small" };
        var batches = new Option<string>("--batches") { Description = "Comma-separated batch sizes.", DefaultValueFactory = _ => "1,20" };
        var prompt = new Option<int>("--prompt") { Description = "Prompt tokens.", DefaultValueFactory = _ => 64 };
        var newTokens = new Option<int>("--new") { Description = "Tokens generated per row.", DefaultValueFactory = _ => 128 };
        var rounds = new Option<int>("--rounds") { Description = "Timed rounds (median reported), after one warm-up.", DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads") { Description = "Torch threads on both sides.", DefaultValueFactory = _ => 2 };
        var precision = new Option<string>("--precision") { Description = "fp32 or bf16 (both sides).", DefaultValueFactory = _ => "fp32" };
        precision.AcceptOnlyFromAmong("fp32", "bf16");
        var noTorch = new Option<bool>("--no-torch") { Description = "Only time ours." };
        var command = new Command("ar-decode", "Autoregressive decoding tokens/s with a KV cache at batch 1 and 20, beside PyTorch on the same model.");
        foreach (var option in new Option[] { model, batches, prompt, newTokens, rounds, threads, precision, noTorch }) command.Options.Add(option);
        command.SetAction(parse =>
        {
            int[] batchList;
            try
            {
                batchList = parse.GetValue(batches)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : throw new FormatException($"--batches: '{s}' is not a positive integer")).ToArray();
            }
            catch (FormatException e)
            {
                Console.Error.WriteLine($"ancoder bench ar-decode: {e.Message}");
                return 2;
            }
            if (parse.GetValue(prompt) < 1 || parse.GetValue(newTokens) < 1)
            {
                Console.Error.WriteLine("ancoder bench ar-decode: --prompt and --new must be at least 1");
                return 2;
            }
            TorchRuntime.Initialize();
            return Run(parse.GetValue(model)!, batchList, parse.GetValue(prompt), parse.GetValue(newTokens), Math.Max(1, parse.GetValue(rounds)),
                Math.Max(1, parse.GetValue(threads)), parse.GetValue(precision)!, parse.GetValue(noTorch));
        });
        return command;
    }

    private static int Run(string source, int[] batches, int promptLength, int newTokens, int rounds, int threads, string precision, bool skipTorch)
    {
        string? script = RepositoryPaths.FindRoot() is { } root && !skipTorch ? Path.Combine(root, "bench", "ar_decode_torch.py") : null;
        try
        {
            ArDecodeBenchmark.Run(source, batches, promptLength, newTokens, rounds, threads, precision, script is not null && File.Exists(script) ? script : null, Console.Out);
            return 0;
        }
        catch (Exception e) when (e is ConfigException or AnCoder.Diffusion.Checkpoints.CheckpointException or IOException or ArgumentException)
        {
            Console.Error.WriteLine($"ancoder bench ar-decode: {e.Message}");
            return 2;
        }
    }
}
