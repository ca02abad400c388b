using AnCoder.Anchoring.Tokenization;
using AnCoder.Syntax;
using AnCoder.Syntax.Ast;
using AnCoder.Syntax.Text;
using AnCoder.Syntax.Tokenizing;

namespace AnCoder.Anchoring.Labels;

/// <summary>Per-token labels (docs/algorithms.md §6). Offsets are UTF-8 byte offsets into <see cref="LabelledSource.Bytes"/>.</summary>
public readonly record struct TokenLabel(int Id, int Start, int End, int Depth, bool Keyword, bool Identifier)
{
    public const int MaxDepth = ushort.MaxValue;
}

/// <summary>
/// A source, its BPE tokens and their AnchorTree labels: node(token) is the deepest positioned AST node whose byte
/// span intersects the token's (ties: earliest start, then first in pre-order; none: Module at depth 0); keyword and
/// identifier flags come from the NAME tokens of Python's <c>tokenize</c>.
/// A source that does not parse keeps its tokens, with every token labelled Module/0/no flags and
/// <see cref="Parsed"/> false (its anchor weights are all 0).
/// </summary>
/// <remarks>
/// <see cref="Bytes"/> is the file for UTF-8 sources (a BOM is kept and labelled Module), and the source re-encoded
/// as UTF-8 for sources with another PEP 263 coding cookie (then offsets are into that re-encoding).
/// </remarks>
public sealed class LabelledSource
{
    private readonly Node?[] _nodeOfToken;
    private Dictionary<Node, Node>? _parents;

    private LabelledSource(byte[] bytes, TokenLabel[] labels, Node?[] nodeOfToken, Module? module, PythonSyntaxError? error,
        SourceText? text = null, int shift = 0)
    {
        Text = text;
        Shift = shift;
        Bytes = bytes;
        Labels = labels;
        _nodeOfToken = nodeOfToken;
        Module = module;
        Error = error;
    }

    public byte[] Bytes { get; }
    /// <summary>The decoded source the AST positions refer to (null when it could not be decoded).</summary>
    public SourceText? Text { get; }
    /// <summary>Offset of <see cref="Text"/>'s first byte in <see cref="Bytes"/> (3 after a kept UTF-8 BOM, else 0).</summary>
    public int Shift { get; }
    public TokenLabel[] Labels { get; }
    public Module? Module { get; }
    public PythonSyntaxError? Error { get; }
    public bool Parsed => Module != null;

    /// <summary>node(i): the AST node of token i, or null for Module (no intersecting positioned node).</summary>
    public Node? NodeOf(int token) => _nodeOfToken[token];

    /// <summary>The CPython class name of node(i) (<c>Module</c> when none).</summary>
    public string NodeTypeOf(int token) => _nodeOfToken[token]?.TypeName ?? "Module";

    /// <summary>The AST ancestors of node(i), nearest first, ending with the Module (empty when node(i) is the Module).</summary>
    public IReadOnlyList<Node> AncestorsOf(int token)
    {
        var chain = new List<Node>();
        Node? node = _nodeOfToken[token];
        if (node is null || Module is null) return chain;
        var parents = Parents();
        while (parents.TryGetValue(node, out Node? parent))
        {
            chain.Add(parent);
            node = parent;
        }
        return chain;
    }

    /// <summary>§4.1's partial order: i ≺ j iff node(i) is a strict ancestor of node(j), or node(i) = node(j) and i &lt; j.</summary>
    public bool Precedes(int i, int j)
    {
        Node? a = _nodeOfToken[i], b = _nodeOfToken[j];
        if (ReferenceEquals(a, b)) return i < j;
        if (a is null) return Parsed; // the Module is an ancestor of every other node
        if (b is null) return false;
        return AncestorsOf(j).Contains(a);
    }

    private Dictionary<Node, Node> Parents()
    {
        if (_parents != null) return _parents;
        var parents = new Dictionary<Node, Node>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<Node>();
        stack.Push(Module!);
        while (stack.Count > 0)
        {
            Node node = stack.Pop();
            foreach (Node child in node.Children())
            {
                parents[child] = node;
                stack.Push(child);
            }
        }
        return _parents = parents;
    }

