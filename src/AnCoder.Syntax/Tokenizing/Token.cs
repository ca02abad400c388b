namespace AnCoder.Syntax.Tokenizing;

/// <summary>Token types as CPython 3.11's <c>tokenize</c> module reports them (its <c>type</c>, not <c>exact_type</c>).</summary>
public enum TokenKind : byte
{
    EndMarker,
    Name,
    Number,
    String,
    Newline,
    Indent,
    Dedent,
    Op,
    Comment,
    NL,
    /// <summary>Only from the lenient (tokenize-module compatible) mode: a character that starts no token.</summary>
    ErrorToken,
}

/// <summary>
/// One token. Lines are 1-based; columns are UTF-8 byte offsets within the line (as CPython's AST positions);
/// <see cref="StartOffset"/>/<see cref="EndOffset"/> are UTF-8 byte offsets into the decoded source
/// (identical to the file's bytes for UTF-8 files).
/// </summary>
public readonly record struct Token(
    TokenKind Kind,
    OpKind Op,
    int StartLine,
    int StartColumn,
    int EndLine,
    int EndColumn,
    int StartOffset,
    int EndOffset,
    KeywordKind Keyword = KeywordKind.None)
{
    /// <summary>A hard keyword (<c>keyword.iskeyword</c>: the 35, including True, False, None).</summary>
    public bool IsHardKeyword => Keyword != KeywordKind.None && Keyword < KeywordKind.SoftMatch;
    /// <summary>A soft keyword (<c>match</c>, <c>case</c>, <c>_</c>): an identifier that the grammar treats specially in places.</summary>
    public bool IsSoftKeyword => Keyword >= KeywordKind.SoftMatch;

    public int Length => EndOffset - StartOffset;
}

/// <summary>Exact type of an OP token (CPython's <c>exact_type</c>); <see cref="None"/> for other kinds.</summary>
public enum OpKind : byte
{
    None,
    LeftParen, RightParen, LeftSquareBracket, RightSquareBracket, Colon, Comma, Semicolon,
    Plus, Minus, Star, Slash, VerticalBar, Ampersand, Less, Greater, Equal, Dot, Percent,
    LeftBrace, RightBrace, EqualEqual, NotEqual, LessEqual, GreaterEqual, Tilde, Circumflex,
    LeftShift, RightShift, DoubleStar, PlusEqual, MinusEqual, StarEqual, SlashEqual, PercentEqual,
    AmpersandEqual, VerticalBarEqual, CircumflexEqual, LeftShiftEqual, RightShiftEqual, DoubleStarEqual,
    DoubleSlash, DoubleSlashEqual, At, AtEqual, RightArrow, Ellipsis, ColonEqual,
    /// <summary>A character CPython's tokenizer passes on as a generic OP (<c>$</c>, <c>?</c>, <c>!</c>, a backtick):
    /// no grammar rule accepts it, so the parser reports "invalid syntax" there.</summary>
    Unknown,
}

/// <summary>Classification of a NAME token: hard keywords (CPython 3.11's <c>keyword.kwlist</c>) and soft keywords
/// (<c>keyword.softkwlist</c>). Soft keywords are NAME tokens and identifiers; hard keywords are not identifiers.</summary>
public enum KeywordKind : byte
{
    None,
    False, NoneKeyword, True, And, As, Assert, Async, Await, Break, Class, Continue, Def, Del, Elif, Else, Except,
    Finally, For, From, Global, If, Import, In, Is, Lambda, Nonlocal, Not, Or, Pass, Raise, Return, Try, While,
    With, Yield,
    SoftMatch, SoftCase, SoftUnderscore,
}
