using System.Collections.Generic;
using System.Numerics;
using AnCoder.Syntax.Ast;
using Attribute = AnCoder.Syntax.Ast.Attribute;
using Tuple = AnCoder.Syntax.Ast.Tuple;
using AnCoder.Syntax.Tokenizing;

namespace AnCoder.Syntax.Parsing;

internal sealed partial class Parser
{
    // patterns: open_sequence_pattern | pattern
    private PatternNode? Patterns()
    {
        Enter();
        int start = _mark;
        var seq = OpenSequencePattern();
        if (seq != null)
        {
            var r = At(new MatchSequence { Patterns = seq }, start);
            _level--;
            return r;
        }
        _mark = start;
        var p = Pattern();
        _level--;
        return p;
    }

    // pattern: as_pattern | or_pattern
    // as_pattern: or_pattern 'as' pattern_capture_target
    private PatternNode? Pattern()
    {
        Enter();
        int start = _mark;
        Enter(); // as_pattern
        var or = OrPattern();
        if (or == null)
        {
            _level -= 2;
            return null;
        }
        if (AtKw(KeywordKind.As))
        {
            int m = _mark;
            _mark++;
            var target = PatternCaptureTarget();
            if (target != null)
            {
                var r = At(new MatchAs { Pattern = or, Name = target }, start);
                _level -= 2;
                return r;
            }
            _mark = m;
        }
        _level -= 2;
        return or;
    }

    // or_pattern: '|'.closed_pattern+
    private PatternNode? OrPattern()
    {
        Enter();
        int start = _mark;
        var first = ClosedPattern();
        if (first == null)
        {
            _level--;
            return null;
        }
        List<PatternNode>? list = null;
        while (true)
        {
            int m = _mark;
            if (!Op(OpKind.VerticalBar)) break;
            var p = ClosedPattern();
            if (p == null)
            {
                _mark = m;
                break;
            }
            (list ??= new List<PatternNode> { first }).Add(p);
        }
        PatternNode r = list == null ? first : At(new MatchOr { Patterns = list }, start);
        _level--;
        return r;
    }

    // closed_pattern (memo): literal | capture | wildcard | value | group | sequence | mapping | class
    private PatternNode? ClosedPattern()
    {
        Enter();
        int start = _mark;
        if (TryMemo<PatternNode>(MemoClosedPattern, out var memo))
        {
            _level--;
            return memo;
        }
        var r = LiteralPattern();
        if (r == null) { _mark = start; r = CapturePattern(); }
        if (r == null) { _mark = start; r = WildcardPattern(); }
        if (r == null) { _mark = start; r = ValuePattern(); }
        if (r == null) { _mark = start; r = GroupPattern(); }
        if (r == null) { _mark = start; r = SequencePattern(); }
        if (r == null) { _mark = start; r = MappingPattern(); }
        if (r == null) { _mark = start; r = ClassPattern(); }
        if (r == null) _mark = start;
        Memo(MemoClosedPattern, start, r);
        _level--;
        return r;
    }

    private bool AtPlusOrMinus() => Peek().Op is OpKind.Plus or OpKind.Minus;

    // literal_pattern
    private PatternNode? LiteralPattern()
    {
        Enter();
        int start = _mark;
        PatternNode? r = null;
        var number = SignedNumber();
        if (number != null && !AtPlusOrMinus()) r = At(new MatchValue { Value = number }, start);
        if (r == null)
        {
            _mark = start;
            var complex = ComplexNumber();
            if (complex != null) r = At(new MatchValue { Value = complex }, start);
        }
        if (r == null)
        {
            _mark = start;
            if (AtKind(TokenKind.String))
            {
                var s = Strings();
                if (s != null) r = At(new MatchValue { Value = s }, start);
            }
        }
        if (r == null)
        {
            _mark = start;
            ref readonly var t = ref Peek();
            if (t.Kind == TokenKind.Name && t.Keyword is KeywordKind.NoneKeyword or KeywordKind.True or KeywordKind.False)
            {
                object? value = t.Keyword == KeywordKind.True ? true : t.Keyword == KeywordKind.False ? false : null;
                _mark++;
                r = At(new MatchSingleton { Value = value }, start);
            }
        }
        if (r == null) _mark = start;
        _level--;
        return r;
    }