    /// <summary>Tokenizes and labels a file's bytes.</summary>
    public static LabelledSource Create(byte[] fileBytes, ByteLevelBpe bpe) => Create(fileBytes, bpe, -1);

    /// <summary>
    /// Tokenizes and labels UTF-8 source whose bytes [0, <paramref name="tokenBoundary"/>) and the rest are encoded
    /// separately, so no token crosses the boundary: a fine-tuning pair's prompt gets exactly the tokens it gets
    /// alone at evaluation (docs/corpus.md). A negative boundary encodes the whole source at once.
    /// </summary>
    public static LabelledSource Create(byte[] fileBytes, ByteLevelBpe bpe, int tokenBoundary)
    {
        if (!SourceText.TryDecode(fileBytes, out SourceText? text, out PythonSyntaxError? decodeError))
            return Unlabelled(fileBytes, bpe, null, decodeError, boundary: tokenBoundary);
        byte[] bytes;
        int shift = text!.BomLength;
        if (fileBytes.AsSpan(shift).SequenceEqual(text.Utf8)) bytes = fileBytes;
        else
        {
            bytes = text.Utf8;
            shift = 0;
            tokenBoundary = -1;
        }
        ParseResult parsed;
        try
        {
            parsed = PythonParser.Parse(fileBytes);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            return Unlabelled(bytes, bpe, null, new PythonSyntaxError($"parser failed: {exception.Message}", 0, 0), text, shift, tokenBoundary);
        }
        if (!parsed.Success) return Unlabelled(bytes, bpe, null, parsed.Error, text, shift, tokenBoundary);
        return Label(bytes, shift, text, parsed.Module!, bpe, tokenBoundary);
    }

    private static List<BpeToken> Encode(ByteLevelBpe bpe, byte[] bytes, int boundary)
    {
        if (boundary < 0 || boundary >= bytes.Length) return bpe.Encode(bytes);
        var tokens = bpe.Encode(bytes.AsSpan(0, boundary));
        foreach (var token in bpe.Encode(bytes.AsSpan(boundary))) tokens.Add(token with { Start = token.Start + boundary, End = token.End + boundary });
        return tokens;
    }

    private static LabelledSource Unlabelled(byte[] bytes, ByteLevelBpe bpe, Module? module, PythonSyntaxError? error,
        SourceText? text = null, int shift = 0, int boundary = -1)
    {
        var tokens = Encode(bpe, bytes, boundary);
        var labels = new TokenLabel[tokens.Count];
        for (int i = 0; i < labels.Length; i++) labels[i] = new TokenLabel(tokens[i].Id, tokens[i].Start, tokens[i].End, 0, false, false);
        return new LabelledSource(bytes, labels, new Node?[labels.Length], module, error, text, shift);
    }

