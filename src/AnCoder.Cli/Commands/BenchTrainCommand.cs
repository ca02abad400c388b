using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AnCoder.Anchoring.Corpus;
using AnCoder.Anchoring.Shards;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Runtime;
using AnCoder.Diffusion.Training;

namespace AnCoder.Cli.Commands;

/// <summary>
/// <c>ancoder bench train</c>: training throughput of our trainer (the real <see cref="TrainingRun"/> loop on a
/// synthetic corpus) beside PyTorch (bench/train_torch.py: the same model, batch and step) for each model preset
/// and precision, alternating in rounds; each measurement is a fresh process so its peak RSS is its own.
/// Reports tokens/s, model GFLOP/s (<see cref="TrainingFlops"/>), the fraction of this CPU's peak and peak RSS.
/// </summary>
public static class BenchTrainCommand
{
    private sealed record Measurement(double TokensPerSecond, double PeakRssMb);

    public static Command Create()
    {
        var models = new Option<string>("--models") { Description = "Comma-separated model presets.", DefaultValueFactory = _ => "tiny,small" };
        var precisions = new Option<string>("--precisions") { Description = "Comma-separated precisions (fp32, bf16).", DefaultValueFactory = _ => "fp32,bf16" };
        var batch = new Option<int>("--batch") { Description = "Rows per step (micro-batch, no accumulation).", DefaultValueFactory = _ => 8 };
        var context = new Option<int>("--context") { Description = "Context length.", DefaultValueFactory = _ => 256 };
        var steps = new Option<int>("--steps") { Description = "Timed steps per measurement.", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed steps before timing.", DefaultValueFactory = _ => 3 };
        var rounds = new Option<int>("--rounds") { Description = "Alternating rounds (ours, PyTorch); medians are reported.", DefaultValueFactory = _ => 2 };
        var threads = new Option<int>("--threads") { Description = "Threads on both sides.", DefaultValueFactory = _ => 2 };
        var noTorch = new Option<bool>("--no-torch") { Description = "Only time our trainer." };
        var worker = new Option<bool>("--worker") { Description = "Internal: run one of our measurements and print JSON.", Hidden = true };
        var command = new Command("train", "Training tokens/s, model FLOP/s (fraction of CPU peak) and peak RSS of our trainer beside PyTorch (bench/train_torch.py), same model and batch.");
        foreach (var option in new Option[] { models, precisions, batch, context, steps, warmup, rounds, threads, noTorch, worker }) command.Options.Add(option);
        command.SetAction(parse =>
        {
            var modelNames = parse.GetValue(models)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var precisionNames = parse.GetValue(precisions)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (string name in modelNames)
                if (!ModelPresets.All.ContainsKey(name)) { Console.Error.WriteLine($"ancoder bench train: --models: unknown preset '{name}'"); return 2; }
            foreach (string name in precisionNames)
                if (!TrainingConfig.Precisions.Contains(name)) { Console.Error.WriteLine($"ancoder bench train: --precisions: '{name}' is not fp32 or bf16"); return 2; }
            var shape = new Shape(parse.GetValue(batch), parse.GetValue(context), parse.GetValue(steps), parse.GetValue(warmup), parse.GetValue(threads));
            if (shape.Batch <= 0 || shape.Context <= 0 || shape.Steps <= 0 || shape.Warmup < 0 || shape.Threads <= 0)
            {
                Console.Error.WriteLine("ancoder bench train: --batch, --context, --steps, --threads must be positive, --warmup >= 0");
                return 2;
            }
            if (parse.GetValue(worker)) return Worker(modelNames[0], precisionNames[0], shape);
            return Compare(modelNames, precisionNames, shape, Math.Max(1, parse.GetValue(rounds)), !parse.GetValue(noTorch));
        });
        return command;
    }

    private sealed record Shape(int Batch, int Context, int Steps, int Warmup, int Threads)
    {
        public string[] Arguments => ["--batch", $"{Batch}", "--context", $"{Context}", "--steps", $"{Steps}", "--warmup", $"{Warmup}", "--threads", $"{Threads}"];
    }

    private static int Compare(string[] models, string[] precisions, Shape shape, int rounds, bool withTorch)
    {
        string? root = RepositoryPaths.FindRoot();
        string script = Path.Combine(root ?? ".", "bench", "train_torch.py");
        if (withTorch && !File.Exists(script))
        {
            Console.Error.WriteLine($"ancoder bench train: {script} not found (run from the repository's ./ancoder, or give --no-torch)");
            return 2;
        }
        Console.WriteLine($"batch {shape.Batch} × context {shape.Context}, {shape.Warmup} warm-up + {shape.Steps} timed steps, {shape.Threads} threads, {rounds} alternating rounds (medians)");
        var cpuPeak = CpuPeak.ForThisMachine(shape.Threads);
        Console.WriteLine($"peak (from /proc/cpuinfo, {shape.Threads} threads): {cpuPeak.Describe()}");
        Console.WriteLine("model FLOPs/token = 6 × matmul weights (incl. unembeddings and softmax(a)·E_ψ) + 12 × L × heads × head_dim × layers");
        Console.WriteLine();
        Console.WriteLine($"{"model",-6} {"prec",-5} {"params",10} {"ours tok/s",11} {"GFLOP/s",8} {"%peak",6} {"RSS MB",7} | {"torch tok/s",11} {"GFLOP/s",8} {"%peak",6} {"RSS MB",7} | {"ratio",6}");
        string configDirectory = Directory.CreateTempSubdirectory("ancoder-bench-train-").FullName;
        try
        {
            foreach (string model in models)
            {
                var config = ModelPresets.Get(model);
                string configPath = Path.Combine(configDirectory, model + ".json");
                File.WriteAllText(configPath, config.ToJson());
                double flopsPerToken = TrainingFlops.PerToken(config, shape.Context);
                foreach (string precision in precisions)
                {
                    var ours = new List<Measurement>();
                    var theirs = new List<Measurement>();
                    for (int round = 0; round < rounds; round++)
                    {
                        var our = RunOurs(model, precision, shape);
                        if (our is null) return 1;
                        ours.Add(our);
                        if (withTorch)
                        {
                            var their = RunTorch(script, configPath, precision, shape);
                            if (their is null) return 1;
                            theirs.Add(their);
                        }
                    }
                    double peak = cpuPeak.PeakFlops(precision);
                    string Cells(List<Measurement> list)
                    {
                        if (list.Count == 0) return $"{"-",11} {"-",8} {"-",6} {"-",7}";
                        double rate = Median(list.Select(m => m.TokensPerSecond)), flops = rate * flopsPerToken;
                        return $"{rate,11:N0} {flops / 1e9,8:F1} {100 * flops / peak,5:F1}% {list.Max(m => m.PeakRssMb),7:F0}";
                    }
                    string ratio = theirs.Count == 0 ? "-" : $"{Median(ours.Select(m => m.TokensPerSecond)) / Median(theirs.Select(m => m.TokensPerSecond)):F2}x";
                    Console.WriteLine($"{model,-6} {precision,-5} {config.ParameterCount(),10:N0} {Cells(ours)} | {Cells(theirs)} | {ratio,6}");
                }
            }
        }
        finally
        {
            try { Directory.Delete(configDirectory, recursive: true); } catch (IOException) { }
        }
        Console.WriteLine();
        Console.WriteLine("ours: the TrainingRun loop (AdamW, clip 1.0, prefetching loader, ANELBO via DiffusionLoss) under the launcher's jemalloc; "
                          + "torch: Debian python3-torch, bench/train_torch.py (no jemalloc). RSS = peak of each process (max over rounds).");
        return 0;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static Measurement? RunOurs(string model, string precision, Shape shape)
    {
        string self = typeof(BenchTrainCommand).Assembly.Location;
        string host = Environment.ProcessPath ?? "dotnet";
        var arguments = new List<string>();
        if (Path.GetFileNameWithoutExtension(host) == "dotnet") arguments.Add(self);
        arguments.AddRange(["bench", "train", "--worker", "--models", model, "--precisions", precision, .. shape.Arguments]);
        return RunJson(new ProcessStartInfo(host, arguments), "our worker");
    }

    private static Measurement? RunTorch(string script, string configPath, string precision, Shape shape)
    {
        var info = new ProcessStartInfo("/usr/bin/python3", [script, "--config", configPath, "--precision", precision, .. shape.Arguments]);
        info.Environment.Remove("LD_PRELOAD");
        return RunJson(info, "bench/train_torch.py");
    }

    private static Measurement? RunJson(ProcessStartInfo info, string what)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        try
        {
            using var process = Process.Start(info)!;
            var errors = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            string? line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith('{'));
            if (process.ExitCode != 0 || line is null)
            {
                Console.Error.WriteLine($"ancoder bench train: {what} failed (exit {process.ExitCode}): {errors.Result.Trim().Split('\n').LastOrDefault()}");
                return null;
            }
            using var json = JsonDocument.Parse(line);
            return new Measurement(json.RootElement.GetProperty("tokens_per_second").GetDouble(), json.RootElement.GetProperty("peak_rss_mb").GetDouble());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Console.Error.WriteLine($"ancoder bench train: cannot start {info.FileName}: {e.Message}");
            return null;
        }
    }