    // literal_expr: signed_number !('+' | '-') | complex_number | strings | 'None' | 'True' | 'False'
    private ExprNode? LiteralExpr()
    {
        Enter();
        int start = _mark;
        ExprNode? r = SignedNumber();
        if (r != null && AtPlusOrMinus()) r = null;
        if (r == null)
        {
            _mark = start;
            r = ComplexNumber();
        }
        if (r == null)
        {
            _mark = start;
            if (AtKind(TokenKind.String)) r = Strings();
        }
        if (r == null)
        {
            _mark = start;
            ref readonly var t = ref Peek();
            if (t.Kind == TokenKind.Name && t.Keyword is KeywordKind.NoneKeyword or KeywordKind.True or KeywordKind.False)
            {
                object? value = t.Keyword == KeywordKind.True ? true : t.Keyword == KeywordKind.False ? false : null;
                _mark++;
                r = At(new Constant { Value = value }, start);
            }
        }
        if (r == null) _mark = start;
        _level--;
        return r;
    }

    // complex_number: signed_real_number ('+' | '-') imaginary_number
    private ExprNode? ComplexNumber()
    {
        Enter();
        int start = _mark;
        var real = SignedNumber(ensureReal: true);
        if (real != null && AtPlusOrMinus())
        {
            bool plus = Peek().Op == OpKind.Plus;
            _mark++;
            Enter(); // imaginary_number
            ExprNode? imag = null;
            if (AtKind(TokenKind.Number))
            {
                imag = NumberConstant();
                if (((Constant)imag).Value is not Complex)
                    throw new ParseAbort(ErrorAtToken(_mark - 1, "imaginary number required in complex literal"));
            }
            _level--;
            if (imag != null)
            {
                var r = At(new BinOp { Left = real, Op = plus ? Add.Instance : Sub.Instance, Right = imag }, start);
                _level--;
                return r;
            }
        }
        _mark = start;
        _level--;
        return null;
    }

    // signed_number: NUMBER | '-' NUMBER      signed_real_number: real_number | '-' real_number
    private ExprNode? SignedNumber(bool ensureReal = false)
    {
        Enter();
        int start = _mark;
        bool minus = Op(OpKind.Minus);
        if (!AtKind(TokenKind.Number))
        {
            _mark = start;
            _level--;
            return null;
        }
        var number = NumberConstant();
        if (ensureReal && ((Constant)number).Value is Complex)
            throw new ParseAbort(ErrorAtToken(_mark - 1, "real number required in complex literal"));
        ExprNode r = minus ? At(new UnaryOp { Op = USub.Instance, Operand = number }, start) : number;
        _level--;
        return r;
    }

    // capture_pattern: pattern_capture_target
    private PatternNode? CapturePattern()
    {
        Enter();
        int start = _mark;
        var name = PatternCaptureTarget();
        PatternNode? r = name == null ? null : At(new MatchAs { Name = name }, start);
        _level--;
        return r;
    }

    // pattern_capture_target: !"_" NAME !('.' | '(' | '=')
    private string? PatternCaptureTarget()
    {
        Enter();
        int start = _mark;
        if (AtSoftKeyword(KeywordKind.SoftUnderscore))
        {
            _level--;
            return null;
        }
        var name = NameId();
        if (name != null && Peek().Op is OpKind.Dot or OpKind.LeftParen or OpKind.Equal) name = null;
        if (name == null) _mark = start;
        _level--;
        return name;
    }

    // wildcard_pattern: "_"
    private PatternNode? WildcardPattern()
    {
        if (!AtSoftKeyword(KeywordKind.SoftUnderscore)) return null;
        int start = _mark;
        _mark++;
        return At(new MatchAs(), start);
    }

    // value_pattern: attr !('.' | '(' | '=')
    private PatternNode? ValuePattern()
    {
        Enter();
        int start = _mark;
        var attr = Attr();
        PatternNode? r = null;
        if (attr != null && Peek().Op is not (OpKind.Dot or OpKind.LeftParen or OpKind.Equal))
            r = At(new MatchValue { Value = attr }, start);
        if (r == null) _mark = start;
        _level--;
        return r;
    }

    // attr: name_or_attr '.' NAME   (left-recursive)
    private ExprNode? Attr()
    {
        var e = NameOrAttr();
        if (e is Attribute) return e;
        return null;
    }

    // name_or_attr: attr | NAME
    private ExprNode? NameOrAttr()
    {
        Enter2();
        int start = _mark;
        ExprNode? a = NameNode();
        while (a != null)
        {
            int m = _mark;
            if (!Op(OpKind.Dot)) break;
            var n = NameId();
            if (n == null)
            {
                _mark = m;
                break;
            }
            a = At(new Attribute { Value = a, Attr = n, Ctx = Load.Instance }, start);
        }
        if (a == null) _mark = start;
        _level -= 2;
        return a;
    }

    // group_pattern: '(' pattern ')'
    private PatternNode? GroupPattern()
    {
        Enter();
        int start = _mark;
        if (Op(OpKind.LeftParen))
        {
            var p = Pattern();
            if (p != null && Op(OpKind.RightParen))
            {
                _level--;
                return p;
            }
        }
        _mark = start;
        _level--;
        return null;
    }

