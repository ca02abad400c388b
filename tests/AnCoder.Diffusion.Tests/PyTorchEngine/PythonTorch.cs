using System.Diagnostics;
using AnCoder.Diffusion.Tests.Model;

namespace AnCoder.Diffusion.Tests.PyTorchEngine;

/// <summary>
/// Runs the PyTorch engine (python/ancoder_torch) with Debian's /usr/bin/python3 and python3-torch, which .ci/run
/// installs. A missing torch fails the test with that instruction (the parity tests are the guard against the two
/// engines drifting apart, so they must not skip silently).
/// </summary>
internal static class PythonTorch
{
    public const string Interpreter = "/usr/bin/python3";

    public static string RepositoryRoot { get; } =
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(ReferenceFixture.FindFile("python/ancoder_torch/__init__.py"))!, "..", ".."));

    public static string PackageRoot => Path.Combine(RepositoryRoot, "python");

    /// <summary>Runs `python3 -m MODULE ARGS` (or a script when <paramref name="module"/> is null); returns stdout+stderr, asserting exit code 0.</summary>
    public static string Run(string? module, IEnumerable<string> arguments, int expectedExit = 0, string? executable = null, TimeSpan? timeout = null)
    {
        if (executable is null && !File.Exists(Interpreter))
            Assert.Fail($"{Interpreter} not found: install Debian's python3 and python3-torch (apt-get install -y python3-torch; .ci/run does)");
        var start = new ProcessStartInfo(executable ?? Interpreter)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = RepositoryRoot,
        };
        if (module is not null)
        {
            start.ArgumentList.Add("-m");
            start.ArgumentList.Add(module);
        }
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["PYTHONPATH"] = PackageRoot;
        start.Environment["PYTHON"] = Interpreter; // for tools/gpu/train.sh
        start.Environment.Remove("LD_PRELOAD"); // jemalloc is for TorchSharp; keep the python side plain
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        // A guard against a hung interpreter, not a speed check: on a busy 2-core CI machine tools/gpu/train.sh
        // (torch started four times) took longer than 3 minutes.
        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(15)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"python {module} {string.Join(' ', arguments)} did not finish in time");
        }
        string output = stdout.Result + stderr.Result;
        if (output.Contains("No module named 'torch'"))
            Assert.Fail($"{Interpreter} has no torch: apt-get install -y python3-torch (.ci/run does)");
        Assert.True(process.ExitCode == expectedExit, $"python {module} {string.Join(' ', arguments)} exited with {process.ExitCode}, expected {expectedExit}:\n{output}");
        return output;
    }
}
