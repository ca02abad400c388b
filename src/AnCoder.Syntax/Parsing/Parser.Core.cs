using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using AnCoder.Syntax.Ast;
using Attribute = AnCoder.Syntax.Ast.Attribute;
using Tuple = AnCoder.Syntax.Ast.Tuple;
using AnCoder.Syntax.Text;
using AnCoder.Syntax.Tokenizing;

namespace AnCoder.Syntax.Parsing;

/// <summary>
/// A hand-written port of CPython 3.11's PEG parser (Grammar/python.gram, first pass: no invalid_* rules).
/// Ordered choice uses mark/reset; left-recursive rules are loops equivalent to pegen's seed growing; the rules
/// pegen memoises (plus left-recursive t_primary) are memoised per token position.
/// Every rule call counts one level (two for pegen's left-recursive rules, which go through a _raw function),
/// like pegen's <c>p->level</c>, and more than <see cref="MaxStack"/> nested levels reject the input.
/// </summary>
internal sealed partial class Parser
{
    /// <summary>pegen's MAXSTACK (Parser/parser.c, 3.11).</summary>
    public const int MaxStack = 6000;

    private readonly PythonTokenizer _tokenizer;
    private readonly SourceText _text;
    /// <summary>ast.parse(bytes): CPython reports error columns in bytes; for str sources in characters.</summary>
    private readonly bool _bytesSource;
    private readonly byte[] _source;
    private Token[] _tokens;
    private string?[] _names;
    /// <summary>Memo heads per token, for tokens from <see cref="_memoBase"/> on (the memo window).</summary>
    private MemoEntry?[] _memo;
    /// <summary>First token position the memo arrays cover: entries before it were dropped when a top-level statement
    /// ended (no rule backtracks into an earlier top-level statement), so the memo holds one statement's entries and
    /// the intermediate nodes of failed alternatives die young.</summary>
    private int _memoBase;
    /// <summary>Memo of the hot rules, <see cref="HotRuleCount"/> slots per token: value and end mark + 1 (0 = none).</summary>
    private object?[] _hotValues;
    private int[] _hotEnds;
    private Buffers? _buffers;
    private int _fill;
    private int _mark;
    private int _level;
    private readonly bool _isFString;
    /// <summary>Verdict only (<see cref="ParseFileStreaming"/>): finished top-level statements are depth-checked and
    /// dropped, and their tokens and memo entries are discarded.</summary>
    private readonly bool _streaming;
    /// <summary>Tokens of finished top-level statements are dropped (<see cref="CompactTokens"/>): a streaming parse,
    /// or a full parse of a large source (its tree is kept, its tokens are not). After a compaction the error passes
    /// cannot run (they re-read the file from token 0): <see cref="DroppedTokens"/> tells the caller to parse again
    /// with every token kept.</summary>
    private readonly bool _windowed;
    /// <summary>Tokens consumed before a streaming parse compacts its arrays (amortises the copy of the lookahead).</summary>
    private const int StreamingWindowTokens = 1 << 14;
    /// <summary>Tokens dropped by compaction so far (a windowed parse's token i is the file's token i + this).</summary>
    private int _droppedTokens;
    private int _peakTokensHeld;

    /// <summary>The most tokens the last (non-f-string) parser released on this thread held at once: the size of
    /// its token window, which memory tests bound.</summary>
    [ThreadStatic] internal static int LastPeakTokensHeld;

    /// <summary>Tokens of finished top-level statements this parse dropped (0 when the whole file fitted the window).</summary>
    public int DroppedTokens => _droppedTokens;
    private readonly int _lineShift;
    private readonly int _firstLineColShift;

    /// <summary>
    /// A predicting parse takes shortcuts that are exact for every source it accepts but may move where it stops on a
    /// source it rejects (<see cref="ScanAssignmentSigns"/> reads a statement's tokens ahead), and it gives up
    /// <see cref="PredictionLevelMargin"/> levels before <see cref="MaxStack"/>: its caller parses a rejected source
    /// again without predicting, for CPython's exact error (PythonParser.ParseOnThisThread).
    /// </summary>
    private readonly bool _predicting;

    /// <summary>Levels below <see cref="MaxStack"/> at which a predicting parse gives up: a skipped assignment
    /// attempt never nests deeper than the expression parse that follows it by more than this (its targets go
    /// through fewer rules per bracket than expressions), so a statement whose assignment attempt would reach MaxStack
    /// makes the predicting parse give up too.</summary>
    private const int PredictionLevelMargin = 512;

