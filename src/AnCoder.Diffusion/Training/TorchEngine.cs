using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AnCoder.Anchoring.Corpus;
using AnCoder.Anchoring.Runs;
using AnCoder.Diffusion.Checkpoints;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Runtime;

namespace AnCoder.Diffusion.Training;

/// <summary>
/// Hands a training run to the PyTorch engine (python/ancoder_torch; README "Scaling out"): the same config, data,
/// run folder layout and checkpoint folders, trained by PyTorch on one or N local processes (DDP; gloo on CPU, NCCL on
/// CUDA). The resolved config is written to <c>RUN/config.json</c> first (a preset becomes <c>RUN/model-config.json</c>:
/// the Python side reads shapes only from files), so both engines read the same settings.
/// </summary>
/// <param name="PackageRoot">The folder holding ancoder_torch (the repository's python/).</param>
/// <param name="Processes">Local processes (DDP over gloo on CPU, NCCL on CUDA).</param>
/// <param name="Fsdp">auto (FSDP for models of ≥ 300M parameters with several processes), on or off (python/ancoder_torch/sharding.py).</param>
public sealed record TorchEngineOptions(string PackageRoot, int Processes = 1, string Fsdp = "auto");

public static partial class TorchEngine
{
    /// <summary>Environment variable naming the python interpreter (default /usr/bin/python3, else python3).</summary>
    public const string PythonVariable = "ANCODER_PYTHON";
    public const string ModelConfigFileName = "model-config.json";

    /// <summary>
    /// The <see cref="TrainingConfig"/> fields (snake_case) the torch engine implements: the one list to extend when
    /// python/ancoder_torch implements another option (its config.py TRAINING_DEFAULTS must hold the same names; a
    /// test asks the python side). Any other field must keep its default (<see cref="Prepare"/> refuses it otherwise)
    /// and is not handed over, so a new C# option needs no change here until the torch engine implements it.
    /// </summary>
    public static readonly IReadOnlySet<string> SupportedFields = new HashSet<string>(StringComparer.Ordinal)
    {
        "model", "model_config_file", "objective", "strategy", "anchor_lambda", "anchor_rho", "anchor_d0", "schedule",
        "anchor_loss_on", "anchor_warmup", "data", "train_split", "valid_split", "packing", "sft", "context_length",
        "micro_batch", "gradient_accumulation", "max_steps", "max_tokens", "learning_rate", "warmup_ratio", "min_lr_ratio",
        "weight_decay", "beta1", "beta2", "adam_epsilon", "grad_clip", "precision", "seed", "threads", "log_interval",
        "validation_interval", "validation_batches", "checkpoint_interval", "keep_last", "output", "init",
        "denoiser_init", "pretrained_learning_rate",
    };

    /// <summary>
    /// The fields that shape the starting model (docs/recipe.md §3: the AR model made bidirectional, ψ's depth, shift,
    /// the denoiser input): the C# side applies them with the C# trainer's own code (<see cref="TrainingRun.BuildModel"/>)
    /// and saves the result as <c>RUN/initial-model</c>, which the torch engine starts from as <c>init</c>. So they are
    /// accepted but not handed over.
    /// </summary>
    public static readonly IReadOnlySet<string> PreparedFields = new HashSet<string>(StringComparer.Ordinal)
    {
        "init_qwen", "denoiser_layers", "shift", "denoiser_input",
    };

    public const string InitialModelFolder = "initial-model";

    /// <summary>The fields outside <see cref="SupportedFields"/> whose value differs from the default, as <c>name = value</c>.</summary>
    public static IReadOnlyList<string> UnsupportedSettings(TrainingConfig config)
    {
        var given = JsonNode.Parse(config.ToJson())!.AsObject();
        var defaults = JsonNode.Parse(new TrainingConfig().ToJson())!.AsObject();
        return given.Where(field => !SupportedFields.Contains(field.Key) && !PreparedFields.Contains(field.Key) && !JsonNode.DeepEquals(field.Value, defaults[field.Key]))
            .Select(field => $"{field.Key} = {field.Value?.ToJsonString() ?? "null"}").ToList();
    }

