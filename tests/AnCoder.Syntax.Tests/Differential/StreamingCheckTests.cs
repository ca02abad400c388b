using System.Text;
using Xunit;

namespace AnCoder.Syntax.Tests.Differential;

/// <summary>PythonParser.Check (the streaming verdict, no tree kept) must give exactly Parse's verdict and error,
/// which the other differential tests compare with CPython.</summary>
public sealed class StreamingCheckTests
{
    [Fact]
    public void EveryStdlibFileGetsParsesVerdict()
    {
        var files = CPythonReference.StdlibFiles();
        var disagreements = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.ForEach(files, path =>
        {
            var bytes = File.ReadAllBytes(path);
            var parsed = PythonParser.Parse(bytes);
            var checkedError = PythonParser.Check(bytes);
            if (!Equals(parsed.Error, checkedError)) disagreements.Add($"{path}: Parse {parsed.Error} | Check {checkedError}");
        });
        Assert.True(disagreements.IsEmpty, string.Join('\n', disagreements.Take(20)));
    }

    public static TheoryData<string> Sources() => new()
    {
        // Long enough that the streaming parse drops tokens and memo entries several times before the end.
        string.Concat(Enumerable.Repeat("def f(a, b=1):\n    return [x for x in a if x > b]\n", 3000)),
        string.Concat(Enumerable.Repeat("x = 1\n", 20_000)) + "(\n",                      // error after compaction
        string.Concat(Enumerable.Repeat("x = 1\n", 20_000)) + "if x:\npass\n",            // indentation error
        string.Concat(Enumerable.Repeat("x = 1\n", 20_000)) + "x = 'abc\n",              // tokenizer error
        string.Concat(Enumerable.Repeat("x = 1\n", 20_000)) + "x = a" + string.Concat(Enumerable.Repeat(".a", 3000)) + "\n", // too deep for ast2obj
        "x = a" + string.Concat(Enumerable.Repeat(".a", 2988)) + "\n",                   // the deepest accepted chain
        "class A:\n" + string.Concat(Enumerable.Repeat("    def f(self):\n        pass\n", 10_000)),
    };

    [Theory]
    [MemberData(nameof(Sources))]
    public void GeneratedSourcesGetParsesVerdict(string source)
    {
        var bytes = Encoding.UTF8.GetBytes(source);
        Assert.Equal(PythonParser.Parse(bytes).Error, PythonParser.Check(bytes));
        Assert.Equal(PythonParser.Parse(source).Error, PythonParser.Check(source));
    }
}
