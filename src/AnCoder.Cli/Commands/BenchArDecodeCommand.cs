using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AnCoder.Anchoring.Tokenization;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Runtime;
using AnCoder.Diffusion.Sampling;
using TorchSharp;

namespace AnCoder.Cli.Commands;

/// <summary>
/// <c>ancoder bench ar-decode</c>: autoregressive decoding tokens/s with the KV cache (docs/recipe.md §2) at each
/// batch size, beside the same model and algorithm in PyTorch (bench/ar_decode_torch.py with /usr/bin/python3):
/// greedy, end-of-text ignored (every row decodes --new tokens), prompt run once and its cache shared, median of rounds.
/// </summary>
public static class BenchArDecodeCommand
{
    private const string PythonWithTorch = "/usr/bin/python3";

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
        torch.set_num_threads(threads);
        CausalLmModel model;
        try
        {
            if (Directory.Exists(source))
            {
                var loaded = AnCoder.Diffusion.Checkpoints.ModelCheckpoint.Load(source);
                if (loaded is not CausalLmModel causal)
                {
                    loaded.Dispose();
                    Console.Error.WriteLine($"ancoder bench ar-decode: {source} is not an autoregressive model (train --objective ar)");
                    return 2;
                }
                model = causal;
            }
            else
            {
                torch.manual_seed(0);
                model = (CausalLmModel)DiffusionModel.Create(ModelPresets.Get(source) with { Architecture = Architecture.Causal });
            }
        }
        catch (Exception e) when (e is ConfigException or AnCoder.Diffusion.Checkpoints.CheckpointException or IOException)
        {
            Console.Error.WriteLine($"ancoder bench ar-decode: {e.Message}");
            return 2;
        }
        using var _ = model;
        model.eval();
        model.ComputeType = precision == "bf16" ? torch.ScalarType.BFloat16 : torch.ScalarType.Float32;
        var config = model.Config;
        if (promptLength + newTokens > config.MaxPositionEmbeddings)
        {
            Console.Error.WriteLine($"ancoder bench ar-decode: --prompt + --new exceed max_position_embeddings ({config.MaxPositionEmbeddings})");
            return 2;
        }
        var random = new Random(0);
        var promptIds = Enumerable.Range(0, promptLength).Select(_ => random.Next(3, Math.Min(config.VocabSize, 8192))).ToArray();
        var sampler = new AutoregressiveSampler(model, DefaultTokenizer.Load());
        string configPath = Path.Combine(Path.GetTempPath(), $"ancoder-bench-ar-{Environment.ProcessId}.json");
        File.WriteAllText(configPath, config.ToJson());
        string? script = RepositoryPaths.FindRoot() is { } root ? Path.Combine(root, "bench", "ar_decode_torch.py") : null;
        Console.WriteLine($"{source}: {model.ParameterCount():N0} parameters, {precision}, prompt {promptLength} tokens, {newTokens} new tokens per row, greedy, " +
                          $"{threads} threads, median of {rounds} rounds");
        Console.WriteLine($"{"batch",5}  {"ours tok/s",11}  {"outside net",11}  {"pytorch tok/s",13}  {"ratio",6}");
        try
        {
            foreach (int batch in batches)
            {
                var seeds = Enumerable.Range(0, batch).ToList();
                var options = new AutoregressiveOptions { Temperature = 0, MaxNewTokens = newTokens, IgnoreEndOfText = true };
                sampler.Sample(promptIds, seeds, options with { MaxNewTokens = Math.Min(8, newTokens) }); // warm-up
                var runs = new List<AutoregressiveStatistics>();
                for (int round = 0; round < rounds; round++)
                {
                    sampler.Sample(promptIds, seeds, options);
                    runs.Add(sampler.LastRun!);
                }
                var median = runs.OrderBy(r => r.TotalSeconds).ElementAt(runs.Count / 2);
                double ours = (double)batch * newTokens / median.TotalSeconds;
                double outside = 1 - median.NetworkSeconds / median.TotalSeconds;
                double? theirs = skipTorch || script is null || !File.Exists(script) ? null
                    : MeasureTorch(script, configPath, batch, promptLength, newTokens, rounds, threads, precision);
                Console.WriteLine($"{batch,5}  {ours,11:N0}  {outside,10:P1}  {(theirs is { } t ? t.ToString("N0", CultureInfo.InvariantCulture) : "—"),13}  {(theirs is { } r ? (ours / r).ToString("F2", CultureInfo.InvariantCulture) : "—"),6}");
            }
        }
        finally
        {
            File.Delete(configPath);
        }
        return 0;
    }

    private static double? MeasureTorch(string script, string configPath, int batch, int prompt, int newTokens, int rounds, int threads, string precision)
    {
        var info = new ProcessStartInfo(File.Exists(PythonWithTorch) ? PythonWithTorch : "python3",
            [script, "--config", configPath, "--batch", batch.ToString(CultureInfo.InvariantCulture), "--prompt", prompt.ToString(CultureInfo.InvariantCulture),
             "--new", newTokens.ToString(CultureInfo.InvariantCulture), "--rounds", rounds.ToString(CultureInfo.InvariantCulture),
             "--threads", threads.ToString(CultureInfo.InvariantCulture), "--precision", precision])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment.Remove("LD_PRELOAD");
        try
        {
            using var process = Process.Start(info)!;
            var errors = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                Console.Error.WriteLine($"ancoder bench ar-decode: {Path.GetFileName(script)} exited with {process.ExitCode}: {errors.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()}");
                return null;
            }
            using var json = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
            return json.RootElement.GetProperty("tokens_per_second").GetDouble();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine("ancoder bench ar-decode: python3 not found (timing ours only)");
            return null;
        }
    }
}