    public Parser(SourceText text, bool bytesSource, bool streaming = false, bool windowed = false, bool predicting = false)
    {
        _predicting = predicting;
        _text = text;
        _bytesSource = bytesSource;
        _streaming = streaming;
        _windowed = streaming || windowed;
        _tokenizer = new PythonTokenizer(text);
        _source = text.Utf8;
        var source = _source;
        _buffers = Take(ref t_cachedBuffers) ?? Take(ref t_cachedSubBuffers) ?? new Buffers();
        // A windowed parse keeps one top-level statement's tokens at a time: its arrays grow only as needed.
        int tokenEstimate = source.Length / 4 + 64;
        _buffers.EnsureCapacity(_windowed ? Math.Min(tokenEstimate, StreamingWindowTokens) : tokenEstimate, Math.Min(tokenEstimate, StreamingWindowTokens));
        _tokens = _buffers.Tokens;
        _names = _buffers.Names;
        _memo = _buffers.Memo;
        _hotValues = _buffers.HotValues;
        _hotEnds = _buffers.HotEnds;
        _collected = _buffers.Collected;
    }

    /// <summary>Token and memo arrays, reused by the next parse on the same thread (cleared on release).</summary>
    private sealed class Buffers
    {
        public Token[] Tokens = new Token[256];
        public string?[] Names = new string?[256];
        public MemoEntry?[] Memo = new MemoEntry?[256];
        public object?[] HotValues = new object?[256 * HotRuleCount];
        public int[] HotEnds = new int[256 * HotRuleCount];
        public Node?[] Collected = new Node?[64];

        public void EnsureCapacity(int tokens, int memoTokens)
        {
            if (Tokens.Length < tokens)
            {
                Tokens = new Token[tokens];
                Names = new string?[tokens];
            }
            if (Memo.Length < memoTokens)
            {
                Memo = new MemoEntry?[memoTokens];
                HotValues = new object?[memoTokens * HotRuleCount];
                HotEnds = new int[memoTokens * HotRuleCount];
            }
        }
    }

    private static Buffers? Take(ref Buffers? slot)
    {
        var b = slot;
        slot = null;
        return b;
    }

    [ThreadStatic] private static Buffers? t_cachedBuffers;
    /// <summary>A second set, for the f-string sub-parsers that run while the main parse holds the first.</summary>
    [ThreadStatic] private static Buffers? t_cachedSubBuffers;

    /// <summary>Returns the arrays for reuse; the parser must not be used afterwards.</summary>
    public void Release()
    {
        if (!_isFString)
        {
            LastPeakTokensHeld = Math.Max(_peakTokensHeld, _fill);
            AnCoder.Syntax.Parsing.Strings.StringConstants.Clear(); // the parse's shared constants belong to its tree (and its f-string fields')
        }
        Interlocked.Add(ref s_totalWork, _work);
        _work = 0;
        if (_buffers == null) return;
        int n = _fill + 1;
        Array.Clear(_names, 0, Math.Min(n, _names.Length));
        ClearMemo();
        _buffers.Tokens = _tokens;
        _buffers.Names = _names;
        _buffers.Memo = _memo;
        _buffers.HotValues = _hotValues;
        _buffers.HotEnds = _hotEnds;
        Array.Clear(_collected, 0, _collectedCount); // an aborted parse leaves its partial lists here
        _collectedCount = 0;
        _buffers.Collected = _collected;
        if (_tokens.Length <= 1 << 20)
        {
            // The larger set goes to the first slot, which the next main parse takes first.
            if (t_cachedBuffers == null) t_cachedBuffers = _buffers;
            else if (t_cachedBuffers.Tokens.Length < _tokens.Length)
            {
                t_cachedSubBuffers = t_cachedBuffers;
                t_cachedBuffers = _buffers;
            }
            else t_cachedSubBuffers = _buffers;
        }
        _buffers = null;
    }

    /// <summary>Sub-parser for an f-string replacement field (CPython 3.11 fstring_compile_expr).</summary>
    public Parser(SourceText text, bool bytesSource, int firstLineno, int firstLineColOffset)
        : this(text, bytesSource)
    {
        _isFString = true;
        _lineShift = firstLineno - 1;
        _firstLineColShift = firstLineColOffset;
    }

    private sealed class MemoEntry(int rule, object? value, int end, MemoEntry? next)
    {
        public readonly int Rule = rule;
        public readonly object? Value = value;
        public readonly int End = end;
        public readonly MemoEntry? Next = next;
    }

    /// <summary>Aborts the whole parse with a syntax error (pegen's error_indicator).</summary>
    internal sealed class ParseAbort(PythonSyntaxError error, bool fromTokenizerOrFinal = false) : Exception(error.Message)
    {
        public PythonSyntaxError Error { get; } = error;
        /// <summary>A tokenizer error, a final error (already checked) or a non-SyntaxError (MemoryError): no
        /// full-source check follows.</summary>
        public bool IsFinal { get; } = fromTokenizerOrFinal;
    }

    /// <summary>The current thread's stack is too small for this input: rerun on a big-stack thread.</summary>
    internal sealed class StackNeeded : Exception { }

    // ----------------------------------------------------------------------------------------- exact-size lists

    /// <summary>The elements of the lists being built, innermost last: a rule notes <see cref="_collectedCount"/>,
    /// collects its elements (<see cref="Collect"/>; nested rules collect theirs above them and take them off before
    /// it goes on), and makes the node's list field from them at its exact size (<see cref="CollectedList{T}"/>) or
    /// drops them when it fails (<see cref="DropCollected"/>). A List per field, grown by doubling and copied into an
    /// array when the statement was compacted, made a third of what a parse allocated.</summary>
    private Node?[] _collected;
    private int _collectedCount;

