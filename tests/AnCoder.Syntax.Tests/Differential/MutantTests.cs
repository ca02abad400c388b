using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace AnCoder.Syntax.Tests.Differential;

/// <summary>
/// (c) Token-level mutants of stdlib files (Reference/mutants.py: one token deleted, duplicated or swapped with the
/// next, fixed seed): our accept/reject verdict must equal CPython's on every mutant.
/// </summary>
public sealed class MutantTests(ITestOutputHelper output)
{
    private const int MismatchesListed = 20;

    private sealed record Mutant(string File, string Operation, int TokenIndex, int Start, int End, byte[] Insert, string CPythonVerdict)
    {
        public byte[] Apply(byte[] original)
        {
            var result = new byte[original.Length - (End - Start) + Insert.Length];
            original.AsSpan(0, Start).CopyTo(result);
            Insert.CopyTo(result.AsSpan(Start));
            original.AsSpan(End).CopyTo(result.AsSpan(Start + Insert.Length));
            return result;
        }

        public string Describe() => $"{File} {Operation} token #{TokenIndex} (bytes {Start}..{End})";
    }

    [Fact]
    public void TokenMutantsOfStdlibFilesGetCPythonsVerdict()
    {
        var clock = Stopwatch.StartNew();
        var mutants = CPythonReference.Run(Path.Combine(CPythonReference.ReferenceDirectory, "mutants.py"), [])
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(Parse)
            .ToArray();
        output.WriteLine($"{mutants.Length} mutants with CPython verdicts in {clock.Elapsed.TotalSeconds:F1} s "
                       + $"({mutants.Count(m => m.CPythonVerdict == "ok")} accepted by CPython)");
        Assert.True(mutants.Length >= 4000, $"mutants.py produced only {mutants.Length} mutants");

        var originals = mutants.Select(m => m.File).Distinct().ToDictionary(f => f, File.ReadAllBytes);
        var ours = new string[mutants.Length];
        clock.Restart();
        Parallel.For(0, mutants.Length, i => ours[i] = OurParser.Verdict(mutants[i].Apply(originals[mutants[i].File])));
        output.WriteLine($"our verdicts in {clock.Elapsed.TotalSeconds:F1} s");

        var failing = Enumerable.Range(0, mutants.Length)
            .Where(i => !Agreement.VerdictsAgree(ours[i], mutants[i].CPythonVerdict))
            .ToList();
        int messageDifferences = Enumerable.Range(0, mutants.Length).Count(i => Agreement.MessagesDiffer(ours[i], mutants[i].CPythonVerdict));
        output.WriteLine($"both rejected with a different message or location: {messageDifferences}");
        if (failing.Count == 0) return;

        var folder = WriteFailures(mutants, ours, originals, failing);
        Assert.Fail($"{failing.Count} of {mutants.Length} mutants get a different verdict than CPython "
                  + $"(all written to {folder}). First {Math.Min(MismatchesListed, failing.Count)}:\n"
                  + string.Join('\n', Agreement.SpreadAcrossGroups(failing, i => mutants[i].File).Take(MismatchesListed).Select(i =>
                        $"{mutants[i].Describe()}: ours {ours[i]} | cpython {mutants[i].CPythonVerdict}")));
    }

    private static Mutant Parse(string line)
    {
        var f = line.Split('\t', 7);
        return new Mutant(f[0], f[1], int.Parse(f[2], CultureInfo.InvariantCulture), int.Parse(f[3], CultureInfo.InvariantCulture),
            int.Parse(f[4], CultureInfo.InvariantCulture), Convert.FromHexString(f[5]), f[6]);
    }

    /// <summary>Writes each failing mutant as a .py file plus an index.tsv of both verdicts; returns the folder.</summary>
    private static string WriteFailures(Mutant[] mutants, string[] ours, Dictionary<string, byte[]> originals, List<int> failing)
    {
        var folder = Environment.GetEnvironmentVariable("ANCODER_MUTANT_FAILURES")
                     ?? Path.Combine(Path.GetTempPath(), "ancoder-mutant-failures");
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        var index = new StringBuilder("file\tmutant_of\toperation\ttoken\tours\tcpython\n");
        foreach (var i in failing)
        {
            var m = mutants[i];
            var name = $"{i:D5}_{Path.GetFileNameWithoutExtension(m.File)}_{m.Operation}_{m.TokenIndex}.py";
            File.WriteAllBytes(Path.Combine(folder, name), m.Apply(originals[m.File]));
            index.Append($"{name}\t{m.File}\t{m.Operation}\t{m.TokenIndex}\t{ours[i]}\t{m.CPythonVerdict}\n");
        }
        File.WriteAllText(Path.Combine(folder, "index.tsv"), index.ToString());
        return folder;
    }
}
