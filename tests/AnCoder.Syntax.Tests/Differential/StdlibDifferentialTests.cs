using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace AnCoder.Syntax.Tests.Differential;

/// <summary>
/// (a) Every .py file of the machine's standard library: our dump must equal CPython's (ast_dump.py), and the files
/// CPython rejects must be rejected by us too.
/// </summary>
public sealed class StdlibDifferentialTests(ITestOutputHelper output)
{
    private const int MismatchesListed = 20;

    [Fact]
    public async Task EveryStdlibFileDumpsLikeCPython()
    {
        var files = CPythonReference.StdlibFiles();
        Assert.True(files.Length > 1000, $"expected the whole stdlib, found {files.Length} files under {CPythonReference.StdlibDirectory}");

        var clock = Stopwatch.StartNew();
        // CPython dumps everything in one process while we parse; both are compared file by file afterwards.
        var cpythonTask = Task.Run(() => CPythonReference.DumpFiles(files));
        var ours = new string[files.Length];
        Parallel.For(0, files.Length, i => ours[i] = OurParser.Dump(File.ReadAllBytes(files[i])));
        var ourSeconds = clock.Elapsed.TotalSeconds;
        var cpython = await cpythonTask;
        output.WriteLine($"{files.Length} files; ours parsed+dumped in {ourSeconds:F1} s, CPython done after {clock.Elapsed.TotalSeconds:F1} s");

        var report = Compare(files, ours, cpython, output);
        Assert.True(report.Mismatches.Count == 0,
            $"{report.Mismatches.Count} of {files.Length} stdlib files differ from CPython "
          + $"({report.CPythonRejected} rejected by CPython). First {Math.Min(MismatchesListed, report.Mismatches.Count)}:\n"
          + string.Join('\n', report.Mismatches.Take(MismatchesListed)));
    }

    public sealed record ComparisonReport(List<string> Mismatches, int CPythonRejected, int MessageDifferences);

    /// <summary>Compares per file; lists mismatches (path: first difference) and logs rejected-by-both message differences.</summary>
    public static ComparisonReport Compare(IReadOnlyList<string> files, string[] ours, Dictionary<string, string> cpython, ITestOutputHelper? output)
    {
        var mismatches = new List<string>();
        int rejected = 0, messageDifferences = 0;
        for (int i = 0; i < files.Count; i++)
        {
            if (!cpython.TryGetValue(files[i], out var reference))
            {
                mismatches.Add($"{files[i]}: CPython printed nothing for this file");
                continue;
            }
            if (OurParser.IsReject(reference)) rejected++;
            var difference = Agreement.Difference(ours[i], reference);
            if (difference != null) mismatches.Add($"{files[i]}: {difference}");
            else if (Agreement.MessagesDiffer(ours[i], reference))
            {
                messageDifferences++;
                output?.WriteLine($"both reject, different message: {files[i]}: ours {ours[i]} | cpython {reference}");
            }
        }
        return new ComparisonReport(mismatches, rejected, messageDifferences);
    }
}