    /// <summary>One of our measurements in this process: the real trainer on a synthetic corpus, steps timed after warm-up.</summary>
    private static int Worker(string model, string precision, Shape shape)
    {
        var config = ModelPresets.Get(model);
        string root = Directory.CreateTempSubdirectory("ancoder-bench-train-").FullName;
        try
        {
            string data = Path.Combine(root, "data");
            WriteSyntheticCorpus(data, config, (long)shape.Batch * shape.Context * (shape.Steps + shape.Warmup + 1));
            string modelPath = Path.Combine(root, "model.json");
            File.WriteAllText(modelPath, config.ToJson());
            var training = new TrainingConfig
            {
                ModelConfigFile = modelPath, Data = data, Output = Path.Combine(root, "run"), ContextLength = shape.Context,
                MicroBatch = shape.Batch, MaxSteps = shape.Warmup + shape.Steps, Precision = precision, Threads = shape.Threads,
                ValidationInterval = 0, ValidationBatches = 0, CheckpointInterval = 0, LogInterval = 1_000_000,
            };
            var timer = new StepTimer(shape.Warmup);
            TrainingRun.Run(training, timer);
            double seconds = timer.Seconds;
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["tokens_per_second"] = (double)shape.Steps * shape.Batch * shape.Context / seconds, ["seconds"] = seconds,
                ["peak_rss_mb"] = PeakRssMb(), ["threads"] = shape.Threads,
            }));
            return 0;
        }
        catch (Exception e) when (e is TrainingException or ConfigException or IOException)
        {
            Console.Error.WriteLine($"ancoder bench train: {e.Message}");
            return 1;
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }

    private sealed class StepTimer(int warmup) : ITrainingObserver
    {
        private readonly Stopwatch _clock = new();
        public double Seconds => _clock.Elapsed.TotalSeconds;

        public void OnStep(TrainingProgress progress)
        {
            if (progress.Step == warmup) _clock.Restart();
            if (progress.Step == progress.TotalSteps) _clock.Stop();
        }
    }

    /// <summary>Random ids in [3, V) with random depths and keyword/identifier flags, one shard + manifest.</summary>
    private static void WriteSyntheticCorpus(string directory, ModelConfig config, long tokens)
    {
        Directory.CreateDirectory(directory);
        var random = new Random(1);
        var samples = new List<ShardSample>();
        for (long written = 0; written < tokens;)
        {
            int length = random.Next(200, 2000);
            samples.Add(new ShardSample(
                Enumerable.Range(0, length).Select(_ => random.Next(3, config.VocabSize)).ToArray(),
                Enumerable.Range(0, length).Select(_ => (ushort)random.Next(0, 8)).ToArray(),
                Enumerable.Range(0, length).Select(_ => TokenFlags.Parsed | (TokenFlags)random.Next(0, 3)).ToArray(), 0));
            written += length + 1;
        }
        const string file = "train-00000" + ShardFormat.Extension;
        var (sha, bytes) = ShardFormat.Write(Path.Combine(directory, file), samples, config.VocabSize);
        long total = samples.Sum(s => (long)s.Ids.Length);
        var split = new ManifestSplit(1, samples.Count, samples.Count, 0, 0, total, 0, [new ManifestShard(file, samples.Count, total, bytes, sha)]);
        var manifest = new Manifest
        {
            ConfigHash = "synthetic",
            Config = new ManifestConfig("synthetic", "synthetic", "synthetic", config.VocabSize, config.EosTokenId, config.PadTokenId,
                config.MaskTokenId, 0, 1, 0, 0, false, total),
            Files = new ManifestFiles(0, 0, 0, [], [], []),
            Splits = new Dictionary<string, ManifestSplit> { ["train"] = split },
            Totals = new ManifestTotals(0, samples.Count, total, 0, 0, 0, 0, 0),
        };
        File.WriteAllText(Path.Combine(directory, CorpusBuilder.ManifestFile), JsonSerializer.Serialize(manifest, Manifest.JsonOptions));
    }

    private static double PeakRssMb()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
        return double.NaN;
    }
}
