using System.CommandLine;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Runtime;
using AnCoder.Experiments.Benchmarks;
using Spectre.Console;
using TorchSharp;

namespace AnCoder.Cli.Commands;

/// <summary>
/// <c>ancoder bench model</c>: forward+backward tokens/s, peak RSS and achieved GFLOP/s of our model beside the same
/// architecture and loss in PyTorch (bench/model_torch.py, run with /usr/bin/python3), alternating ours and theirs
/// in every round. FLOPs = 3 × <see cref="ModelConfig.ForwardFlopsPerToken"/> per trained token (≈ 6·weights +
/// attention), 1 × for inference.
/// </summary>
public static class BenchModelCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = "Model preset: tiny or small.", DefaultValueFactory = _ => "tiny" };
        preset.AcceptOnlyFromAmong("tiny", "small");
        var precision = new Option<string>("--precision") { Description = "fp32, bf16 or both.", DefaultValueFactory = _ => "both" };
        precision.AcceptOnlyFromAmong("fp32", "bf16", "both");
        var batch = new Option<int>("--batch") { Description = "Sequences per step.", DefaultValueFactory = _ => 8 };
        var length = new Option<int>("--length") { Description = "Tokens per sequence.", DefaultValueFactory = _ => 256 };
        var steps = new Option<int>("--steps") { Description = "Timed steps per measurement (after 2 warm-up steps).", DefaultValueFactory = _ => 8 };
        var rounds = BenchOptions.Rounds(2);
        var threads = BenchOptions.Threads();
        var inference = new Option<bool>("--inference") { Description = "Time the forward pass only (no gradients) instead of training steps." };
        var torchBf16 = new Option<string>("--torch-bf16")
        {
            Description = "PyTorch's bf16 mode: cast (model.to(bfloat16), its fastest here), autocast (fp32 master weights like ours) or both.",
            DefaultValueFactory = _ => "cast",
        };
        torchBf16.AcceptOnlyFromAmong("cast", "autocast", "both");
        var noTorch = BenchOptions.NoTorch("bench/model_torch.py");
        var command = new Command("model", "Time training (forward+backward with the ANELBO loss) of our model and of the same model in PyTorch, alternating; print tokens/s, peak RSS, GFLOP/s and ratios.");
        foreach (var option in new Option[] { preset, precision, batch, length, steps, rounds, threads, inference, torchBf16, noTorch })
            command.Options.Add(option);
        command.SetAction(r => Run(new ModelBenchmarkSettings(
            r.GetValue(preset)!, r.GetValue(precision)!, r.GetValue(batch), r.GetValue(length), r.GetValue(steps),
            r.GetValue(rounds), r.GetValue(threads), r.GetValue(inference), r.GetValue(torchBf16)!, r.GetValue(noTorch))));
        return command;
    }

    private static int Run(ModelBenchmarkSettings settings)
    {
        foreach (var (name, value) in new[] { ("--batch", settings.Batch), ("--length", settings.Length), ("--steps", settings.Steps), ("--rounds", settings.Rounds), ("--threads", settings.Threads) })
        {
            if (value < 1)
            {
                Console.Error.WriteLine($"ancoder bench model: {name} must be at least 1 (got {value})");
                return 2;
            }
        }
        var config = ModelPresets.Get(settings.Preset);
        if (settings.Length > config.MaxPositionEmbeddings)
        {
            Console.Error.WriteLine($"ancoder bench model: --length {settings.Length} exceeds the preset's max_position_embeddings {config.MaxPositionEmbeddings}");
            return 2;
        }
        TorchRuntime.Initialize();
        torch.set_num_threads(settings.Threads);

        string? script = null;
        if (!settings.NoTorch)
        {
            var root = RepositoryPaths.FindRoot();
            script = root == null ? null : Path.Combine(root, "bench", "model_torch.py");
            if (script == null || !File.Exists(script))
            {
                Console.Error.WriteLine("ancoder bench model: bench/model_torch.py not found (run from the repository's ./ancoder); timing ours only");
                script = null;
            }
        }
        string configPath = Path.Combine(Path.GetTempPath(), $"ancoder-bench-model-{Environment.ProcessId}.json");
        File.WriteAllText(configPath, config.ToJson());

        string[] precisions = settings.Precision == "both" ? ["fp32", "bf16"] : [settings.Precision];
        var torchModes = new List<(string Precision, string? Bf16Mode)>();
        foreach (var p in precisions)
        {
            if (p == "fp32") torchModes.Add(("fp32", null));
            else if (settings.TorchBf16 == "both") { torchModes.Add(("bf16", "cast")); torchModes.Add(("bf16", "autocast")); }
            else torchModes.Add(("bf16", settings.TorchBf16));
        }

        double flopsPerToken = config.ForwardFlopsPerToken(settings.Length) * (settings.Inference ? 1 : 3);
        AnsiConsole.MarkupLine($"[bold]{settings.Preset}[/]: {config.ParameterCount() / 1e6:F2}M parameters, batch {settings.Batch} × length {settings.Length}, " +
            $"{settings.Steps} timed steps, {settings.Rounds} rounds, {settings.Threads} threads, {(settings.Inference ? "inference" : "training (forward+backward, ANELBO)")}; " +
            $"{flopsPerToken / 1e6:F1} MFLOP/token");

        var measurements = new List<ModelBenchmark.Measurement>();
        int total = settings.Rounds * (precisions.Length + (script == null ? 0 : torchModes.Count));
        bool torchFailed = false;
        try
        {
            AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn()).Start(context =>
            {
                var task = context.AddTask("measuring", maxValue: total);
                for (int round = 0; round < settings.Rounds; round++)
                {
                    foreach (var p in precisions)
                    {
                        task.Description = $"round {round + 1}: ours {p}";
                        measurements.Add(ModelBenchmark.MeasureOurs(config, p, settings));
                        task.Increment(1);
                        if (script == null || torchFailed) continue;
                        foreach (var (torchPrecision, mode) in torchModes.Where(m => m.Precision == p))
                        {
                            task.Description = $"round {round + 1}: PyTorch {p}{(mode is null ? "" : "-" + mode)}";
                            var theirs = ModelBenchmark.MeasureTorch(script, configPath, torchPrecision, mode, settings, message => Console.Error.WriteLine($"ancoder bench model: {message}"));
                            if (theirs == null) torchFailed = true;
                            else measurements.Add(theirs);
                            task.Increment(1);
                        }
                    }
                }
            });
        }
        finally
        {
            File.Delete(configPath);
        }
        Report(measurements, flopsPerToken);
        return 0;
    }

    private static void Report(List<ModelBenchmark.Measurement> measurements, double flopsPerToken)
    {
        var table = new Table().AddColumns("implementation", "precision", "tokens/s median", "tokens/s best", "GFLOP/s median", "CPU ms/step min", "peak RSS MB");
        var medians = new Dictionary<(string Implementation, string Precision), (double Speed, double Cpu)>();
        foreach (var group in measurements.GroupBy(m => (m.Implementation, m.Precision)))
        {
            double median = ModelBenchmark.Median(group.Select(m => m.TokensPerSecond));
            double cpu = group.Min(m => m.CpuMsPerStep);
            medians[group.Key] = (median, cpu);
            table.AddRow(group.Key.Implementation, group.Key.Precision, $"{median:F0}", $"{group.Max(m => m.TokensPerSecond):F0}",
                $"{median * flopsPerToken / 1e9:F1}", $"{cpu:F0}", $"{group.Max(m => m.PeakRssBytes) / 1e6:F0}");
        }
        AnsiConsole.Write(table);
        Console.WriteLine($"allocator: {TorchRuntime.AllocatorTuning}; machine load average now: {ModelBenchmark.LoadAverage()}");
        foreach (var (key, ours) in medians.Where(m => m.Key.Implementation == "ours"))
        {
            foreach (var (other, theirs) in medians.Where(m => m.Key.Implementation != "ours" && m.Key.Precision.StartsWith(key.Precision)))
                Console.WriteLine($"ours {key.Precision} / {other.Implementation} {other.Precision}: {ours.Speed / theirs.Speed:F2}x tokens/s (median), " +
                    $"CPU time per step theirs/ours {theirs.Cpu / ours.Cpu:F2}x");
        }
    }
}