    /// <summary>
    /// The config JSON the torch engine reads: only <see cref="SupportedFields"/> (the others are at their defaults,
    /// which <see cref="TrainingConfig.FromJson"/> restores, so the file is still this config for the C# side).
    /// </summary>
    /// <exception cref="ConfigException">A field the torch engine does not implement is set (one line naming them).</exception>
    public static string HandOverJson(TrainingConfig config)
    {
        var unsupported = UnsupportedSettings(config);
        if (unsupported.Count > 0)
            throw new ConfigException($"--engine torch does not implement {string.Join(", ", unsupported)} (train with the C# engine)");
        var all = JsonNode.Parse(config.ToJson())!.AsObject();
        var handed = new JsonObject();
        foreach (var (key, value) in all)
            if (SupportedFields.Contains(key)) handed[key] = value?.DeepClone();
        return handed.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    public static string Python => Environment.GetEnvironmentVariable(PythonVariable) is { Length: > 0 } chosen ? chosen
        : File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    /// <summary>
    /// The config the Python side reads: output made absolute, a preset written out as a model config file, the
    /// <see cref="PreparedFields"/> applied into <c>RUN/initial-model</c> (then <c>init</c>).
    /// </summary>
    /// <exception cref="ConfigException">Settings the torch engine does not implement (<see cref="HandOverJson"/>).</exception>
    /// <exception cref="TrainingException">The starting model cannot be built (unreadable data or init folder).</exception>
    public static TrainingConfig Prepare(TrainingConfig config)
    {
        config.Validated();
        HandOverJson(config); // refuses before anything is written
        string output = Path.GetFullPath(config.Output!);
        Directory.CreateDirectory(output);
        if (NeedsInitialModel(config)) config = WithInitialModel(config, output);
        if (config.Init is null && config.ModelConfigFile is null)
        {
            string file = Path.Combine(output, ModelConfigFileName);
            File.WriteAllText(file, ModelPresets.Get(config.Model).ToJson() + "\n");
            config = config with { ModelConfigFile = file };
        }
        config = config with { Output = output };
        File.WriteAllText(Path.Combine(output, TrainingRun.ConfigFileName), HandOverJson(config) + "\n");
        return config;
    }

    /// <summary>
    /// Whether the starting model needs the C# side: a Hugging Face (AR) folder adapted to diffusion, or ψ's depth,
    /// shift or denoiser input set (what <see cref="TrainingRun.BuildModel"/> applies).
    /// </summary>
    public static bool NeedsInitialModel(TrainingConfig config) =>
        config.InitQwen is not null || config.DenoiserLayers is not null || config.Shift || config.DenoiserInput != DenoiserInput.Softmax
        || (!config.Autoregressive && config.Init is { } init && File.Exists(Path.Combine(init, ModelCheckpoint.ConfigFileName))
            && HuggingFaceQwen2Config.IsHuggingFaceConfig(File.ReadAllText(Path.Combine(init, ModelCheckpoint.ConfigFileName))));

    /// <summary>
    /// Builds the starting model as the C# trainer would (seeded; ψ zeroed under denoiser_init identity) into
    /// RUN/initial-model once (a resumed run finds it), and returns the config that starts from it. The pretrained
    /// learning rate keeps applying only when the original config started from a pretrained model.
    /// </summary>
    private static TrainingConfig WithInitialModel(TrainingConfig config, string output)
    {
        string folder = Path.Combine(output, InitialModelFolder);
        if (!File.Exists(Path.Combine(folder, ModelCheckpoint.WeightsFileName)))
        {
            TorchRuntime.Initialize();
            var manifest = CorpusBuilder.TryReadManifest(config.Data!)
                           ?? throw new TrainingException($"{config.Data}: no readable {CorpusBuilder.ManifestFile} (run `ancoder prepare`)");
            string staging = folder + ".partial";
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            using (var model = TrainingRun.BuildModel(config, TrainingRun.Settings(config), manifest.Config))
                ModelCheckpoint.Save(model, staging, Directory.Exists(manifest.Config.Tokenizer) || File.Exists(manifest.Config.Tokenizer) ? manifest.Config.Tokenizer : null);
            Directory.Move(staging, folder);
        }
        bool pretrainedStart = config.Init is not null || config.InitQwen is not null;
        return config with
        {
            Init = folder, InitQwen = null, DenoiserLayers = null, Shift = false, DenoiserInput = DenoiserInput.Softmax, ModelConfigFile = null,
            PretrainedLearningRate = pretrainedStart ? config.PretrainedLearningRate : null,
        };
    }

    /// <summary>The process that trains: <c>python -m ancoder_torch.launch --nproc N --config RUN/config.json …</c>.</summary>
    public static ProcessStartInfo Command(TrainingConfig prepared, bool resume, TorchEngineOptions options)
    {
        var start = new ProcessStartInfo(Python) { UseShellExecute = false };
        foreach (string argument in new[] { "-m", "ancoder_torch.launch", "--nproc", options.Processes.ToString(CultureInfo.InvariantCulture),
                     "--config", Path.Combine(prepared.Output!, TrainingRun.ConfigFileName), "--out", prepared.Output!, "--fsdp", options.Fsdp })
            start.ArgumentList.Add(argument);
        if (resume) start.ArgumentList.Add("--resume");
        string packageRoot = options.PackageRoot;
        string? existing = Environment.GetEnvironmentVariable("PYTHONPATH");
        start.Environment["PYTHONPATH"] = string.IsNullOrEmpty(existing) ? packageRoot : packageRoot + Path.PathSeparator + existing;
        start.Environment.Remove("LD_PRELOAD"); // jemalloc is for TorchSharp, not for the python processes
        return start;
    }

    /// <summary>
    /// The <c>--engine</c>, <c>--nproc</c> and <c>--fsdp</c> options of <c>train</c> and <c>repro</c>: null for the C#
    /// engine; the torch engine's package is <paramref name="repositoryRoot"/>/python.
    /// </summary>
    /// <exception cref="ConfigException">An unknown engine, or --nproc/--fsdp without --engine torch.</exception>
    public static TorchEngineOptions? FromOptions(string? engine, int? processes, string? fsdp, string? repositoryRoot) => engine switch
    {
        null or "csharp" when processes is null && fsdp is null => null,
        null or "csharp" => throw new ConfigException("--nproc and --fsdp need --engine torch"),
        "torch" => new TorchEngineOptions(Path.Combine(repositoryRoot ?? throw new ConfigException("--engine torch: the repository (python/ancoder_torch) was not found"), "python"),
            processes ?? 1, fsdp ?? "auto"),
        _ => throw new ConfigException($"--engine '{engine}' must be csharp or torch"),
    };

    private static void Check(TorchEngineOptions options)
    {
        if (options.Processes < 1) throw new ConfigException($"--nproc must be at least 1 (got {options.Processes})");
        if (options.Fsdp is not ("auto" or "on" or "off")) throw new ConfigException($"--fsdp '{options.Fsdp}' must be auto, on or off");
        if (!File.Exists(Path.Combine(options.PackageRoot, "ancoder_torch", "train.py")))
            throw new TrainingException($"{options.PackageRoot}: the PyTorch engine (ancoder_torch) is not there");
    }

    private static Process Start(ProcessStartInfo start)
    {
        try
        {
            return Process.Start(start) ?? throw new TrainingException($"cannot start {start.FileName}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new TrainingException($"cannot start {start.FileName} ({e.Message}); set {PythonVariable} to a python with torch");
        }
    }

    /// <summary>Runs the engine with the console attached (its progress lines pass through); returns its exit code.</summary>
    /// <exception cref="TrainingException">The interpreter could not be started.</exception>
    public static int Run(TrainingConfig config, bool resume, int processes, string packageRoot) =>
        Run(config, resume, new TorchEngineOptions(packageRoot, processes));

    /// <inheritdoc cref="Run(TrainingConfig, bool, int, string)"/>
    public static int Run(TrainingConfig config, bool resume, TorchEngineOptions options)
    {
        Check(options);
        var process = Start(Command(Prepare(config), resume, options));
        // Ctrl-C reaches the python processes too (same process group): they finish the step, checkpoint and exit.
        ConsoleCancelEventHandler keepWaiting = (_, e) => e.Cancel = true;
        Console.CancelKeyPress += keepWaiting;
        try
        {
            process.WaitForExit();
            return process.ExitCode;
        }
        finally
        {
            Console.CancelKeyPress -= keepWaiting;
            process.Dispose();
        }
    }

    /// <summary>
    /// Trains in the torch engine for a caller that shows its own progress (<c>ancoder repro --engine torch</c>): the
    /// engine's per-step lines become <see cref="ITrainingObserver.OnStep"/>, its other lines messages; cancellation
    /// sends SIGINT (the engine finishes the step, checkpoints and exits 0). The summary is read from the run folder.
    /// </summary>
    /// <exception cref="TrainingException">The engine refused the run or failed (its last error line).</exception>
    public static TrainingSummary Train(TrainingConfig config, TorchEngineOptions options, ITrainingObserver? observer = null,
        CancellationToken cancellation = default, bool resume = false)
    {
        Check(options);
        observer ??= new NullObserver();
        var prepared = Prepare(config);
        var start = Command(prepared, resume, options);
        start.RedirectStandardOutput = start.RedirectStandardError = true;
        var clock = Stopwatch.StartNew();
        string? lastError = null;
        long total = 0;
        using var process = Start(start);
        void Read(string? line)
        {
            if (line is null) return;
            var step = StepLine().Match(line);
            if (step.Success)
            {
                long n = long.Parse(step.Groups[1].Value, CultureInfo.InvariantCulture);
                total = long.Parse(step.Groups[2].Value, CultureInfo.InvariantCulture);
                double loss = double.Parse(step.Groups[3].Value, CultureInfo.InvariantCulture);
                lock (observer) observer.OnStep(new TrainingProgress(n, total, 0, loss, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, clock.Elapsed, null));
                return;
            }
            if (line.StartsWith("error: ", StringComparison.Ordinal)) lastError = line["error: ".Length..];
            lock (observer) observer.OnMessage(line);
        }
        process.OutputDataReceived += (_, e) => Read(e.Data);
        process.ErrorDataReceived += (_, e) => Read(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using (cancellation.Register(() => Interrupt(process)))
            process.WaitForExit();
        string output = prepared.Output!;
        string model = Path.Combine(output, TrainingRun.FinalModelDirectory);
        var records = ReadMetrics(Path.Combine(output, MetricsRecord.FileName));
        foreach (var record in records) observer.OnMetrics(record); // after the fact: the engine writes them, not this process
        var last = records.LastOrDefault();
        double? valid = records.LastOrDefault(r => r.ValidNelbo is not null)?.ValidNelbo;
        string? checkpoint = TrainingCheckpoints.List(output) is [var (_, newest), ..] ? newest : null;
        var status = process.ExitCode switch
        {
            0 when File.Exists(Path.Combine(model, ModelCheckpoint.WeightsFileName)) && !cancellation.IsCancellationRequested => TrainingStatus.Completed,
            0 => TrainingStatus.Interrupted,
            1 => TrainingStatus.Diverged,
            _ => throw new TrainingException($"the torch engine failed (exit {process.ExitCode}){(lastError is null ? "" : ": " + lastError)}"),
        };
        string message = status switch
        {
            TrainingStatus.Completed => $"trained {last?.Step ?? 0} steps, {(last?.Tokens ?? 0):N0} tokens with the torch engine ({options.Processes} process(es)); model: {model}",
            TrainingStatus.Interrupted => $"interrupted after step {last?.Step ?? 0}; checkpoint {checkpoint ?? "none"}; continue with --resume",
            _ => $"diverged after step {last?.Step ?? 0} (torch engine); last good checkpoint: {checkpoint ?? "none"}",
        };
        return new TrainingSummary(status, last?.Step ?? 0, total, (long)(last?.Tokens ?? 0), last?.WallSeconds ?? clock.Elapsed.TotalSeconds,
            last?.Loss ?? double.NaN, valid, output, checkpoint, status == TrainingStatus.Completed ? model : null, message);
    }

    /// <summary>The metrics lines that parse (a torn last line of a killed run is skipped).</summary>
    private static List<MetricsRecord> ReadMetrics(string path)
    {
        var records = new List<MetricsRecord>();
        if (!File.Exists(path)) return records;
        foreach (string line in File.ReadLines(path))
        {
            try
            {
                records.Add(MetricsRecord.Parse(line));
            }
            catch (Exception e) when (e is JsonException or MetricsFormatException)
            {
            }
        }
        return records;
    }

    private sealed class NullObserver : ITrainingObserver;

    [GeneratedRegex(@"^step (\d+)/(\d+) loss ([-+0-9.eEnaif]+)")]
    private static partial Regex StepLine();

    /// <summary>SIGINT to the launcher, which passes it to every rank (each finishes its step and checkpoints).</summary>
    private static void Interrupt(Process process)
    {
        try
        {
            if (process.HasExited) return;
            using var kill = Process.Start(new ProcessStartInfo("kill", ["-INT", process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false });
            kill?.WaitForExit();
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
        }
    }
}
