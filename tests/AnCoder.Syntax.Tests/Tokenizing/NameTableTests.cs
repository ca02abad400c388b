using System.Text;
using AnCoder.Syntax.Ast;
using Xunit;
using Assert = Xunit.Assert;

namespace AnCoder.Syntax.Tests.Tokenizing;

/// <summary>The per-thread name table (src/AnCoder.Syntax/Tokenizing/NameTable.cs) is shared by every parse on a
/// thread and starts over once it holds 4,096 spellings: names must come back right across that, short and long,
/// ASCII and non-ASCII (NFKC-normalised), in files parsed one after another.</summary>
public sealed class NameTableTests
{
    /// <summary>Identifier number <paramref name="i"/> of file <paramref name="file"/>: the files share half their
    /// names, so spellings are found again after the table started over; lengths 1 to 20 bytes around the table's
    /// 8-byte prefix; every 7th is non-ASCII, every 11th spelled with a compatibility character that NFKC folds.</summary>
    private static (string Spelling, string Normalized) Identifier(int file, int i)
    {
        int n = i % 2 == 0 ? i : i + 100_000 * file;
        string stem = "v" + n.ToString("x");
        string padded = stem + new string('_', n % 20 >= stem.Length ? n % 20 - stem.Length : 0);
        if (i % 11 == 0) return ("ﬁ" + padded, "fi" + padded); // U+FB01 LATIN SMALL LIGATURE FI -> "fi"
        if (i % 7 == 0) return ("é" + padded, "é" + padded);
        return (padded, padded);
    }

    [Fact]
    public void Names_come_back_right_across_files_and_restarts_of_the_table()
    {
        const int NamesPerFile = 3_000; // three files pass the table's 4,096 spellings
        for (int pass = 0; pass < 2; pass++)
            for (int file = 0; file < 3; file++)
            {
                var expected = new List<string>();
                var source = new StringBuilder();
                for (int i = 0; i < NamesPerFile; i++)
                {
                    var (spelling, normalized) = Identifier(file, i);
                    source.Append(spelling).Append(" = 1\n");
                    expected.Add(normalized);
                }
                var result = PythonParser.Parse(Encoding.UTF8.GetBytes(source.ToString()));
                Assert.True(result.Success, result.Error?.ToString());
                var ids = result.Module!.Body.Select(s => ((Name)((Assign)s).Targets[0]).Id).ToList();
                Assert.Equal(expected, ids);
            }
    }
}
