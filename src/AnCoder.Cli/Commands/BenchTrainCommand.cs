using System.CommandLine;
using System.Diagnostics;
using AnCoder.Anchoring.Settings;
using AnCoder.Experiments.Benchmarks;
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
    public static Command Create()
    {
        var models = new Option<string>("--models") { Description = "Comma-separated model presets.", DefaultValueFactory = _ => "tiny,small" };
        var precisions = new Option<string>("--precisions") { Description = "Comma-separated precisions (fp32, bf16).", DefaultValueFactory = _ => "fp32,bf16" };
        var batch = new Option<int>("--batch") { Description = "Rows per step (micro-batch, no accumulation).", DefaultValueFactory = _ => 8 };
        var context = new Option<int>("--context") { Description = "Context length.", DefaultValueFactory = _ => 256 };
        var steps = new Option<int>("--steps") { Description = "Timed steps per measurement.", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed steps before timing.", DefaultValueFactory = _ => 3 };
        var rounds = BenchOptions.Rounds(2);
        var threads = BenchOptions.Threads();
        var noTorch = BenchOptions.NoTorch("bench/train_torch.py");
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
                if (!SettingNames.TryParse<Precision>(name, out _)) { Console.Error.WriteLine($"ancoder bench train: --precisions: '{name}' is not {SettingNames.Choices<Precision>()}"); return 2; }
            var shape = new TrainingBenchmark.Shape(parse.GetValue(batch), parse.GetValue(context), parse.GetValue(steps), parse.GetValue(warmup), parse.GetValue(threads));
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

    private static TrainingBenchmark.Measurement? RunOurs(string model, string precision, TrainingBenchmark.Shape shape)
    {
        string self = typeof(BenchTrainCommand).Assembly.Location;
        string host = Environment.ProcessPath ?? "dotnet";
        var arguments = new List<string>();
        if (Path.GetFileNameWithoutExtension(host) == "dotnet") arguments.Add(self);
        arguments.AddRange(["bench", "train", "--worker", "--models", model, "--precisions", precision, .. shape.Arguments]);
        using var json = TorchBaselineScript.RunJsonProcess(new ProcessStartInfo(host, arguments), "our worker", Warn);
        return TrainingBenchmark.FromJson(json);
    }

    private static TrainingBenchmark.Measurement? RunTorch(string script, string configPath, string precision, TrainingBenchmark.Shape shape)
    {
        using var json = TorchBaselineScript.Run(script, ["--config", configPath, "--precision", precision, .. shape.Arguments], Warn);
        return TrainingBenchmark.FromJson(json);
    }

    private static void Warn(string message) => Console.Error.WriteLine($"ancoder bench train: {message}");

    private static int Compare(string[] models, string[] precisions, TrainingBenchmark.Shape shape, int rounds, bool withTorch)
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
                    var ours = new List<TrainingBenchmark.Measurement>();
                    var theirs = new List<TrainingBenchmark.Measurement>();
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
                    double peak = cpuPeak.PeakFlops(SettingNames.Parse<Precision>(precision, "precision"));
                    string Cells(List<TrainingBenchmark.Measurement> list)
                    {
                        if (list.Count == 0) return $"{"-",11} {"-",8} {"-",6} {"-",7}";
                        double rate = ModelBenchmark.Median(list.Select(m => m.TokensPerSecond)), flops = rate * flopsPerToken;
                        return $"{rate,11:N0} {flops / 1e9,8:F1} {100 * flops / peak,5:F1}% {list.Max(m => m.PeakRssMb),7:F0}";
                    }
                    string ratio = theirs.Count == 0 ? "-" : $"{ModelBenchmark.Median(ours.Select(m => m.TokensPerSecond)) / ModelBenchmark.Median(theirs.Select(m => m.TokensPerSecond)):F2}x";
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

    /// <summary>One of our measurements in this process (the --worker child): prints one JSON line.</summary>
    private static int Worker(string model, string precision, TrainingBenchmark.Shape shape)
    {
        try
        {
            Console.WriteLine(TrainingBenchmark.MeasureInThisProcess(model, SettingNames.Parse<Precision>(precision, "precision"), shape));
            return 0;
        }
        catch (Exception e) when (e is TrainingException or ConfigException or IOException)
        {
            Console.Error.WriteLine($"ancoder bench train: {e.Message}");
            return 1;
        }
    }
}
