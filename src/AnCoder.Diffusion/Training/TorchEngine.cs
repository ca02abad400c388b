using System.Diagnostics;
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

    public static string Python => Environment.GetEnvironmentVariable(PythonVariable) is { Length: > 0 } chosen ? chosen
        : File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    /// <summary>The config the Python side reads: output made absolute, a preset written out as a model config file.</summary>
    /// <exception cref="ConfigException">Settings the torch engine does not support (EMA, Qwen import).</exception>
    public static TrainingConfig Prepare(TrainingConfig config)
    {
        config.Validated();
        if (config.EmaDecay is not null) throw new ConfigException("--ema is not supported by the torch engine yet");
        if (config.InitQwen is not null) throw new ConfigException("--init-qwen: import with `ancoder import-qwen` first, then pass the folder to --init");
        string output = Path.GetFullPath(config.Output!);
        Directory.CreateDirectory(output);
        if (config.Init is null && config.ModelConfigFile is null)
        {
            string file = Path.Combine(output, ModelConfigFileName);
            File.WriteAllText(file, ModelPresets.Get(config.Model).ToJson() + "\n");
            config = config with { ModelConfigFile = file };
        }
        config = config with { Output = output };
        File.WriteAllText(Path.Combine(output, TrainingRun.ConfigFileName), config.ToJson() + "\n");
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
