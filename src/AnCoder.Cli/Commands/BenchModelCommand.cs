using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Runtime;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AnCoder.Cli.Commands;

/// <summary>
/// <c>ancoder bench model</c>: forward+backward tokens/s, peak RSS and achieved GFLOP/s of our model beside the same
/// architecture and loss in PyTorch (bench/model_torch.py, run with /usr/bin/python3), alternating ours and theirs
/// in every round. FLOPs = 3 × <see cref="ModelConfig.ForwardFlopsPerToken"/> per trained token (≈ 6·weights +
/// attention), 1 × for inference.
/// </summary>
public static class BenchModelCommand
{
    private const double AnchorGamma = 0.03, ScheduleEpsilon = 1e-3, TimeEpsilon = 1e-3;
    private const string PythonWithTorch = "/usr/bin/python3";

    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = "Model preset: tiny or small.", DefaultValueFactory = _ => "tiny" };
        preset.AcceptOnlyFromAmong("tiny", "small");
        var precision = new Option<string>("--precision") { Description = "fp32, bf16 or both.", DefaultValueFactory = _ => "both" };
        precision.AcceptOnlyFromAmong("fp32", "bf16", "both");
        var batch = new Option<int>("--batch") { Description = "Sequences per step.", DefaultValueFactory = _ => 8 };
        var length = new Option<int>("--length") { Description = "Tokens per sequence.", DefaultValueFactory = _ => 256 };
        var steps = new Option<int>("--steps") { Description = "Timed steps per measurement (after 2 warm-up steps).", DefaultValueFactory = _ => 8 };
        var rounds = new Option<int>("--rounds") { Description = "Alternating rounds (ours, PyTorch) per precision; medians are reported.", DefaultValueFactory = _ => 2 };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads for both implementations.", DefaultValueFactory = _ => 2 };
        var inference = new Option<bool>("--inference") { Description = "Time the forward pass only (no gradients) instead of training steps." };
        var torchBf16 = new Option<string>("--torch-bf16")
        {
            Description = "PyTorch's bf16 mode: cast (model.to(bfloat16), its fastest here), autocast (fp32 master weights like ours) or both.",
            DefaultValueFactory = _ => "cast",
        };
        torchBf16.AcceptOnlyFromAmong("cast", "autocast", "both");
        var noTorch = new Option<bool>("--no-torch") { Description = "Only time our model (skip bench/model_torch.py)." };
        var command = new Command("model", "Time training (forward+backward with the ANELBO loss) of our model and of the same model in PyTorch, alternating; print tokens/s, peak RSS, GFLOP/s and ratios.");
        foreach (var option in new Option[] { preset, precision, batch, length, steps, rounds, threads, inference, torchBf16, noTorch })
            command.Options.Add(option);
        command.SetAction(r => Run(new Settings(
            r.GetValue(preset)!, r.GetValue(precision)!, r.GetValue(batch), r.GetValue(length), r.GetValue(steps),
            r.GetValue(rounds), r.GetValue(threads), r.GetValue(inference), r.GetValue(torchBf16)!, r.GetValue(noTorch))));
        return command;
    }

    private sealed record Settings(string Preset, string Precision, int Batch, int Length, int Steps, int Rounds,
        int Threads, bool Inference, string TorchBf16, bool NoTorch);

    /// <summary>One timed run: wall-clock tokens/s, the process's CPU time per step (user + system, all threads;
    /// steadier than wall time on a shared machine, but it includes OpenMP's spin-waiting) and the peak RSS.</summary>
    private sealed record Measurement(string Implementation, string Precision, double TokensPerSecond, double CpuMsPerStep, long PeakRssBytes);

    private static int Run(Settings settings)
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

        var measurements = new List<Measurement>();
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
                        measurements.Add(MeasureOurs(config, p, settings));
                        task.Increment(1);
                        if (script == null || torchFailed) continue;
                        foreach (var (torchPrecision, mode) in torchModes.Where(m => m.Precision == p))
                        {
                            task.Description = $"round {round + 1}: PyTorch {p}{(mode is null ? "" : "-" + mode)}";
                            var theirs = MeasureTorch(script, configPath, torchPrecision, mode, settings);
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

    private static void Report(List<Measurement> measurements, double flopsPerToken)
    {
        var table = new Table().AddColumns("implementation", "precision", "tokens/s median", "tokens/s best", "GFLOP/s median", "CPU ms/step min", "peak RSS MB");
        var medians = new Dictionary<(string Implementation, string Precision), (double Speed, double Cpu)>();
        foreach (var group in measurements.GroupBy(m => (m.Implementation, m.Precision)))
        {
            double median = Median(group.Select(m => m.TokensPerSecond));
            double cpu = group.Min(m => m.CpuMsPerStep);
            medians[group.Key] = (median, cpu);
            table.AddRow(group.Key.Implementation, group.Key.Precision, $"{median:F0}", $"{group.Max(m => m.TokensPerSecond):F0}",
                $"{median * flopsPerToken / 1e9:F1}", $"{cpu:F0}", $"{group.Max(m => m.PeakRssBytes) / 1e6:F0}");
        }
        AnsiConsole.Write(table);
        Console.WriteLine($"allocator: {TorchRuntime.AllocatorTuning}; machine load average now: {LoadAverage()}");
        foreach (var (key, ours) in medians.Where(m => m.Key.Implementation == "ours"))
        {
            foreach (var (other, theirs) in medians.Where(m => m.Key.Implementation != "ours" && m.Key.Precision.StartsWith(key.Precision)))
                Console.WriteLine($"ours {key.Precision} / {other.Implementation} {other.Precision}: {ours.Speed / theirs.Speed:F2}x tokens/s (median), " +
                    $"CPU time per step theirs/ours {theirs.Cpu / ours.Cpu:F2}x");
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string LoadAverage()
    {
        try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); } catch (IOException) { return "?"; }
    }

    private static Measurement MeasureOurs(ModelConfig config, string precision, Settings settings)
    {
        manual_seed(0);
        using var model = DiffusionModel.Create(config);
        model.ComputeType = precision == "bf16" ? ScalarType.BFloat16 : ScalarType.Float32;
        if (settings.Inference) model.eval();
        const int warmup = 2;
        for (int i = 0; i < warmup; i++) Step(model, settings);
        ResetPeakRss();
        var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < settings.Steps; i++) Step(model, settings);
        double seconds = clock.Elapsed.TotalSeconds;
        double cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalMilliseconds / settings.Steps;
        return new Measurement("ours", precision, (double)settings.Batch * settings.Length * settings.Steps / seconds, cpuMs, PeakRssBytes());
    }

    private static void Step(DiffusionModel model, Settings settings)
    {
        using var scope = NewDisposeScope();
        var ids = randint(3, model.Config.VocabSize, [settings.Batch, settings.Length], dtype: ScalarType.Int64);
        if (settings.Inference)
        {
            using var noGrad = no_grad();
            model.Forward(ids).DenoiserLogits.sum().item<float>();
            return;
        }
        AnelboLoss(model, ids).backward();
        model.zero_grad();
    }

    /// <summary>
    /// ALGORITHMS.md §5's ANELBO with cosine2, stratified t and γ = 0.03 on every position; the same computation as
    /// bench/model_torch.py, written out here so both sides of the comparison run the same operations (the trainer's
    /// Losses.DiffusionLoss is measured, with the optimizer and data loading, by <c>ancoder bench train</c>).
    /// </summary>
    private static Tensor AnelboLoss(DiffusionModel model, Tensor ids)
    {
        long batch = ids.shape[0], length = ids.shape[1];
        var u = rand(1);
        var t = TimeEpsilon + (1 - TimeEpsilon) * ((u / batch + arange(batch, dtype: ScalarType.Float32) / batch) % 1.0);
        var half = t * (Math.PI / 2);
        var alpha = ScheduleEpsilon + (1 - ScheduleEpsilon) * half.cos().square();
        var derivative = -(1 - ScheduleEpsilon) * Math.PI * half.sin() * half.cos();
        var weight = (-derivative / (1 - alpha)).unsqueeze(1).expand(batch, length);
        var masked = rand(batch, length).ge(alpha.unsqueeze(1));
        var noisy = ids.masked_fill(masked, model.Config.MaskTokenId);
        var output = model.Forward(noisy);
        var loss = WeightedNllSum(output.DenoiserLogits, ids, masked, weight, model.Config.MaskTokenId);
        if (output.AnchorLogits is not null)
            loss = loss + WeightedNllSum(output.AnchorLogits, ids, null, weight * AnchorGamma, null);
        return loss / (batch * length);
    }

    private static Tensor WeightedNllSum(Tensor logits, Tensor targets, Tensor? selected, Tensor coefficient, int? excludedColumn)
    {
        var rows = logits.to(ScalarType.Float32).reshape(-1, logits.shape[^1]);
        var flatTargets = targets.reshape(-1);
        var flatCoefficient = coefficient.reshape(-1);
        if (selected is not null)
        {
            var index = selected.reshape(-1).nonzero().squeeze(1);
            rows = rows.index_select(0, index);
            flatTargets = flatTargets.index_select(0, index);
            flatCoefficient = flatCoefficient.index_select(0, index);
        }
        if (excludedColumn is int column) rows.index_fill_(1, tensor(new long[] { column }), -1e6);
        var nll = F.cross_entropy(rows, flatTargets, reduction: nn.Reduction.None);
        return (nll * flatCoefficient).sum();
    }

    private static Measurement? MeasureTorch(string script, string configPath, string precision, string? bf16Mode, Settings settings)
    {
        var arguments = new List<string>
        {
            script, "--config", configPath, "--precision", precision, "--batch", settings.Batch.ToString(),
            "--length", settings.Length.ToString(), "--steps", settings.Steps.ToString(), "--threads", settings.Threads.ToString(),
        };
        if (bf16Mode != null) arguments.AddRange(["--bf16-mode", bf16Mode]);
        if (settings.Inference) arguments.Add("--inference");
        var info = new ProcessStartInfo(File.Exists(PythonWithTorch) ? PythonWithTorch : "python3", arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment.Remove("LD_PRELOAD"); // the launcher preloads jemalloc for us; PyTorch runs with its usual allocator
        try
        {
            using var process = Process.Start(info)!;
            var errors = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                var lastLine = errors.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
                Console.Error.WriteLine($"ancoder bench model: {Path.GetFileName(script)} exited with {process.ExitCode}: {lastLine} (timing ours only)");
                return null;
            }
            using var json = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
            var r = json.RootElement;
            return new Measurement("pytorch", r.GetProperty("precision").GetString()!,
                r.GetProperty("tokens_per_second").GetDouble(), r.GetProperty("cpu_ms_per_step").GetDouble(), r.GetProperty("peak_rss_bytes").GetInt64());
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine("ancoder bench model: python3 not found (timing ours only)");
            return null;
        }
    }

    /// <summary>Writing "5" to /proc/self/clear_refs resets the peak resident set size (VmHWM) to the current one.</summary>
    private static void ResetPeakRss()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static long PeakRssBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:")) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return 0;
    }
}
