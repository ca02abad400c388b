using System.CommandLine;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Runtime;
using AnCoder.Experiments;
using AnCoder.Experiments.Benchmarks;

namespace AnCoder.Cli.Commands;

/// <summary><c>ancoder bench ar-decode</c>: KV-cached AR decoding tokens/s beside PyTorch (docs/recipe.md §2; <see cref="ArDecodeBenchmark"/>).</summary>
public static class BenchArDecodeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "An AR model folder (train --objective ar) or a preset (tiny, small): random weights of that shape.", DefaultValueFactory = _ => "small" };
        var batches = new Option<int[]>("--batch") { Description = "Batch sizes (repeatable).", DefaultValueFactory = _ => [1, 20] };
        var prompt = new Option<int>("--prompt") { Description = "Prompt tokens.", DefaultValueFactory = _ => 64 };
        var newTokens = new Option<int>("--new") { Description = "Tokens generated per row.", DefaultValueFactory = _ => 128 };
        var rounds = BenchOptions.Rounds(3, "Timed rounds (median), after one warm-up.");
        var threads = BenchOptions.Threads();
        var precision = new Option<string>("--precision") { Description = "fp32 or bf16 (both sides).", DefaultValueFactory = _ => "fp32" };
        precision.AcceptOnlyFromAmong("fp32", "bf16");
        var noTorch = BenchOptions.NoTorch("bench/ar_decode_torch.py");
        var command = new Command("ar-decode", "Autoregressive decoding tokens/s with a KV cache at batch 1 and 20, beside PyTorch on the same model.");
        foreach (var option in new Option[] { model, batches, prompt, newTokens, rounds, threads, precision, noTorch }) command.Options.Add(option);
        command.SetAction(parse =>
        {
            string? script = RepositoryPaths.FindRoot() is { } root && !parse.GetValue(noTorch) ? Path.Combine(root, "bench", "ar_decode_torch.py") : null;
            try
            {
                TorchRuntime.Initialize();
                ArDecodeBenchmark.Run(parse.GetValue(model)!, parse.GetValue(batches)!, Math.Max(1, parse.GetValue(prompt)), Math.Max(1, parse.GetValue(newTokens)),
                    Math.Max(1, parse.GetValue(rounds)), Math.Max(1, parse.GetValue(threads)), parse.GetValue(precision)!, script is not null && File.Exists(script) ? script : null, Console.Out);
                return 0;
            }
            catch (Exception e) when (e is ConfigException or AnCoder.Diffusion.Checkpoints.CheckpointException or IOException or ArgumentException)
            {
                Console.Error.WriteLine($"ancoder bench ar-decode: {e.Message}");
                return 2;
            }
        });
        return command;
    }
}