    // sequence_pattern: '[' maybe_sequence_pattern? ']' | '(' open_sequence_pattern? ')'
    private PatternNode? SequencePattern()
    {
        Enter();
        int start = _mark;
        if (Op(OpKind.LeftSquareBracket))
        {
            var items = MaybeSequencePattern();
            if (Op(OpKind.RightSquareBracket))
            {
                var r = At(new MatchSequence { Patterns = items ?? new List<PatternNode>() }, start);
                _level--;
                return r;
            }
        }
        else if (Op(OpKind.LeftParen))
        {
            var items = OpenSequencePattern();
            if (Op(OpKind.RightParen))
            {
                var r = At(new MatchSequence { Patterns = items ?? new List<PatternNode>() }, start);
                _level--;
                return r;
            }
        }
        _mark = start;
        _level--;
        return null;
    }

    // open_sequence_pattern: maybe_star_pattern ',' maybe_sequence_pattern?
    private List<PatternNode>? OpenSequencePattern()
    {
        Enter();
        int start = _mark;
        var first = MaybeStarPattern();
        if (first != null && Op(OpKind.Comma))
        {
            var list = new List<PatternNode> { first };
            var rest = MaybeSequencePattern();
            if (rest != null) list.AddRange(rest);
            _level--;
            return list;
        }
        _mark = start;
        _level--;
        return null;
    }

    // maybe_sequence_pattern: ','.maybe_star_pattern+ ','?
    private List<PatternNode>? MaybeSequencePattern()
    {
        Enter();
        var first = MaybeStarPattern();
        if (first == null)
        {
            _level--;
            return null;
        }
        var list = new List<PatternNode> { first };
        while (true)
        {
            int m = _mark;
            if (!Op(OpKind.Comma)) break;
            var p = MaybeStarPattern();
            if (p == null)
            {
                _mark = m;
                break;
            }
            list.Add(p);
        }
        Op(OpKind.Comma);
        _level--;
        return list;
    }

    // maybe_star_pattern: star_pattern | pattern
    private PatternNode? MaybeStarPattern()
    {
        Enter();
        var r = StarPattern() ?? Pattern();
        _level--;
        return r;
    }

    // star_pattern (memo): '*' pattern_capture_target | '*' wildcard_pattern
    private PatternNode? StarPattern()
    {
        if (!AtOp(OpKind.Star)) return null;
        Enter();
        int start = _mark;
        if (TryMemo<PatternNode>(MemoStarPattern, out var memo))
        {
            _level--;
            return memo;
        }
        _mark++;
        PatternNode? r = null;
        var name = PatternCaptureTarget();
        if (name != null) r = At(new MatchStar { Name = name }, start);
        else if (AtSoftKeyword(KeywordKind.SoftUnderscore))
        {
            _mark++;
            r = At(new MatchStar(), start);
        }
        if (r == null) _mark = start;
        Memo(MemoStarPattern, start, r);
        _level--;
        return r;
    }

    // mapping_pattern
    private PatternNode? MappingPattern()
    {
        Enter();
        int start = _mark;
        if (!Op(OpKind.LeftBrace))
        {
            _level--;
            return null;
        }
        PatternNode? r = null;
        // '{' '}'
        if (Op(OpKind.RightBrace)) r = At(new MatchMapping(), start);
        if (r == null)
        {
            // '{' double_star_pattern ','? '}'
            _mark = start + 1;
            var rest = DoubleStarPattern();
            if (rest != null)
            {
                Op(OpKind.Comma);
                if (Op(OpKind.RightBrace)) r = At(new MatchMapping { Rest = rest }, start);
            }
        }
        if (r == null)
        {
            // '{' items_pattern ',' double_star_pattern ','? '}'
            _mark = start + 1;
            var keys = new List<ExprNode>();
            var patterns = new List<PatternNode>();
            if (ItemsPattern(keys, patterns))
            {
                int afterItems = _mark;
                if (Op(OpKind.Comma))
                {
                    var rest = DoubleStarPattern();
                    if (rest != null)
                    {
                        Op(OpKind.Comma);
                        if (Op(OpKind.RightBrace)) r = At(new MatchMapping { Keys = keys, Patterns = patterns, Rest = rest }, start);
                    }
                }
                if (r == null)
                {
                    // '{' items_pattern ','? '}'
                    _mark = afterItems;
                    Op(OpKind.Comma);
                    if (Op(OpKind.RightBrace)) r = At(new MatchMapping { Keys = keys, Patterns = patterns }, start);
                }
            }
        }
        if (r == null) _mark = start;
        _level--;
        return r;
    }

