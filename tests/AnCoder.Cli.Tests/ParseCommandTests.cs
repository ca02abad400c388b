using System.Diagnostics;
using System.Text;
using Xunit;

using AnCoder.Syntax;
using AnCoder.Syntax.Tests.Differential;

namespace AnCoder.Cli.Tests;

/// <summary>
/// `ancoder parse` end to end (the built CLI as a subprocess): its dumps must be exactly what Reference/ast_dump.py
/// prints for CPython, in the same format, and bad input must give one line on stderr, never a stack trace.
/// </summary>
public sealed class ParseCommandTests : IDisposable
{
    private readonly DirectoryInfo scratch = Directory.CreateTempSubdirectory("ancoder-cli-");

    public void Dispose() => scratch.Delete(recursive: true);

    private static AncoderCli.Result Ancoder(params string[] args) => AncoderCli.Run(args);

    private string Write(string name, byte[] content)
    {
        var path = Path.Combine(scratch.FullName, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    private string Write(string name, string content) => Write(name, Encoding.UTF8.GetBytes(content));

    private static string FindMaxExample()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "examples", "find_max.py");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("examples/find_max.py not found above the test output folder");
    }

    private static void AssertNoStackTrace(AncoderCli.Result run) =>
        Assert.DoesNotContain("   at ", run.Stdout + run.Stderr);

    [Fact]
    public void DumpOfTheReadmeExampleEqualsCPythons()
    {
        var path = FindMaxExample();
        var run = Ancoder("parse", "--dump", path);
        Assert.Equal(CPythonReference.Run(CPythonReference.AstDumpScript, [path]), run.Stdout);
        Assert.Equal(0, run.ExitCode);
    }

    [Fact]
    public void CheckModePrintsOkOrTheSyntaxErrorPerFile()
    {
        var good = Write("good.py", "x = [1, 2]\n");
        var bad = Write("bad.py", "def f(:\n    pass\n");
        Assert.StartsWith("!SyntaxError", CPythonReference.Verdicts([File.ReadAllBytes(bad)])[0]);
        var error = PythonParser.Parse(File.ReadAllBytes(bad)).Error;
        Assert.NotNull(error);

        var run = Ancoder("parse", good, bad);
        var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([$"{good}: ok", $"{bad}:{error.Line}:{error.Column}: SyntaxError: {error.Message}"], lines);
        Assert.Equal(1, run.ExitCode);
    }

    /// <summary>Our `--dump` output of several files against ast_dump.py's: the same `# path` headers in the same
    /// order, identical dumps for accepted files, and a `!SyntaxError: msg (line:col)` line where CPython rejects
    /// (the message itself is the differential suites' business).</summary>
    private static void AssertSameDumpsAndVerdicts(string ours, string cpython)
    {
        var ourFiles = SplitInOrder(ours);
        var cpythonFiles = SplitInOrder(cpython);
        Assert.Equal(cpythonFiles.Select(f => f.Path), ourFiles.Select(f => f.Path));
        for (int i = 0; i < ourFiles.Count; i++)
        {
            if (OurParser.IsReject(cpythonFiles[i].Body))
                Assert.Matches(@"^!SyntaxError: .+ \(\d+:-?\d+\)$", ourFiles[i].Body);
            else
                Assert.Equal(cpythonFiles[i].Body, ourFiles[i].Body);
        }
    }

    private static List<(string Path, string Body)> SplitInOrder(string output)
    {
        var result = new List<(string, string)>();
        foreach (var chunk in ("\n" + output).Split("\n# ", StringSplitOptions.RemoveEmptyEntries))
        {
            int newline = chunk.IndexOf('\n');
            result.Add((chunk[..newline], chunk[(newline + 1)..].TrimEnd('\n')));
        }
        return result;
    }

    [Fact]
    public void DumpOfSeveralFilesEqualsCPythonsIncludingHeadersAndRejections()
    {
        var files = new[]
        {
            Write("a.py", "import os\nprint(os.sep)\n"),
            Write("b.py", "x = (\n"),
            Write("c.py", "async def f():\n    await g()\n"),
            Write("nul.py", "x = 1\0\n"u8.ToArray()),
            Write("latin.py", new byte[] { (byte)'s', (byte)'=', (byte)'"', 0xE9, (byte)'"', (byte)'\n' }),
        };
        var run = Ancoder(["parse", "--dump", .. files]);
        Assert.StartsWith("# ", run.Stdout);
        AssertSameDumpsAndVerdicts(run.Stdout, CPythonReference.Run(CPythonReference.AstDumpScript, files));
        Assert.Equal(1, run.ExitCode);
    }

    [Fact]
    public void ManyFilesAreDumpedInTheOrderGiven()
    {
        // Enough files to take the parallel path; distinct contents so that any reordering shows.
        var files = Enumerable.Range(0, 300)
            .Select(i => Write($"f{(i * 7919) % 300:D3}.py", $"v{i} = {i}\n" + (i % 10 == 0 ? "(\n" : "")))
            .ToArray();
        var listFile = Write("list.txt", string.Join('\n', files) + "\n");
        var run = Ancoder("parse", "--dump", "--files-from", listFile);
        AssertSameDumpsAndVerdicts(run.Stdout, CPythonReference.Run(CPythonReference.AstDumpScript, files));
        Assert.Equal(1, run.ExitCode);
    }

    [Fact]
    public void MissingFileAndDirectoryAreOneLineIoErrors()
    {
        var missing = Path.Combine(scratch.FullName, "missing.py");
        var run = Ancoder("parse", missing, scratch.FullName);
        var errors = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, errors.Length);
        Assert.StartsWith(missing + ":", errors[0]);
        Assert.Contains("No such file", errors[0]);
        Assert.StartsWith(scratch.FullName + ":", errors[1]);
        Assert.Contains("directory", errors[1]);
        Assert.Equal("", run.Stdout);
        Assert.Equal(2, run.ExitCode);
        AssertNoStackTrace(run);
    }

    [Fact]
    public void BinaryFileIsASyntaxErrorAsInCPython()
    {
        var binary = Write("binary.py", [0x7F, (byte)'E', (byte)'L', (byte)'F', 0x02, 0x01, 0x00, 0xFF, 0xFE, 0x00]);
        var cpython = CPythonReference.Verdicts([File.ReadAllBytes(binary)])[0];
        Assert.StartsWith("!SyntaxError", cpython);
        var run = Ancoder("parse", binary);
        Assert.StartsWith($"{binary}:", run.Stdout);
        Assert.Contains(": SyntaxError: ", run.Stdout);
        Assert.Equal(1, run.ExitCode);
        AssertNoStackTrace(run);
    }

    [Fact]
    public void HelpDescribesEveryOption()
    {
        var run = Ancoder("parse", "--help");
        Assert.Equal(0, run.ExitCode);
        foreach (var option in new[] { "--dump", "--files-from" })
        {
            var line = run.Stdout.Split('\n').Single(l => l.TrimStart().StartsWith(option, StringComparison.Ordinal));
            Assert.True(line.Trim().Length > option.Length + 20, $"no description for {option}: `{line}`");
        }
    }
}