    private static LabelledSource Label(byte[] bytes, int shift, SourceText text, Module module, ByteLevelBpe bpe, int boundary)
    {
        var tokens = Encode(bpe, bytes, boundary);
        int count = tokens.Count;
        var ends = new int[count];
        for (int i = 0; i < count; i++) ends[i] = tokens[i].End;

        var best = new Node?[count];
        var bestDepth = new int[count];
        var bestStart = new int[count];
        // Pre-order walk; a node replaces the current best only if strictly deeper, or as deep and starting earlier,
        // so among full ties the first in pre-order stays.
        var stack = new Stack<Node>();
        var children = new List<Node>();
        stack.Push(module);
        while (stack.Count > 0)
        {
            Node node = stack.Pop();
            if (node is PositionedNode positioned)
            {
                int start = shift + text.LineStartOffset(positioned.Lineno) + positioned.ColOffset;
                int end = shift + text.LineStartOffset(positioned.EndLineno) + positioned.EndColOffset;
                int depth = node.Depth;
                // First token whose end is after the node's start; then every token that starts before the node ends.
                int first = FirstTokenEndingAfter(ends, start);
                for (int t = first; t < count && tokens[t].Start < end; t++)
                {
                    if (best[t] is null || depth > bestDepth[t] || (depth == bestDepth[t] && start < bestStart[t]))
                    {
                        best[t] = node;
                        bestDepth[t] = depth;
                        bestStart[t] = start;
                    }
                }
            }
            children.Clear();
            children.AddRange(node.Children());
            for (int c = children.Count - 1; c >= 0; c--) stack.Push(children[c]);
        }

        var keyword = new bool[count];
        var identifier = new bool[count];
        // NAME tokens of the C tokenizer (parser mode): for a source that parses they are exactly the NAME tokens of
        // the tokenize module (which differs only in COMMENT/NL/ERRORTOKEN and on invalid input); the differential
        // test against python3's tokenize checks this.
        var nameTokens = new PythonTokenizer(text, TokenizerMode.Parser);
        while (nameTokens.TryNext(out Token token))
        {
            if (token.Kind != TokenKind.Name) continue;
            var flags = token.IsHardKeyword ? keyword : identifier;
            foreach (var (nameStart, nameEnd) in ModuleNameRuns(text.Utf8, token.StartOffset, token.EndOffset))
            {
                int start = shift + nameStart, end = shift + nameEnd;
                for (int t = FirstTokenEndingAfter(ends, start); t < count && tokens[t].Start < end; t++) flags[t] = true;
            }
        }

        var labels = new TokenLabel[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = new TokenLabel(tokens[i].Id, tokens[i].Start, tokens[i].End,
                Math.Min(best[i] is null ? 0 : bestDepth[i], TokenLabel.MaxDepth), keyword[i], identifier[i]);
        }
        return new LabelledSource(bytes, labels, best, module, null, text, shift);
    }

    /// <summary>
    /// The NAME tokens the tokenize module makes of one C-tokenizer NAME. They are the same token except when the
    /// identifier holds characters that are XID_Continue but not <c>\w</c> for Python's <c>re</c> (e.g. variation
    /// selectors): tokenize.py's <c>\w+</c> stops there and emits an ERRORTOKEN per such character, then a new NAME
    /// (or NUMBER, if a digit comes first). <c>\w</c> = a letter or number (str.isalnum) or '_'.
    /// </summary>
    private static IEnumerable<(int Start, int End)> ModuleNameRuns(byte[] utf8, int start, int end)
    {
        var span = utf8.AsSpan(start, end - start);
        if (System.Text.Ascii.IsValid(span))
        {
            yield return (start, end);
            yield break;
        }
        var runs = new List<(int, int)>();
        int runStart = -1, at = start;
        bool runIsName = false;
        while (at < end)
        {
            System.Text.Rune.DecodeFromUtf8(utf8.AsSpan(at, end - at), out System.Text.Rune rune, out int length);
            var category = System.Text.Rune.GetUnicodeCategory(rune);
            bool word = rune.Value == '_' || category <= System.Globalization.UnicodeCategory.OtherLetter
                        || category is System.Globalization.UnicodeCategory.DecimalDigitNumber
                            or System.Globalization.UnicodeCategory.LetterNumber or System.Globalization.UnicodeCategory.OtherNumber;
            if (word && runStart < 0)
            {
                runStart = at;
                runIsName = !(rune.Value < 128 && char.IsAsciiDigit((char)rune.Value)) && category != System.Globalization.UnicodeCategory.DecimalDigitNumber;
            }
            else if (!word && runStart >= 0)
            {
                if (runIsName) runs.Add((runStart, at));
                runStart = -1;
            }
            at += Math.Max(1, length);
        }
        if (runStart >= 0 && runIsName) runs.Add((runStart, end));
        foreach (var run in runs) yield return run;
    }

    private static int FirstTokenEndingAfter(int[] ends, int offset)
    {
        int lo = 0, hi = ends.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (ends[mid] > offset) hi = mid; else lo = mid + 1;
        }
        return lo;
    }

    /// <summary>γ_i for every token.</summary>
    public double[] Weights(in AnchorWeightOptions options)
    {
        var weights = new double[Labels.Length];
        for (int i = 0; i < weights.Length; i++)
        {
            ref readonly TokenLabel label = ref Labels[i];
            weights[i] = AnchorWeights.Weight(options, label.Depth, label.Keyword, label.Identifier, Parsed);
        }
        return weights;
    }
}
