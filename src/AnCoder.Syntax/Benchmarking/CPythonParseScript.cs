using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AnCoder.Syntax.Benchmarking;

/// <summary>
/// CPython's side of <c>ancoder bench parse</c>: bench/cpython_parse_throughput.py run by python3, once per question
/// (<see cref="RunOnce"/>: the peak RSS of a large file) or as a running copy that times one round per request
/// (<see cref="Serve"/>), so that CPython's rounds alternate with ours.
/// </summary>
public sealed class CPythonParseScript(string scriptPath, TextWriter errors, string python = "python3")
{
    private string Name => Path.GetFileName(scriptPath);

    /// <summary>The script's stdout for <paramref name="args"/> (and <paramref name="stdin"/>), or null (reported).</summary>
    public string? RunOnce(string[] args, byte[]? stdin)
    {
        using var process = Start(args);
        if (process == null) return null;
        if (stdin != null) process.StandardInput.BaseStream.Write(stdin);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode == 0) return output;
        errors.WriteLine($"ancoder bench parse: {Name} exited with {process.ExitCode}");
        return null;
    }

    /// <summary>A copy of the script holding <paramref name="paths"/> in memory, warmed up by one round; null when it
    /// could not start (reported).</summary>
    public Rounds? Serve(IReadOnlyList<string> paths)
    {
        var process = Start(["--serve"]);
        if (process == null) return null;
        var rounds = new Rounds(process, Name, errors);
        var ready = rounds.Ask(JsonSerializer.Serialize(paths));
        if (ready == null)
        {
            rounds.Dispose();
            return null;
        }
        rounds.Files = ready.Value.GetProperty("files").GetInt32();
        rounds.Bytes = ready.Value.GetProperty("bytes").GetInt64();
        rounds.Rejected = ready.Value.GetProperty("rejected").GetInt32();
        return rounds;
    }

    private Process? Start(string[] args)
    {
        var info = new ProcessStartInfo(python, [scriptPath, .. args])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        try
        {
            return Process.Start(info);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            errors.WriteLine($"ancoder bench parse: {python} not found");
            return null;
        }
    }

    /// <summary>The running copy: one request, one JSON line back.</summary>
    public sealed class Rounds : IDisposable
    {
        private readonly Process _process;
        private readonly string _name;
        private readonly TextWriter _errors;

        internal Rounds(Process process, string name, TextWriter errors)
        {
            _process = process;
            _name = name;
            _errors = errors;
        }

        public int Files { get; internal set; }
        public long Bytes { get; internal set; }
        /// <summary>Files ast.parse rejected (in the warm-up round).</summary>
        public int Rejected { get; internal set; }

        /// <summary>Seconds of one round of ast.parse over every file, or null (reported).</summary>
        public double? Round() => Ask("round")?.GetProperty("seconds").GetDouble();

        /// <summary>ast.parse calls per second on <paramref name="source"/>, or null (reported).</summary>
        public double? SmallCallsPerSecond(string source) =>
            Ask("small " + Convert.ToHexString(Encoding.UTF8.GetBytes(source)))?.GetProperty("calls_per_s").GetDouble();

        internal JsonElement? Ask(string line)
        {
            try
            {
                _process.StandardInput.WriteLine(line);
                _process.StandardInput.Flush();
                var reply = _process.StandardOutput.ReadLine();
                if (reply != null)
                {
                    var element = JsonSerializer.Deserialize<JsonElement>(reply);
                    if (!element.TryGetProperty("error", out var error)) return element;
                    _errors.WriteLine($"ancoder bench parse: {_name}: {error.GetString()}");
                    return null;
                }
            }
            catch (IOException)
            {
            }
            catch (JsonException)
            {
                _errors.WriteLine($"ancoder bench parse: {_name} answered something that is not one JSON line");
                return null;
            }
            _errors.WriteLine($"ancoder bench parse: {_name} stopped answering" + (_process.HasExited
                ? $" (exit code {_process.ExitCode.ToString(CultureInfo.InvariantCulture)})" : ""));
            return null;
        }

        public void Dispose()
        {
            try
            {
                _process.StandardInput.Close();
                if (!_process.WaitForExit(10_000)) _process.Kill();
            }
            catch (Exception e) when (e is InvalidOperationException or IOException)
            {
                // Already gone (its stdin pipe broken): nothing to end.
            }
            _process.Dispose();
        }
    }
}
