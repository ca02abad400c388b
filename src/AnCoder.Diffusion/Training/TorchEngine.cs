using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using AnCoder.Diffusion.Configuration;

namespace AnCoder.Diffusion.Training;

/// <summary>
/// Hands a training run to the PyTorch engine (python/ancoder_torch; README "Scaling out"): the same config, data,
/// run folder layout and checkpoint folders, trained by PyTorch on one or N local processes (DDP; gloo on CPU, NCCL on
/// CUDA). The resolved config is written to <c>RUN/config.json</c> first (a preset becomes <c>RUN/model-config.json</c>:
/// the Python side reads shapes only from files), so both engines read the same settings.
/// </summary>
public static class TorchEngine
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
    };

    /// <summary>The fields outside <see cref="SupportedFields"/> whose value differs from the default, as <c>name = value</c>.</summary>
    public static IReadOnlyList<string> UnsupportedSettings(TrainingConfig config)
    {
        var given = JsonNode.Parse(config.ToJson())!.AsObject();
        var defaults = JsonNode.Parse(new TrainingConfig().ToJson())!.AsObject();
        return given.Where(field => !SupportedFields.Contains(field.Key) && !JsonNode.DeepEquals(field.Value, defaults[field.Key]))
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
            throw new ConfigException($"--engine torch does not implement {string.Join(", ", unsupported)} (train with the C# engine" +
                                      (config.InitQwen is not null ? "; or import with `ancoder import-qwen` and pass that folder to --init" : "") + ")");
        var all = JsonNode.Parse(config.ToJson())!.AsObject();
        var handed = new JsonObject();
        foreach (var (key, value) in all)
            if (SupportedFields.Contains(key)) handed[key] = value?.DeepClone();
        return handed.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    public static string Python => Environment.GetEnvironmentVariable(PythonVariable) is { Length: > 0 } chosen ? chosen
        : File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    /// <summary>The config the Python side reads: output made absolute, a preset written out as a model config file.</summary>
    /// <exception cref="ConfigException">Settings the torch engine does not implement (<see cref="HandOverJson"/>).</exception>
    public static TrainingConfig Prepare(TrainingConfig config)
    {
        config.Validated();
        HandOverJson(config); // refuses before anything is written
        string output = Path.GetFullPath(config.Output!);
        Directory.CreateDirectory(output);
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

    /// <summary>The process that trains: <c>python -m ancoder_torch.launch --nproc N --config RUN/config.json …</c>.</summary>
    public static ProcessStartInfo Command(TrainingConfig prepared, bool resume, int processes, string packageRoot)
    {
        var start = new ProcessStartInfo(Python) { UseShellExecute = false };
        foreach (string argument in new[] { "-m", "ancoder_torch.launch", "--nproc", processes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--config", Path.Combine(prepared.Output!, TrainingRun.ConfigFileName), "--out", prepared.Output! })
            start.ArgumentList.Add(argument);
        if (resume) start.ArgumentList.Add("--resume");
        string? existing = Environment.GetEnvironmentVariable("PYTHONPATH");
        start.Environment["PYTHONPATH"] = string.IsNullOrEmpty(existing) ? packageRoot : packageRoot + Path.PathSeparator + existing;
        start.Environment.Remove("LD_PRELOAD"); // jemalloc is for TorchSharp, not for the python processes
        return start;
    }

    /// <summary>Runs the engine with the console attached (its progress lines pass through); returns its exit code.</summary>
    /// <exception cref="TrainingException">The interpreter could not be started.</exception>
    public static int Run(TrainingConfig config, bool resume, int processes, string packageRoot)
    {
        if (processes < 1) throw new ConfigException($"--nproc must be at least 1 (got {processes})");
        if (!File.Exists(Path.Combine(packageRoot, "ancoder_torch", "train.py")))
            throw new TrainingException($"{packageRoot}: the PyTorch engine (ancoder_torch) is not there");
        var start = Command(Prepare(config), resume, processes, packageRoot);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new TrainingException($"cannot start {start.FileName}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new TrainingException($"cannot start {start.FileName} ({e.Message}); set {PythonVariable} to a python with torch");
        }
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
}
