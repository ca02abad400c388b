using System.Text;
using AnCoder.Anchoring.Tokenization;
using AnCoder.Syntax;

namespace AnCoder.Diffusion.Sampling;

/// <summary>
/// What a repair round remasks in one canvas, and why: <see cref="Reason"/> is the parser's verdict on the text before
/// the remask ("SyntaxError at line L: message", lines of prompt + completion), shown by the trace page.
/// </summary>
public sealed record RepairRegion(IReadOnlyList<int> Positions, string Reason);

/// <summary>
/// Decides, for a finished canvas, whether it needs syntax repair and which generated positions to remask
/// (issue 17 item 1, past the paper: ReMDM remasks at random, this remasks where our parser says the program broke).
/// </summary>
public interface IRepairRegion
{
    /// <summary>
    /// The positions to remask in repair round <paramref name="round"/> (1-based), or null when the canvas needs no
    /// repair (its text parses) or nothing generated lies near the error.
    /// </summary>
    RepairRegion? Region(int[] ids, bool[] frozen, int round);
}

/// <summary>
/// Syntax-repair regions from our parser: the canvas's text (prompt and generated spans after end-of-text and the
/// stop-sequence cut, as evaluation cuts it) is parsed; when it fails, round 1 remasks the generated tokens of the
/// line CPython's SyntaxError names, and each further round the enclosing block one level further out (its header
/// line and every more-indented line below it).
/// </summary>
public sealed class SyntaxRepair(ByteLevelBpe tokenizer, int eosId, int padId, IReadOnlyList<string>? stopSequences = null) : IRepairRegion
{
    public RepairRegion? Region(int[] ids, bool[] frozen, int round)
    {
        var text = SampleTexts.Extract(ids, frozen, tokenizer, eosId, padId, stopSequences);
        var parsed = PythonParser.Parse(text.Text);
        if (parsed.Success || parsed.Error is not { } error) return null;
        var lineStarts = LineStarts(text.Bytes);
        int errorLine = Math.Clamp(error.Line, 1, lineStarts.Count);
        var (first, last) = RegionLines(Lines(text.Text), errorLine, round);
        var generated = text.Tokens.Where(t => !frozen[t.Position]).ToList();
        List<int> InLines(int a, int b)
        {
            int start = lineStarts[a - 1], end = b < lineStarts.Count ? lineStarts[b] : text.Bytes.Length;
            return generated.Where(t => t.End > start && t.Start < end)
                .Select(t => t.Position).ToList();
        }
        var region = InLines(first, last);
        // The error sits in the prompt (e.g. a header the completion never gave a body): the nearest generated line after it.
        for (int line = last + 1; region.Count == 0 && line <= lineStarts.Count; line++) region = InLines(line, line);
        for (int line = first - 1; region.Count == 0 && line >= 1; line--) region = InLines(line, line);
        return region.Count == 0 ? null : new RepairRegion(region, $"SyntaxError at line {error.Line}: {error.Message}");
    }

    /// <summary>
    /// The 1-based line range of round <paramref name="round"/> around <paramref name="errorLine"/>: round 1 the line
    /// itself; each further round the enclosing block (the nearest line above with less indentation, through the
    /// last following line that is blank or indented deeper than it). Stops growing at the top level.
    /// </summary>
    public static (int First, int Last) RegionLines(IReadOnlyList<string> lines, int errorLine, int round)
    {
        int first = Math.Clamp(errorLine, 1, Math.Max(1, lines.Count)), last = first;
        for (int r = 1; r < round; r++)
        {
            int indent = Indent(lines, first);
            int header = first - 1;
            while (header >= 1 && (IsBlank(lines[header - 1]) || Indent(lines, header) >= indent)) header--;
            if (header < 1) return (first, last);
            int headerIndent = Indent(lines, header);
            int end = Math.Max(last, header);
            while (end < lines.Count && (IsBlank(lines[end]) || Indent(lines, end + 1) > headerIndent)) end++;
            (first, last) = (header, end);
        }
        return (first, last);
    }

    private static bool IsBlank(string line) => line.Trim().Length == 0;

    private static int Indent(IReadOnlyList<string> lines, int line)
    {
        if (line < 1 || line > lines.Count) return 0;
        var text = lines[line - 1];
        int width = 0;
        foreach (char c in text)
        {
            if (c == ' ') width++;
            else if (c == '\t') width = (width / 8 + 1) * 8;
            else break;
        }
        return width;
    }

    private static List<string> Lines(string text) => text.Split('\n').ToList();

    /// <summary>Byte offset of the start of each line ('\n'-separated, as the parser counts lines).</summary>
    private static List<int> LineStarts(byte[] bytes)
    {
        var starts = new List<int> { 0 };
        for (int i = 0; i < bytes.Length; i++) if (bytes[i] == (byte)'\n' && i + 1 < bytes.Length) starts.Add(i + 1);
        return starts;
    }
}
