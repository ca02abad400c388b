using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace AnCoder.Syntax.Tests.Differential;

/// <summary>
/// (b) Hand-written files, one per grammar feature family (Cases/*.py), each compared with CPython's dump; and small
/// snippets whose verdict must equal <c>ast.parse</c>'s (Cases/invalid_snippets.txt, Cases/valid_tricky_snippets.txt).
/// </summary>
public sealed class CaseFileTests(ITestOutputHelper output)
{
    private static readonly Lazy<Dictionary<string, string>> CPythonDumps = new(() =>
        CPythonReference.DumpFiles(CaseFiles().Select(f => Path.Combine(CPythonReference.CasesDirectory, f)).ToArray()));

    private static IEnumerable<string> CaseFiles() =>
        Directory.EnumerateFiles(CPythonReference.CasesDirectory, "*.py").Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    public static TheoryData<string> CaseFileNames() => new(CaseFiles());

    [Theory]
    [MemberData(nameof(CaseFileNames))]
    public void CaseFileDumpsLikeCPython(string fileName)
    {
        var path = Path.Combine(CPythonReference.CasesDirectory, fileName);
        var reference = CPythonDumps.Value[path];
        Assert.False(OurParser.IsReject(reference), $"the case file itself must be valid Python 3.11: {reference}");
        var ours = OurParser.Dump(File.ReadAllBytes(path));
        if (ours != reference)
            output.WriteLine(UnifiedFirstDifference(ours, reference));
        Assert.True(ours == reference, $"{fileName}: {Agreement.Difference(ours, reference) ?? "dumps differ"}");
    }

    [Fact]
    public void InvalidSnippetsAreRejectedLikeCPython() => CompareSnippetVerdicts("invalid_snippets.txt", expectCPythonAccepts: false, minimum: 60);

    [Fact]
    public void TrickyValidSnippetsAreAcceptedLikeCPython() => CompareSnippetVerdicts("valid_tricky_snippets.txt", expectCPythonAccepts: true, minimum: 20);

    private void CompareSnippetVerdicts(string listName, bool expectCPythonAccepts, int minimum)
    {
        var (lines, sources) = ReadSnippets(Path.Combine(CPythonReference.CasesDirectory, listName));
        Assert.True(sources.Count >= minimum, $"{listName}: only {sources.Count} snippets");
        var cpython = CPythonReference.Verdicts(sources);

        var badData = lines.Where((_, i) => OurParser.IsReject(cpython[i]) == expectCPythonAccepts).ToList();
        Assert.True(badData.Count == 0, $"{listName} holds snippets CPython {(expectCPythonAccepts ? "rejects" : "accepts")}: {string.Join(" | ", badData)}");

        var failures = new List<string>();
        for (int i = 0; i < sources.Count; i++)
        {
            var ours = OurParser.Verdict(sources[i]);
            if (!Agreement.VerdictsAgree(ours, cpython[i])) failures.Add($"`{lines[i]}`: ours {ours} | cpython {cpython[i]}");
            else if (ours != cpython[i]) output.WriteLine($"same verdict, different message: `{lines[i]}`: ours {ours} | cpython {cpython[i]}");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {sources.Count} snippets get a different verdict than CPython:\n" + string.Join('\n', failures));
    }

    /// <summary>Reads a snippet list: one snippet per line with escapes \n \r \t \\ \0 \xHH (a raw byte); `#` lines are comments.</summary>
    public static (List<string> Lines, List<byte[]> Sources) ReadSnippets(string path)
    {
        var lines = new List<string>();
        var sources = new List<byte[]>();
        foreach (var line in File.ReadAllLines(path, Encoding.UTF8))
        {
            if (line.Length == 0 || line.StartsWith('#')) continue;
            lines.Add(line);
            sources.Add(Unescape(line));
        }
        return (lines, sources);
    }

    private static byte[] Unescape(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line);
        var result = new List<byte>(bytes.Length);
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == '\\' && i + 1 < bytes.Length)
            {
                switch ((char)bytes[i + 1])
                {
                    case 'n': result.Add((byte)'\n'); i++; continue;
                    case 'r': result.Add((byte)'\r'); i++; continue;
                    case 't': result.Add((byte)'\t'); i++; continue;
                    case '\\': result.Add((byte)'\\'); i++; continue;
                    case '0': result.Add(0); i++; continue;
                    case 'x' when i + 3 < bytes.Length:
                        result.Add(Convert.ToByte(Encoding.ASCII.GetString(bytes, i + 2, 2), 16));
                        i += 3;
                        continue;
                }
            }
            result.Add(bytes[i]);
        }
        return result.ToArray();
    }

    private static string UnifiedFirstDifference(string ours, string reference)
    {
        var a = ours.Split('\n');
        var b = reference.Split('\n');
        int i = 0;
        while (i < a.Length && i < b.Length && a[i] == b[i]) i++;
        var sb = new StringBuilder($"first difference at dump line {i + 1}:\n");
        for (int k = Math.Max(0, i - 3); k < i; k++) sb.Append("  ").Append(a[k]).Append('\n');
        for (int k = i; k < Math.Min(a.Length, i + 3); k++) sb.Append("- ours   ").Append(a[k]).Append('\n');
        for (int k = i; k < Math.Min(b.Length, i + 3); k++) sb.Append("+ cpython ").Append(b[k]).Append('\n');
        return sb.ToString();
    }
}
