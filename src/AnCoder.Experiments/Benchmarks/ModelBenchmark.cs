using System.Diagnostics;
using System.Text.Json;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AnCoder.Experiments.Benchmarks;

public sealed record ModelBenchmarkSettings(string Preset, string Precision, int Batch, int Length, int Steps, int Rounds,
    int Threads, bool Inference, string TorchBf16, bool NoTorch);

/// <summary>
/// The measurements of <c>ancoder bench model</c>: forward+backward (or forward-only) steps of our model, and the same
/// architecture and loss in PyTorch (bench/model_torch.py, run with /usr/bin/python3) as a child process.
/// </summary>
public static class ModelBenchmark
{
    private const double AnchorGamma = 0.03, ScheduleEpsilon = 1e-3, TimeEpsilon = 1e-3;

    /// <summary>One timed run: wall-clock tokens/s, the process's CPU time per step (user + system, all threads;
    /// steadier than wall time on a shared machine, but it includes OpenMP's spin-waiting) and the peak RSS.</summary>
    public sealed record Measurement(string Implementation, string Precision, double TokensPerSecond, double CpuMsPerStep, long PeakRssBytes);

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static string LoadAverage()
    {
        try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); } catch (IOException) { return "?"; }
    }

    public static Measurement MeasureOurs(ModelConfig config, string precision, ModelBenchmarkSettings settings)
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

    private static void Step(DiffusionModel model, ModelBenchmarkSettings settings)
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
    /// docs/algorithms.md §5's ANELBO with cosine2, stratified t and γ = 0.03 on every position; the same computation as
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

    public static Measurement? MeasureTorch(string script, string configPath, string precision, string? bf16Mode, ModelBenchmarkSettings settings,
        Action<string> warn)
    {
        var arguments = new List<string>
        {
            "--config", configPath, "--precision", precision, "--batch", settings.Batch.ToString(),
            "--length", settings.Length.ToString(), "--steps", settings.Steps.ToString(), "--threads", settings.Threads.ToString(),
        };
        if (bf16Mode != null) arguments.AddRange(["--bf16-mode", bf16Mode]);
        if (settings.Inference) arguments.Add("--inference");
        using var json = TorchBaselineScript.Run(script, arguments, warn);
        if (json is null) return null;
        var r = json.RootElement;
        return new Measurement("pytorch", r.GetProperty("precision").GetString()!,
            r.GetProperty("tokens_per_second").GetDouble(), r.GetProperty("cpu_ms_per_step").GetDouble(), r.GetProperty("peak_rss_bytes").GetInt64());
    }

    /// <summary>Writing "5" to /proc/self/clear_refs resets the peak resident set size (VmHWM) to the current one.</summary>
    public static void ResetPeakRss()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public static long PeakRssBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:")) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return 0;
    }
}