    private void Collect(Node? node)
    {
        if (_collectedCount == _collected.Length) Array.Resize(ref _collected, _collected.Length * 2);
        // Through a ref: the covariant store check of Node?[] is a helper call for every element otherwise.
        Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_collected), _collectedCount++) = node;
    }

    private void DropCollected(int mark)
    {
        Array.Clear(_collected, mark, _collectedCount - mark); // no references to dropped nodes stay behind
        _collectedCount = mark;
    }

    /// <summary>The elements collected since <paramref name="mark"/> as a list field's value (an exact-size array, the
    /// element itself when there is one, nothing when none: <see cref="AstLists.Handoff{T}"/>), taken off.</summary>
    private List<T> CollectedList<T>(int mark) where T : Node? => CollectedEvery<T>(mark, 0, 1, drop: true);

    /// <summary><see cref="CollectedList{T}"/>'s storage itself, for a rule result that several nodes may take
    /// (pass it on with <see cref="AstLists.Handoff{T}"/>).</summary>
    private object? CollectedStorage<T>(int mark) where T : Node?
    {
        object? storage = Storage<T>(mark, 0, 1);
        DropCollected(mark);
        return storage;
    }

    /// <summary>Every <paramref name="stride"/>-th element collected since <paramref name="mark"/>, from
    /// <paramref name="offset"/> on (two lists collected in step: Compare's ops and comparators).</summary>
    private List<T> CollectedEvery<T>(int mark, int offset, int stride, bool drop) where T : Node?
    {
        object? storage = Storage<T>(mark, offset, stride);
        if (drop) DropCollected(mark);
        return AstLists.Handoff<T>(storage);
    }

    /// <summary>A list field's value made from <paramref name="items"/>, which the caller gives up (kept as the
    /// field's array when it has two or more elements).</summary>
    private static List<T> ExactList<T>(T[] items) where T : Node? =>
        AstLists.Handoff<T>(items.Length switch
        {
            0 => null,
            1 when items[0] is { } only => only, // a None element stays in an array: null means empty
            _ => items,
        });

    private object? Storage<T>(int mark, int offset, int stride) where T : Node?
    {
        int count = (_collectedCount - mark - offset + stride - 1) / stride;
        object? storage;
        if (count <= 0) storage = null;
        else if (count == 1 && _collected[mark + offset] is { } only) storage = only; // a None element stays in an array
        else
        {
            var array = new T[count];
            ref T first = ref MemoryMarshal.GetArrayDataReference(array);
            for (int i = 0; i < count; i++)
                Unsafe.Add(ref first, i) = Unsafe.As<Node?, T>(ref _collected[mark + offset + i * stride]);
            storage = array;
        }
        return storage;
    }

    // ----------------------------------------------------------------------------------------- tokens

    private void FillOne()
    {
        _work++;
        if (_fill == _tokens.Length)
        {
            Array.Resize(ref _tokens, _fill * 2);
            Array.Resize(ref _names, _fill * 2);
        }
        if (_fill + 1 - _memoBase >= _memo.Length)
        {
            int memoTokens = (_fill + 1 - _memoBase) * 2;
            Array.Resize(ref _memo, memoTokens);
            Array.Resize(ref _hotValues, memoTokens * HotRuleCount);
            Array.Resize(ref _hotEnds, memoTokens * HotRuleCount);
        }
        if (_fill > 0 && _tokens[_fill - 1].Kind == TokenKind.EndMarker)
        {
            _tokens[_fill] = _tokens[_fill - 1];
            _fill++;
            return;
        }
        // The tokenizer writes the token into its slot (one 32-byte copy less per token).
        ref Token token = ref _tokens[_fill];
        if (!_tokenizer.TryNext(out token))
            throw new ParseAbort(AdjustError(_tokenizer.Error ?? new PythonSyntaxError("invalid syntax", 1, 1)), true);
        if (_isFString)
        {
            // CPython 3.11 initialize_token: columns shift while the tokenizer is on the starting line.
            if (token.EndLine == 1)
                token = token with { StartColumn = token.StartColumn + _firstLineColShift, EndColumn = token.EndColumn + _firstLineColShift };
            token = token with { StartLine = token.StartLine + _lineShift, EndLine = token.EndLine + _lineShift };
        }
        // Hard keywords need no string: every reader of _names skips them (NameId, NameNode, Atom) or looks for
        // print/exec (LegacyPrintCall), which are not keywords.
        if (token.Kind == TokenKind.Name && !token.IsHardKeyword) _names[_fill] = _tokenizer.LastName;
        _fill++;
    }

    private PythonSyntaxError AdjustError(PythonSyntaxError e)
    {
        if (!_isFString) return e;
        return e with { Line = e.Line + _lineShift, Message = e.Message.StartsWith("f-string", StringComparison.Ordinal) ? e.Message : "f-string: " + e.Message };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref readonly Token Peek()
    {
        if (_mark == _fill) FillOne();
        return ref _tokens[_mark];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref readonly Token PeekAt(int index)
    {
        while (index >= _fill) FillOne();
        return ref _tokens[index];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool AtOp(OpKind op) => Peek().Op == op;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool AtKw(KeywordKind kw) => Peek().Keyword == kw;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool AtKind(TokenKind kind) => Peek().Kind == kind;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Op(OpKind op)
    {
        if (Peek().Op != op) return false;
        _mark++;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Kw(KeywordKind kw)
    {
        if (Peek().Keyword != kw) return false;
        _mark++;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Kind(TokenKind kind)
    {
        if (Peek().Kind != kind) return false;
        _mark++;
        return true;
    }

    /// <summary>The augmented assignment operators (<c>+=</c> … <c>@=</c>).</summary>
    private static bool IsAugmentedAssignment(OpKind op) =>
        op is OpKind.PlusEqual or OpKind.MinusEqual or OpKind.StarEqual or OpKind.SlashEqual or OpKind.PercentEqual
            or OpKind.AmpersandEqual or OpKind.VerticalBarEqual or OpKind.CircumflexEqual or OpKind.LeftShiftEqual
            or OpKind.RightShiftEqual or OpKind.DoubleStarEqual or OpKind.DoubleSlashEqual or OpKind.AtEqual;

    /// <summary>Where <see cref="NextOutsideBrackets"/> stopped.</summary>
    private enum OutsideBrackets { Operator, LineEnd, Unbalanced, TooFar }

    /// <summary>Reads ahead from token <paramref name="i"/> to the next operator outside brackets (the bracketed
    /// parts skipped), returned in <paramref name="op"/> with <paramref name="i"/> just past it; or stops at a
    /// NEWLINE or ENDMARKER, at a closing bracket whose opening one came before <paramref name="i"/>, or at token
    /// <paramref name="limit"/>. For a predicting parse's scans only (reading ahead moves the last token read).</summary>
    private OutsideBrackets NextOutsideBrackets(ref int i, int limit, out OpKind op)
    {
        int depth = 0;
        op = OpKind.None;
        for (; i < limit; i++)
        {
            ref readonly var t = ref PeekAt(i);
            if (t.Kind is TokenKind.Newline or TokenKind.EndMarker) return OutsideBrackets.LineEnd;
            switch (t.Op)
            {
                case OpKind.None:
                    break;
                case OpKind.LeftParen or OpKind.LeftSquareBracket or OpKind.LeftBrace:
                    depth++;
                    break;
                case OpKind.RightParen or OpKind.RightSquareBracket or OpKind.RightBrace:
                    if (--depth < 0) return OutsideBrackets.Unbalanced;
                    break;
                default:
                    if (depth > 0) break;
                    op = t.Op;
                    i++;
                    return OutsideBrackets.Operator;
            }
        }
        return OutsideBrackets.TooFar;
    }

    /// <summary>pegen's <c>&&</c> forced token: a mismatch is an immediate SyntaxError at the current token.</summary>
    private void ForcedOp(OpKind op, string text)
    {
        if (Op(op)) return;
        throw new ParseAbort(ErrorAtToken(_mark, $"expected '{text}'"));
    }

    /// <summary>A NAME token that is not a hard keyword (soft keywords are names); returns its id and advances.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private string? NameId()
    {
        ref readonly var t = ref Peek();
        if (t.Kind != TokenKind.Name || t.IsHardKeyword) return null;
        return _names[_mark++];
    }

    private Name? NameNode(ExprCtx ctx = ExprCtx.Load)
    {
        ref readonly var t = ref Peek();
        if (t.Kind != TokenKind.Name || t.IsHardKeyword) return null;
        var n = new Name { Id = _names[_mark]!, Ctx = NewContext(ctx) };
        n.SetPosition(t.StartLine, t.StartColumn, t.EndLine, t.EndColumn);
        _mark++;
        return n;
    }

    private bool AtSoftKeyword(KeywordKind kw)
    {
        ref readonly var t = ref Peek();
        return t.Kind == TokenKind.Name && t.Keyword == kw;
    }

    // ----------------------------------------------------------------------------------------- levels, memo

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Enter()
    {
        _work++;
        if (++_level > MaxStack || (_level & 15) == 0) CheckDepth();
    }

    /// <summary>Units of work of this parser: rule calls, tokens read, steps of backward token scans.</summary>
    private long _work;
    private static long s_totalWork;

    /// <summary>Work done by every parser released so far in this process (f-string sub-parsers and error passes
    /// included): a machine-independent measure of parsing cost, for the linear-work tests.</summary>
    internal static long TotalWork => Interlocked.Read(ref s_totalWork);

    /// <summary>A pegen left-recursive rule: the rule function plus its _raw function.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Enter2()
    {
        Enter();
        Enter();
    }

    private unsafe void CheckDepth()
    {
        if (_level > MaxStack || (_predicting && _level > MaxStack - PredictionLevelMargin))
            throw new ParseAbort(new PythonSyntaxError("too complex (parser stack overflow)", Peek().StartLine, 0), true);
        byte probe = 0;
        nint limit = _stackLimit;
        if (limit != 0 ? (nint)(&probe) < limit : !RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw new StackNeeded();
    }

    /// <summary>Lowest stack address this thread's parse may reach (0: use the runtime's check). Set by
    /// <see cref="PythonParser"/>: a small budget on the caller's thread (deep inputs then move to a big-stack
    /// thread), nearly the whole stack on that dedicated thread.</summary>
    [ThreadStatic] internal static nint StackLimit;

    /// <summary><see cref="StackLimit"/> as it was when this parser was made (on the thread that runs it): read once,
    /// because a thread-static read in <see cref="CheckDepth"/> went through <c>__tls_get_addr</c> on every 16th level.</summary>
    private readonly nint _stackLimit = StackLimit;

    /// <summary>Sets <see cref="StackLimit"/> to <paramref name="budgetBytes"/> below the caller's frame.</summary>
    internal static unsafe void SetStackBudget(long budgetBytes)
    {
        byte probe = 0;
        StackLimit = (nint)(&probe) - (nint)budgetBytes;
    }

    private bool TryMemo<T>(int rule, out T? value) where T : class
    {
        if (_mark == _fill) FillOne();
        for (var e = _memo[_mark - _memoBase]; e != null; e = e.Next)
        {
            if (e.Rule == rule)
            {
                value = (T?)e.Value;
                _mark = e.End;
                return true;
            }
        }
        value = null;
        return false;
    }

    /// <summary>A primary that <see cref="LonePrimary"/> parsed and the chain will ask for again at the same token
    /// (-1: none). Dropped with the memo: it is a one-entry memo of primary.</summary>
    private int _parkedPrimaryStart = -1;
    private int _parkedPrimaryEnd;
    private ExprNode? _parkedPrimary;
    /// <summary>The second pass's invalid_* rules change what primary yields: a parked primary serves only the pass
    /// state it was parsed in.</summary>
    private bool _parkedWithInvalidRules;

    private void Memo(int rule, int start, object? value) =>
        _memo[start - _memoBase] = new MemoEntry(rule, value, _mark, _memo[start - _memoBase]);

    /// <summary>Clears every memo entry in the window.</summary>
    private void ClearMemo()
    {
        _parkedPrimaryStart = -1;
        _parkedPrimary = null;
        int n = Math.Min(_fill + 1 - _memoBase, _memo.Length);
        if (n <= 0) return;
        Array.Clear(_memo, 0, n);
        Array.Clear(_hotValues, 0, n * HotRuleCount);
        Array.Clear(_hotEnds, 0, n * HotRuleCount);
    }

    /// <summary>A top-level statement ended at <see cref="_mark"/>: drop the memo entries (see <see cref="_memoBase"/>).
    /// Entries of the lookahead already read are dropped too; the memo is only a cache.</summary>
    private void AdvanceMemoWindow()
    {
        if (_mark - _memoBase < MemoWindowSlack) return;
        ClearMemo();
        _memoBase = _mark;
    }

    /// <summary>Tokens a top-level statement boundary may leave in the memo before it is cleared (amortises the
    /// clearing over many small statements).</summary>
    private const int MemoWindowSlack = 4096;

    private const int HotRuleCount = 7;
    private const int HotExpression = 0, HotStarExpression = 1, HotStarTarget = 2, HotTargetWithStarAtom = 3,
        HotArguments = 4, HotStrings = 5, HotTPrimary = 6;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryHotMemo<T>(int slot, out T? value) where T : class
    {
        if (_mark == _fill) FillOne();
        int i = (_mark - _memoBase) * HotRuleCount + slot;
        int end = _hotEnds[i];
        if (end == 0)
        {
            value = null;
            return false;
        }
        value = Unsafe.As<T>(_hotValues[i]);
        _mark = end - 1;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void HotMemo(int slot, int start, object? value)
    {
        int i = (start - _memoBase) * HotRuleCount + slot;
        _hotEnds[i] = _mark + 1; // bounds-checked: _hotValues has the same length
        // A store through a ref skips the call to CastHelpers.StelemRef that `_hotValues[i] = value` makes.
        Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_hotValues), i) = value;
    }

    // ----------------------------------------------------------------------------------------- positions

    private static bool IsWhitespaceToken(TokenKind k) =>
        k is TokenKind.Newline or TokenKind.Indent or TokenKind.Dedent or TokenKind.EndMarker;

    /// <summary>pegen's EXTRA: start of the rule's first token, end of the last non-whitespace token consumed
    /// (<c>_PyPegen_get_last_nonnwhitespace_token</c>).</summary>
    private T At<T>(T node, int start) where T : PositionedNode
    {
        ref readonly var s = ref _tokens[start];
        int e = _mark - 1;
        while (e > 0 && IsWhitespaceToken(_tokens[e].Kind))
        {
            e--;
            _work++;
        }
        if (e < 0) e = 0;
        ref readonly var t = ref _tokens[e];
        node.SetPosition(s.StartLine, s.StartColumn, t.EndLine, t.EndColumn); // one store of the packed end line
        return node;
    }

    private static T CopyPos<T>(T node, PositionedNode from) where T : PositionedNode
    {
        node.SetPosition(from.Lineno, from.ColOffset, from.EndLineno, from.EndColOffset);
        return node;
    }

    // ----------------------------------------------------------------------------------------- errors

    /// <summary>CPython's SyntaxError location for a token: 1-based column, in characters for str sources and in
    /// bytes for ast.parse(bytes) (_PyPegen_raise_error_known_location). In an f-string sub-parser the message gets
    /// the "f-string: " prefix and the column loses starting_col_offset, as in CPython.</summary>
    internal PythonSyntaxError ErrorAtToken(int index, string message, bool prefix = true)
    {
        ref readonly var t = ref _tokens[index];
        return ErrorAt(t.StartLine, t.StartColumn, t.StartOffset - t.StartColumn, message, prefix);
    }

    private PythonSyntaxError ErrorAt(int line, int byteColumn, int lineStartOffset, string message, bool prefix = true)
    {
        int col = byteColumn;
        if (_isFString) col -= _firstLineColShift;
        else if (!_bytesSource && lineStartOffset >= 0 && lineStartOffset + byteColumn <= _source.Length && byteColumn > 0)
            col = SourceText.CountChars(_source.AsSpan(lineStartOffset, byteColumn));
        return new PythonSyntaxError(prefix ? AdjustMessage(message) : message, line, col + 1);
    }

    private string AdjustMessage(string message) => _isFString ? "f-string: " + message : message;

    /// <summary>The first pass failed: CPython 3.11 _PyPegen_set_syntax_error with the first pass's last token
    /// (p->tokens[p->fill - 1]), then _PyPegen_tokenize_full_source_to_check_for_errors.</summary>
    private PythonSyntaxError GenericError()
    {
        int last = Math.Max(0, _fill - 1);
        ref readonly var t = ref _tokens[last];
        if (MissingIndentedBlock(last) is { } indentation) return indentation;
        if (t.Kind is TokenKind.Indent or TokenKind.Dedent)
        {
            // INDENT/DEDENT have no position in CPython (col_offset -1): _PyPegen_raise_error uses the tokenizer's
            // cursor, i.e. the end of the indentation, without the usual +1.
            var e = ErrorAtToken(last, t.Kind == TokenKind.Indent ? "unexpected indent" : "unexpected unindent");
            return e with { Column = e.Column - 1 };
        }
        var generic = SecondPassError() ?? MissingColon(last) ?? LegacyPrintCall(last) ?? ErrorAtToken(last, "invalid syntax");
        return CheckRestOfSource(generic);
    }

    private bool _callInvalidRules;
    private int[]? _bracketLevels;
    private int _bracketLevelsFilled;
    private int _bracketDepth;

    /// <summary>The tokenizer's bracket nesting after token <paramref name="index"/> (CPython's token->level).</summary>
    private int BracketLevelAfter(int index)
    {
        if (index < 0) return 0;
        if (_bracketLevels == null || _bracketLevels.Length < _fill) Array.Resize(ref _bracketLevels, Math.Max(_fill, 64) * 2);
        while (_bracketLevelsFilled <= index && _bracketLevelsFilled < _fill)
        {
            var op = _tokens[_bracketLevelsFilled].Op;
            if (op is OpKind.LeftParen or OpKind.LeftSquareBracket or OpKind.LeftBrace) _bracketDepth++;
            else if (op is OpKind.RightParen or OpKind.RightSquareBracket or OpKind.RightBrace && _bracketDepth > 0) _bracketDepth--;
            _bracketLevels[_bracketLevelsFilled++] = _bracketDepth;
        }
        return index < _bracketLevelsFilled ? _bracketLevels[index] : _bracketDepth;
    }

    /// <summary>
    /// A reduced version of CPython's second pass (reset_parser_state_for_error_pass: memo cleared, invalid_* rules
    /// on): only invalid_expression's missing-comma alternative is ported. Returns the error it raises, a tokenizer
    /// error met while reading further, or null.
    /// </summary>
    private PythonSyntaxError? SecondPassError()
    {
        if (_isFString) return null;
        ClearMemo();
        _memoBase = 0;
        _mark = 0;
        _level = 0;
        _callInvalidRules = true;
        try
        {
            File();
            return null;
        }
        catch (ParseAbort abort)
        {
            return abort.Error;
        }
        finally
        {
            _callInvalidRules = false;
        }
    }

    private PythonSyntaxError ErrorAtNodeStart(PositionedNode node, int startToken, string message) =>
        ErrorAtToken(startToken, message);

    /// <summary>
    /// CPython 3.11 _PyPegen_tokenize_full_source_to_check_for_errors, run when the parser (not the tokenizer)
    /// raised a SyntaxError: the rest of the source is tokenized, and a tokenizer error that CPython raises as an
    /// exception replaces <paramref name="current"/>; an unclosed bracket does so only when it was opened on a line
    /// before the last token read.
    /// </summary>
    internal PythonSyntaxError CheckRestOfSource(PythonSyntaxError current)
    {
        if (_fill == 0) return current;
        ref readonly var t = ref _tokens[_fill - 1];
        if (t.Kind == TokenKind.EndMarker) return current;
        while (_tokenizer.TryNext(out var next))
        {
            if (next.Kind == TokenKind.EndMarker) return current;
        }
        if (_tokenizer.Error is not { } te) return current;
        if (te.Message.EndsWith("was never closed", StringComparison.Ordinal))
            return te.Line < t.StartLine ? AdjustError(te) : current;
        // Errors the C tokenizer only reports through tok->done (no exception raised) leave the current error.
        if (te.Message is "unindent does not match any outer indentation level"
            or "inconsistent use of tabs and spaces in indentation" or "too many levels of indentation"
            or "unexpected character after line continuation character" or "unexpected EOF while parsing")
            return current;
        return AdjustError(te);
    }

    /// <summary>
    /// The message of CPython's second-pass invalid_*_indent rules ("expected an indented block after ... on line
    /// N"): the first pass stopped right after a compound statement header's ':' NEWLINE at a token that is not an
    /// INDENT. Located like RAISE_INDENTATION_ERROR, at the last token read.
    /// </summary>
    private PythonSyntaxError? MissingIndentedBlock(int last)
    {
        if (last < 2 || _tokens[last].Kind == TokenKind.Indent || _tokens[last - 1].Kind != TokenKind.Newline
            || _tokens[last - 2].Op != OpKind.Colon)
            return null;
        int first = last - 2;
        while (first > 0 && _tokens[first - 1].Kind is not (TokenKind.Newline or TokenKind.Indent or TokenKind.Dedent)) first--;
        if (_tokens[first].Keyword == KeywordKind.Async) first++;
        ref readonly var head = ref _tokens[first];
        string? what = head.Keyword switch
        {
            KeywordKind.Def => "function definition",
            KeywordKind.Class => "class definition",
            KeywordKind.If => "'if' statement",
            KeywordKind.Elif => "'elif' statement",
            KeywordKind.Else => "'else' statement",
            KeywordKind.For => "'for' statement",
            KeywordKind.While => "'while' statement",
            KeywordKind.With => "'with' statement",
            KeywordKind.Try => "'try' statement",
            KeywordKind.Except => _tokens[first + 1].Op == OpKind.Star ? "'except*' statement" : "'except' statement",
            KeywordKind.Finally => "'finally' statement",
            KeywordKind.SoftMatch => "'match' statement",
            KeywordKind.SoftCase => "'case' statement",
            _ => null,
        };
        if (what == null) return null;
        var e = ErrorAtToken(last, $"expected an indented block after {what} on line {head.StartLine}");
        return _tokens[last].Kind == TokenKind.Dedent ? e with { Column = e.Column - 1 } : e;
    }

    /// <summary>CPython's invalid_if_stmt / invalid_class_def_raw / invalid_for_stmt ... alternatives ending in
    /// NEWLINE: a compound statement header whose line ends where its ':' should be gets "expected ':'" at the
    /// NEWLINE.</summary>
    private PythonSyntaxError? MissingColon(int last)
    {
        if (_tokens[last].Kind != TokenKind.Newline || last == 0) return null;
        int first = last - 1;
        while (first > 0 && _tokens[first - 1].Kind is not (TokenKind.Newline or TokenKind.Indent or TokenKind.Dedent)) first--;
        if (_tokens[first].Keyword == KeywordKind.Async) first++;
        if (first >= last - 1) return null;
        bool header = _tokens[first].Keyword is KeywordKind.If or KeywordKind.Elif or KeywordKind.While or KeywordKind.For
            or KeywordKind.With or KeywordKind.Class or KeywordKind.Except or KeywordKind.SoftMatch or KeywordKind.SoftCase;
        return header ? ErrorAtToken(last, "expected ':'") : null;
    }

    /// <summary>CPython's invalid_legacy_expression: <c>print x</c> / <c>exec x</c> on the line where the first
    /// pass stopped gets "Missing parentheses in call to 'print'. Did you mean print(...)?" at the name.</summary>
    private PythonSyntaxError? LegacyPrintCall(int last)
    {
        for (int i = last - 1; i >= 0; i--)
        {
            ref readonly var t = ref _tokens[i];
            if (t.Kind is TokenKind.Newline or TokenKind.Indent or TokenKind.Dedent) return null;
            if (t.Kind != TokenKind.Name || i + 1 > last) continue;
            var name = _names[i];
            if (name is not ("print" or "exec")) continue;
            ref readonly var next = ref _tokens[i + 1];
            bool startsExpression = next.Kind is TokenKind.Name or TokenKind.Number or TokenKind.String
                ? !next.IsHardKeyword || next.Keyword is KeywordKind.NoneKeyword or KeywordKind.True or KeywordKind.False
                    or KeywordKind.Not or KeywordKind.Lambda or KeywordKind.Await
                : next.Op is OpKind.Minus or OpKind.Plus or OpKind.Tilde or OpKind.LeftSquareBracket or OpKind.LeftBrace
                    or OpKind.Star or OpKind.Ellipsis;
            if (!startsExpression) return null;
            return ErrorAtToken(i, $"Missing parentheses in call to '{name}'. Did you mean {name}(...)?");
        }
        return null;
    }

    // ----------------------------------------------------------------------------------------- entry points

    /// <summary>Nodes on the deepest path of the tree <see cref="ParseFile"/> returned (what
    /// <see cref="AstDepth.Assign"/> would return for it): its top-level statements got their depths and compact lists
    /// as each was finished, and the Module has Depth 0.</summary>
    public int ModuleNesting => _moduleNesting;
    private int _moduleNesting = 1;

    public Module ParseFile()
    {
        Module? module;
        try
        {
            module = File();
        }
        catch (ParseAbort abort) when (!abort.IsFinal)
        {
            // A windowed parse that dropped tokens cannot run the error passes: its caller parses again in full.
            if (_droppedTokens > 0) throw new ParseAbort(abort.Error, true);
            throw new ParseAbort(CheckRestOfSource(abort.Error), true);
        }
        if (module == null)
            throw new ParseAbort(_droppedTokens > 0 ? new PythonSyntaxError("invalid syntax", 1, 0) : GenericError(), true);
        return module;
    }

    /// <summary>
    /// Parses the file as <see cref="ParseFile"/> does without keeping the tree: after each top-level statement the
    /// statement's nesting is checked against CPython's limit and the statement, its tokens and all memo entries are
    /// dropped (no rule ever backtracks into an earlier top-level statement, and the memo is only a cache). Memory
    /// stays at the size of the largest top-level statement. Returns false when the source is rejected; the caller
    /// then parses again with <see cref="ParseFile"/> for CPython's exact message (the error passes need every token).
    /// </summary>
    public bool ParseFileStreaming()
    {
        try
        {
            return File() != null && !_streamingTooDeep;
        }
        catch (ParseAbort)
        {
            return false;
        }
    }

    private bool _streamingTooDeep;

    /// <summary>Where a streaming parse writes each finished top-level statement before dropping it
    /// (<see cref="PythonParser.ParseCompact(byte[])"/>); null for a verdict only.</summary>
    public CompactTree? CompactTarget { get; init; }

    /// <summary>
    /// The first pass alone, for CPython's incomplete-input decision (<c>PyCF_ALLOW_INCOMPLETE_INPUT</c>, 3.11
    /// <c>_PyPegen_run_parser</c>): when it fails, the input counts as incomplete iff the tokenizer had already
    /// reached the end of the source (<c>_is_end_of_source</c>) — checked before any error pass reads further.
    /// </summary>
    public (Module? Module, bool ReachedEnd) FirstPass()
    {
        try
        {
            var module = File();
            return (module, _tokenizer.ReachedEnd);
        }
        catch (ParseAbort)
        {
            return (null, _tokenizer.ReachedEnd);
        }
    }

    /// <summary>Called by the top-level statements loop of a streaming parse after each statement.</summary>
    private void DropFinishedStatements(List<StmtNode> finished)
    {
        foreach (var statement in finished)
        {
            statement.Depth = 1;
            int nesting = AstDepth.Assign(statement);
            if (nesting + 1 > AstDepth.CPythonMaxNestedNodes) _streamingTooDeep = true;
            CompactTarget?.Add(statement, nesting);
        }
        finished.Clear();
        CompactTokens();
    }

    /// <summary>Called by the top-level statements loop of a windowed parse after each statement: once
    /// <see cref="StreamingWindowTokens"/> tokens were consumed, the tokens before <see cref="_mark"/> and all memo
    /// entries are dropped (no rule ever backtracks into an earlier top-level statement, and the memo is only a cache).</summary>
    private void CompactTokens()
    {
        if (_mark < StreamingWindowTokens)
        {
            AdvanceMemoWindow();
            return;
        }
        // Keep the lookahead already read (tokens from _mark on); the memo entries are cleared, not moved.
        _peakTokensHeld = Math.Max(_peakTokensHeld, _fill);
        int keep = _fill - _mark;
        ClearMemo();
        Array.Copy(_tokens, _mark, _tokens, 0, keep);
        Array.Copy(_names, _mark, _names, 0, keep);
        Array.Clear(_names, keep, _mark);
        _droppedTokens += _mark;
        _fill = keep;
        _mark = 0;
        _memoBase = 0;
    }

    public ExprNode ParseFStringExpression()
    {
        var e = StarExpressions();
        if (e == null) throw new ParseAbort(GenericError());
        return e;
    }
}