    // items_pattern: ','.key_value_pattern+
    private bool ItemsPattern(List<ExprNode> keys, List<PatternNode> patterns)
    {
        Enter();
        if (!KeyValuePattern(keys, patterns))
        {
            _level--;
            return false;
        }
        while (true)
        {
            int m = _mark;
            if (!Op(OpKind.Comma)) break;
            if (!KeyValuePattern(keys, patterns))
            {
                _mark = m;
                break;
            }
        }
        _level--;
        return true;
    }

    // key_value_pattern: (literal_expr | attr) ':' pattern
    private bool KeyValuePattern(List<ExprNode> keys, List<PatternNode> patterns)
    {
        Enter();
        int start = _mark;
        var key = LiteralExpr();
        if (key == null)
        {
            _mark = start;
            key = Attr();
        }
        if (key != null && Op(OpKind.Colon))
        {
            var p = Pattern();
            if (p != null)
            {
                keys.Add(key);
                patterns.Add(p);
                _level--;
                return true;
            }
        }
        _mark = start;
        _level--;
        return false;
    }

    // double_star_pattern: '**' pattern_capture_target
    private string? DoubleStarPattern()
    {
        Enter();
        int start = _mark;
        if (Op(OpKind.DoubleStar))
        {
            var name = PatternCaptureTarget();
            if (name != null)
            {
                _level--;
                return name;
            }
        }
        _mark = start;
        _level--;
        return null;
    }

    // class_pattern: name_or_attr '(' [positional_patterns ','?] ')' | ... keyword_patterns ...
    private PatternNode? ClassPattern()
    {
        Enter();
        int start = _mark;
        var cls = NameOrAttr();
        if (cls == null || !Op(OpKind.LeftParen))
        {
            _mark = start;
            _level--;
            return null;
        }
        int afterParen = _mark;
        PatternNode? r = null;
        // name_or_attr '(' ')'
        if (Op(OpKind.RightParen)) r = At(new MatchClass { Cls = cls }, start);
        if (r == null)
        {
            // name_or_attr '(' positional_patterns ','? ')'
            _mark = afterParen;
            var positional = PositionalPatterns();
            if (positional != null)
            {
                int afterPositional = _mark;
                Op(OpKind.Comma);
                if (Op(OpKind.RightParen)) r = At(new MatchClass { Cls = cls, Patterns = positional }, start);
                else
                {
                    // name_or_attr '(' positional_patterns ',' keyword_patterns ','? ')'  (tried after keyword-only)
                    _mark = afterPositional;
                }
            }
            if (r == null)
            {
                // name_or_attr '(' keyword_patterns ','? ')'
                _mark = afterParen;
                var names = new List<string>();
                var patterns = new List<PatternNode>();
                if (KeywordPatterns(names, patterns))
                {
                    Op(OpKind.Comma);
                    if (Op(OpKind.RightParen)) r = At(new MatchClass { Cls = cls, KwdAttrs = names, KwdPatterns = patterns }, start);
                }
            }
            if (r == null && positional != null)
            {
                _mark = afterParen;
                positional = PositionalPatterns();
                var names = new List<string>();
                var patterns = new List<PatternNode>();
                if (positional != null && Op(OpKind.Comma) && KeywordPatterns(names, patterns))
                {
                    Op(OpKind.Comma);
                    if (Op(OpKind.RightParen))
                        r = At(new MatchClass { Cls = cls, Patterns = positional, KwdAttrs = names, KwdPatterns = patterns }, start);
                }
            }
        }
        if (r == null) _mark = start;
        _level--;
        return r;
    }

    // positional_patterns: ','.pattern+
    private List<PatternNode>? PositionalPatterns()
    {
        Enter();
        var first = Pattern();
        if (first == null)
        {
            _level--;
            return null;
        }
        var list = new List<PatternNode> { first };
        while (true)
        {
            int m = _mark;
            if (!Op(OpKind.Comma)) break;
            var p = Pattern();
            if (p == null)
            {
                _mark = m;
                break;
            }
            list.Add(p);
        }
        _level--;
        return list;
    }

    // keyword_patterns: ','.keyword_pattern+      keyword_pattern: NAME '=' pattern
    private bool KeywordPatterns(List<string> names, List<PatternNode> patterns)
    {
        Enter();
        bool any = false;
        while (true)
        {
            int m = _mark;
            if (any && !Op(OpKind.Comma)) break;
            var name = NameId();
            PatternNode? p = null;
            if (name != null && Op(OpKind.Equal)) p = Pattern();
            if (p == null)
            {
                _mark = m;
                break;
            }
            names.Add(name!);
            patterns.Add(p);
            any = true;
        }
        _level--;
        return any;
    }
}
