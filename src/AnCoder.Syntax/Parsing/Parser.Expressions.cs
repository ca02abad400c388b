using System.Collections.Generic;
using AnCoder.Syntax.Ast;
using Attribute = AnCoder.Syntax.Ast.Attribute;
using Tuple = AnCoder.Syntax.Ast.Tuple;
using AnCoder.Syntax.Tokenizing;

namespace AnCoder.Syntax.Parsing;

internal enum ExprCtx { Load, Store, Del }

internal sealed partial class Parser
{
    // expression (memo): disjunction 'if' disjunction 'else' expression | disjunction | lambdef
    private ExprNode? Expression()
    {
        Enter();
        int start = _mark;
        if (TryHotMemo<ExprNode>(HotExpression, out var memo))
        {
            _level--;
            return memo;
        }
        if (_callInvalidRules) InvalidExpression(start);
        else if (LoneAtom() is { } atom)
        {
            HotMemo(HotExpression, start, atom);
            _level--;
            return atom;
        }
        ExprNode? r;
        var d = Disjunction();
        if (d != null)
        {
            r = d;
            if (AtKw(KeywordKind.If))
            {
                int m = _mark;
                _mark++;
                var test = Disjunction();
                if (test != null && Kw(KeywordKind.Else))
                {
                    var orelse = Expression();
                    if (orelse != null) r = At(new IfExp { Test = test, Body = d, Orelse = orelse }, start);
                    else _mark = m;
                }
                else _mark = m;
            }
        }
        else r = Lambdef();
        if (r == null) _mark = start;
        HotMemo(HotExpression, start, r);
        _level--;
        return r;
    }

    /// <summary>Levels the rules from disjunction down to primary count above expression's (pegen's p->level):
    /// disjunction, conjunction, inversion, comparison 1 each; bitwise_or, bitwise_xor, bitwise_and, shift_expr, sum,
    /// term 2 each (left-recursive); factor, power, await_primary 1 each; primary 2.</summary>
    private const int AtomChainLevels = 4 + 12 + 3 + 2;

    /// <summary>
    /// expression's result when it is one atom (a name, a number, True/False/None, strings) followed by a token that
    /// none of the rules from expression down to primary continues with (',' ')' ']' '}' ':' ';' '=' an augmented
    /// assignment, NEWLINE, 'for' 'else' 'as' 'from'): each of those rules would return the atom unchanged, so the
    /// atom is parsed directly, at the level the chain would have reached (the same MaxStack verdict), instead of
    /// through twenty rule calls. Null when that is not the case (the caller parses through the chain; only a
    /// number or a string atom has then been parsed, and is parsed again, or found in the strings memo).
    /// </summary>
    private ExprNode? LoneAtom()
    {
        ref readonly var t = ref Peek();
        int start = _mark;
        switch (t.Kind)
        {
            case TokenKind.Name:
                if (t.IsHardKeyword && t.Keyword is not (KeywordKind.True or KeywordKind.False or KeywordKind.NoneKeyword))
                    return null;
                // A name's atom reads no token and raises nothing: look at the next token first.
                ref readonly var next = ref PeekAt(start + 1);
                if (EndsAtomChain(in next)) break;
                if (t.IsHardKeyword || next.Op is not (OpKind.Dot or OpKind.LeftParen or OpKind.LeftSquareBracket)) return null;
                return LonePrimary(start);
            case TokenKind.Number:
            case TokenKind.String:
                // The literal may raise its own error: parse it before reading the next token, as the chain does.
                break;
            default:
                return null;
        }
        _level += AtomChainLevels;
        var atom = Atom();
        _level -= AtomChainLevels;
        if (atom != null && (t.Kind == TokenKind.Name || EndsAtomChain(in Peek()))) return atom;
        _mark = start;
        return null;
    }

    /// <summary><see cref="LoneAtom"/> for a name followed by '.', '(' or '[': the primary is parsed at the level the
    /// chain would reach it; when a token that continues the chain follows it, it is kept for the chain's own call
    /// of primary at this position (<see cref="_parkedPrimaryStart"/>), so it is not parsed twice.</summary>
    private ExprNode? LonePrimary(int start)
    {
        _level += AtomChainLevels - 2;
        var primary = Primary();
        _level -= AtomChainLevels - 2;
        if (primary != null && EndsAtomChain(in Peek())) return primary;
        _parkedPrimaryStart = start;
        _parkedPrimaryEnd = _mark;
        _parkedWithInvalidRules = _callInvalidRules;
        _parkedPrimary = primary;
        _mark = start;
        return null;
    }

    private static bool EndsAtomChain(in Token next)
    {
        switch (next.Kind)
        {
            case TokenKind.Newline:
                return true;
            case TokenKind.Op:
                return next.Op is OpKind.Comma or OpKind.RightParen or OpKind.RightSquareBracket or OpKind.RightBrace
                    or OpKind.Colon or OpKind.Semicolon or OpKind.Equal || IsAugmentedAssignment(next.Op);
            case TokenKind.Name:
                return next.Keyword is KeywordKind.For or KeywordKind.Else or KeywordKind.As or KeywordKind.From;
            default:
                return false;
        }
    }

    /// <summary>
    /// Second pass only: invalid_expression's !(NAME STRING | SOFT_KEYWORD) a=disjunction b=expression_without_invalid
    /// alternative, "invalid syntax. Perhaps you forgot a comma?" inside brackets (the other invalid_* rules are
    /// not ported: see <see cref="SecondPassError"/>).
    /// </summary>
    private void InvalidExpression(int start)
    {
        ref readonly var t = ref Peek();
        if (t.Kind == TokenKind.Name && (t.IsSoftKeyword || (!t.IsHardKeyword && PeekAt(_mark + 1).Kind == TokenKind.String)))
            return;
        var a = Disjunction();
        if (a != null)
        {
            _callInvalidRules = false;
            var b = ExpressionWithoutInvalid();
            _callInvalidRules = true;
            if (b != null && !(a is Name { Id: "print" or "exec" }) && BracketLevelAfter(_mark - 1) > 0)
                throw new ParseAbort(ErrorAtNodeStart(a, start, "invalid syntax. Perhaps you forgot a comma?"));
        }
        _mark = start;
    }

    // expression_without_invalid: disjunction 'if' disjunction 'else' expression | disjunction | lambdef
    private ExprNode? ExpressionWithoutInvalid()
    {
        Enter();
        int start = _mark;
        ExprNode? r;
        var d = Disjunction();
        if (d != null)
        {
            r = d;
            if (AtKw(KeywordKind.If))
            {
                int m = _mark;
                _mark++;
                var test = Disjunction();
                if (test != null && Kw(KeywordKind.Else))
                {
                    var orelse = Expression();
                    if (orelse != null) r = At(new IfExp { Test = test, Body = d, Orelse = orelse }, start);
                    else _mark = m;
                }
                else _mark = m;
            }
        }
        else r = Lambdef();
        if (r == null) _mark = start;
        _level--;
        return r;
    }

    // yield_expr: 'yield' 'from' expression | 'yield' [star_expressions]
    private ExprNode? YieldExpr()
    {
        if (!AtKw(KeywordKind.Yield)) return null;
        Enter();
        int start = _mark;
        _mark++;
        ExprNode r;
        if (Kw(KeywordKind.From))
        {
            var e = Expression();
            if (e != null)
            {
                r = At(new YieldFrom { Value = e }, start);
                _level--;
                return r;
            }
            _mark = start + 1;
        }
        var v = StarExpressions();
        r = At(new Yield { Value = v }, start);
        _level--;
        return r;
    }

    // star_expressions: star_expression (',' star_expression)+ [','] | star_expression ',' | star_expression
    private ExprNode? StarExpressions()
    {
        Enter();
        int start = _mark;
        var first = StarExpression();
        if (first == null || !AtOp(OpKind.Comma))
        {
            _level--;
            return first;
        }
        int elts = _collectedCount;
        Collect(first);
        Enter(); // _loop1
        while (true)
        {
            int m = _mark;
            if (!Op(OpKind.Comma)) break;
            var e = StarExpression();
            if (e == null)
            {
                _mark = m;
                break;
            }
            Collect(e);
        }
        _level--;
        Op(OpKind.Comma);
        var r = At(new Tuple { Elts = CollectedList<ExprNode>(elts), Ctx = Load.Instance }, start);
        _level--;
        return r;
    }

    // star_expression (memo): '*' bitwise_or | expression
    private ExprNode? StarExpression()
    {
        Enter();
        int start = _mark;
        if (TryHotMemo<ExprNode>(HotStarExpression, out var memo))
        {
            _level--;
            return memo;
        }
        ExprNode? r = null;
        if (Op(OpKind.Star))
        {
            var v = BitwiseOr();
            if (v != null) r = At(new Starred { Value = v, Ctx = Load.Instance }, start);
            else _mark = start;
        }
        else r = Expression();
        HotMemo(HotStarExpression, start, r);
        _level--;
        return r;
    }

    // star_named_expressions: ','.star_named_expression+ [',']
    /// <summary>Collects the expressions (<see cref="Collect"/>: the caller makes its list of them or drops them);
    /// false when there is none.</summary>
    private bool CollectStarNamedExpressions()
    {
        Enter();
        Enter(); // _gather
        var first = StarNamedExpression();
        if (first == null)
        {
            _level -= 2;
            return false;
        }
        Collect(first);
        Enter(); // _loop0 of the gather
        while (true)
        {
            int m = _mark;
            if (!Op(OpKind.Comma)) break;
            var e = StarNamedExpression();
            if (e == null)
            {
                _mark = m;
                break;
            }
            Collect(e);
        }
        _level -= 2;
        Op(OpKind.Comma);
        _level--;
        return true;
    }

    // star_named_expression: '*' bitwise_or | named_expression
    private ExprNode? StarNamedExpression()
    {
        Enter();
        int start = _mark;
        ExprNode? r;
        if (Op(OpKind.Star))
        {
            var v = BitwiseOr();
            if (v != null) r = At(new Starred { Value = v, Ctx = Load.Instance }, start);
            else
            {
                _mark = start;
                r = null;
            }
        }
        else r = NamedExpression();
        _level--;
        return r;
    }

    // assignment_expression: NAME ':=' ~ expression
    private ExprNode? AssignmentExpression()
    {
        ref readonly var t = ref Peek();
        if (t.Kind != TokenKind.Name || t.IsHardKeyword || PeekAt(_mark + 1).Op != OpKind.ColonEqual) return null;
        Enter();
        int start = _mark;
        var name = NameNode()!;
        _mark++;
        var value = Expression();
        ExprNode? r = null;
        if (value != null) r = At(new NamedExpr { Target = SetContext(name, ExprCtx.Store), Value = value }, start);
        else _mark = start;
        _level--;
        return r;
    }

    // named_expression: assignment_expression | expression !':='
    private ExprNode? NamedExpression()
    {
        Enter();
        int start = _mark;
        var r = AssignmentExpression();
        if (r == null)
        {
            _mark = start;
            r = Expression();
            if (r != null && AtOp(OpKind.ColonEqual))
            {
                r = null;
                _mark = start;
            }
        }
        _level--;
        return r;
    }

    // disjunction (memo): conjunction ('or' conjunction)+ | conjunction
    private ExprNode? Disjunction()
    {
        Enter();
        int start = _mark;
        var first = Conjunction();
        if (first == null || !AtKw(KeywordKind.Or))
        {
            _level--;
            return first;
        }
        var values = new List<ExprNode> { first };
        while (true)
        {
            int m = _mark;
            if (!Kw(KeywordKind.Or)) break;
            var c = Conjunction();
            if (c == null)
            {
                _mark = m;
                break;
            }
            values.Add(c);
        }
        ExprNode r = values.Count == 1 ? first : At(new BoolOp { Op = Or.Instance, Values = values }, start);
        _level--;
        return r;
    }

    // conjunction (memo): inversion ('and' inversion)+ | inversion
    private ExprNode? Conjunction()
    {
        Enter();
        int start = _mark;
        var first = Inversion();
        if (first == null || !AtKw(KeywordKind.And))
        {
            _level--;
            return first;
        }
        var values = new List<ExprNode> { first };
        while (true)
        {
            int m = _mark;
            if (!Kw(KeywordKind.And)) break;
            var c = Inversion();
            if (c == null)
            {
                _mark = m;
                break;
            }
            values.Add(c);
        }
        ExprNode r = values.Count == 1 ? first : At(new BoolOp { Op = And.Instance, Values = values }, start);
        _level--;
        return r;
    }

    // inversion (memo): 'not' inversion | comparison
    private ExprNode? Inversion()
    {
        Enter();
        int start = _mark;
        ExprNode? r;
        if (Kw(KeywordKind.Not))
        {
            var operand = Inversion();
            if (operand != null) r = At(new UnaryOp { Op = Not.Instance, Operand = operand }, start);
            else
            {
                _mark = start;
                r = Comparison();
            }
        }
        else r = Comparison();
        _level--;
        return r;
    }

    // comparison: bitwise_or compare_op_bitwise_or_pair+ | bitwise_or
    private ExprNode? Comparison()
    {
        Enter();
        int start = _mark;
        var left = BitwiseOr();
        if (left == null)
        {
            _level--;
            return null;
        }
        int pairs = _collectedCount;
        while (true)
        {
            int m = _mark;
            ref readonly var t = ref Peek();
            CmpopNode? op = null;
            switch (t.Op)
            {
                case OpKind.EqualEqual: op = Eq.Instance; break;
                case OpKind.NotEqual:
                    // _PyPegen_check_barry_as_flufl: '<>' is not '!=' without the barry_as_FLUFL future.
                    if (!_tokenizer.IsLegacyNotEqual(in t)) op = NotEq.Instance;
                    break;
                case OpKind.LessEqual: op = LtE.Instance; break;
                case OpKind.Less: op = Lt.Instance; break;
                case OpKind.GreaterEqual: op = GtE.Instance; break;
                case OpKind.Greater: op = Gt.Instance; break;
                case OpKind.None:
                    if (t.Kind == TokenKind.Name)
                    {
                        if (t.Keyword == KeywordKind.In) op = In.Instance;
                        else if (t.Keyword == KeywordKind.Not)
                        {
                            if (PeekAt(_mark + 1).Keyword == KeywordKind.In)
                            {
                                op = NotIn.Instance;
                                _mark++;
                            }
                        }
                        else if (t.Keyword == KeywordKind.Is)
                        {
                            if (PeekAt(_mark + 1).Keyword == KeywordKind.Not)
                            {
                                op = IsNot.Instance;
                                _mark++;
                            }
                            else op = Is.Instance;
                        }
                    }
                    break;
            }
            if (op == null)
            {
                _mark = m;
                break;
            }
            _mark++;
            Enter(); // compare_op_bitwise_or_pair
            Enter(); // the specific pair rule
            var right = BitwiseOr();
            _level -= 2;
            if (right == null)
            {
                _mark = m;
                break;
            }
            Collect(op);
            Collect(right);
        }
        // ops and comparators were collected in turn: op, comparator, op, comparator, ...
        ExprNode r = _collectedCount == pairs ? left : At(new Compare
        {
            Left = left,
            Ops = CollectedEvery<CmpopNode>(pairs, 0, 2, drop: false),
            Comparators = CollectedEvery<ExprNode>(pairs, 1, 2, drop: true),
        }, start);
        _level--;
        return r;
    }

    // bitwise_or: bitwise_or '|' bitwise_xor | bitwise_xor
    private ExprNode? BitwiseOr()
    {
        Enter2();
        int start = _mark;
        var left = BitwiseXor();
        while (left != null)
        {
            int m = _mark;
            if (!Op(OpKind.VerticalBar)) break;
            var right = BitwiseXor();
            if (right == null)
            {
                _mark = m;
                break;
            }
            left = At(new BinOp { Left = left, Op = BitOr.Instance, Right = right }, start);
        }
        _level -= 2;
        return left;
    }

    // bitwise_xor: bitwise_xor '^' bitwise_and | bitwise_and
    private ExprNode? BitwiseXor()
    {
        Enter2();
        int start = _mark;
        var left = BitwiseAnd();
        while (left != null)
        {
            int m = _mark;
            if (!Op(OpKind.Circumflex)) break;
            var right = BitwiseAnd();
            if (right == null)
            {
                _mark = m;
                break;
            }
            left = At(new BinOp { Left = left, Op = BitXor.Instance, Right = right }, start);
        }
        _level -= 2;
        return left;
    }

    // bitwise_and: bitwise_and '&' shift_expr | shift_expr
    private ExprNode? BitwiseAnd()
    {
        Enter2();
        int start = _mark;
        var left = ShiftExpr();
        while (left != null)
        {
            int m = _mark;
            if (!Op(OpKind.Ampersand)) break;
            var right = ShiftExpr();
            if (right == null)
            {
                _mark = m;
                break;
            }
            left = At(new BinOp { Left = left, Op = BitAnd.Instance, Right = right }, start);
        }
        _level -= 2;
        return left;
    }

    // shift_expr: shift_expr '<<' sum | shift_expr '>>' sum | sum
    private ExprNode? ShiftExpr()
    {
        Enter2();
        int start = _mark;
        var left = Sum();
        while (left != null)
        {
            int m = _mark;
            var k = Peek().Op;
            if (k != OpKind.LeftShift && k != OpKind.RightShift) break;
            _mark++;
            var right = Sum();
            if (right == null)
            {
                _mark = m;
                break;
            }
            left = At(new BinOp { Left = left, Op = k == OpKind.LeftShift ? LShift.Instance : RShift.Instance, Right = right }, start);
        }
        _level -= 2;
        return left;
    }

    // sum: sum '+' term | sum '-' term | term
    private ExprNode? Sum()
    {
        Enter2();
        int start = _mark;
        var left = Term();
        while (left != null)
        {
            int m = _mark;
            var k = Peek().Op;
            if (k != OpKind.Plus && k != OpKind.Minus) break;
            _mark++;
            var right = Term();
            if (right == null)
            {
                _mark = m;
                break;
            }
            left = At(new BinOp { Left = left, Op = k == OpKind.Plus ? Add.Instance : Sub.Instance, Right = right }, start);
        }
        _level -= 2;
        return left;
    }

    // term: term ('*' | '/' | '//' | '%' | '@') factor | factor
    private ExprNode? Term()
    {
        Enter2();
        int start = _mark;
        var left = Factor();
        while (left != null)
        {
            int m = _mark;
            OperatorNode op;
            switch (Peek().Op)
            {
                case OpKind.Star: op = Mult.Instance; break;
                case OpKind.Slash: op = Div.Instance; break;
                case OpKind.DoubleSlash: op = FloorDiv.Instance; break;
                case OpKind.Percent: op = Mod.Instance; break;
                case OpKind.At: op = MatMult.Instance; break;
                default: goto done;
            }
            _mark++;
            var right = Factor();
            if (right == null)
            {
                _mark = m;
                break;
            }
            left = At(new BinOp { Left = left, Op = op, Right = right }, start);
        }
        done:
        _level -= 2;
        return left;
    }

    // factor (memo): '+' factor | '-' factor | '~' factor | power
    private ExprNode? Factor()
    {
        Enter();
        int start = _mark;
        UnaryopNode? op = Peek().Op switch
        {
            OpKind.Plus => UAdd.Instance,
            OpKind.Minus => USub.Instance,
            OpKind.Tilde => Invert.Instance,
            _ => null,
        };
        ExprNode? r;
        if (op != null)
        {
            _mark++;
            var operand = Factor();
            if (operand != null) r = At(new UnaryOp { Op = op, Operand = operand }, start);
            else
            {
                _mark = start;
                r = null;
            }
        }
        else r = Power();
        _level--;
        return r;
    }

    // power: await_primary '**' factor | await_primary
    private ExprNode? Power()
    {
        Enter();
        int start = _mark;
        var left = AwaitPrimary();
        if (left != null && AtOp(OpKind.DoubleStar))
        {
            int m = _mark;
            _mark++;
            var right = Factor();
            if (right != null) left = At(new BinOp { Left = left, Op = Pow.Instance, Right = right }, start);
            else _mark = m;
        }
        _level--;
        return left;
    }

    // await_primary (memo): 'await' primary | primary
    private ExprNode? AwaitPrimary()
    {
        Enter();
        int start = _mark;
        ExprNode? r;
        if (Kw(KeywordKind.Await))
        {
            var p = Primary();
            if (p != null) r = At(new Await { Value = p }, start);
            else
            {
                _mark = start;
                r = null;
            }
        }
        else r = Primary();
        _level--;
        return r;
    }

    // primary: primary '.' NAME | primary genexp | primary '(' [arguments] ')' | primary '[' slices ']' | atom
    private ExprNode? Primary()
    {
        Enter2();
        int start = _mark;
        if (start == _parkedPrimaryStart && _parkedWithInvalidRules == _callInvalidRules)
        {
            var parked = _parkedPrimary;
            _mark = _parkedPrimaryEnd;
            _parkedPrimaryStart = -1;
            _parkedPrimary = null;
            _level -= 2;
            return parked;
        }
        var a = Atom();
        while (a != null)
        {
            int m = _mark;
            var k = Peek().Op;
            if (k == OpKind.Dot)
            {
                _mark++;
                var name = NameId();
                if (name == null)
                {
                    _mark = m;
                    break;
                }
                a = At(new Attribute { Value = a, Attr = name, Ctx = Load.Instance }, start);
            }
            else if (k == OpKind.LeftParen)
            {
                var g = Genexp();
                if (g != null)
                {
                    a = At(new Call { Func = a, Args = new List<ExprNode>(1) { g } }, start);
                    continue;
                }
                _mark = m + 1;
                var args = Arguments();
                if (!Op(OpKind.RightParen))
                {
                    _mark = m;
                    break;
                }
                a = At(NewCall(a, args), start);
            }
            else if (k == OpKind.LeftSquareBracket)
            {
                _mark++;
                var s = Slices();
                if (s == null || !Op(OpKind.RightSquareBracket))
                {
                    _mark = m;
                    break;
                }
                a = At(new Subscript { Value = a, Slice = s, Ctx = Load.Instance }, start);
            }
            else break;
        }
        _level -= 2;
        return a;
    }

    private static Call NewCall(ExprNode func, CallArguments? args)
    {
        var call = new Call { Func = func };
        if (args?.PositionalList is { } positional) call.Args = positional;
        if (args?.Keywords is { } keywords) call.Keywords = keywords;
        return call;
    }

    /// <summary>What the arguments rule yields (pegen builds a temporary Call): the lists are null when empty, so
    /// the node allocates none. The positional arguments are a List when kwargs followed them, else a list field's
    /// compact storage (<see cref="CollectedStorage{T}"/>), which every node made from this memoised result shares:
    /// compact arrays are never written.</summary>
    private sealed class CallArguments(object? positional, List<KeywordNode>? keywords)
    {
        public static readonly CallArguments None = new(null, null);
        private readonly object? _positional = positional;
        public readonly List<KeywordNode>? Keywords = keywords;

        /// <summary>The positional arguments for a node's setter (null when there are none).</summary>
        public List<ExprNode>? PositionalList => _positional switch
        {
            null => null,
            List<ExprNode> list => list,
            var storage => AstLists.Handoff<ExprNode>(storage),
        };
    }

    // slices: slice !',' | ','.(slice | starred_expression)+ [',']
    private ExprNode? Slices()
    {
        Enter();
        int start = _mark;
        var first = Slice();
        if (first != null)
        {
            if (!AtOp(OpKind.Comma))
            {
                _level--;
                return first;
            }
        }
        else first = StarredExpression();
        if (first == null)
        {
            _mark = start;
            _level--;
            return null;
        }
        int elts = _collectedCount;
        Collect(first);
        while (true)
        {
            int m = _mark;
            if (!Op(OpKind.Comma)) break;
            var e = Slice() ?? StarredExpression();
            if (e == null)
            {
                _mark = m;
                break;
            }
            Collect(e);
        }
        Op(OpKind.Comma);
        var r = At(new Tuple { Elts = CollectedList<ExprNode>(elts), Ctx = Load.Instance }, start);
        _level--;
        return r;
    }

    // slice: [expression] ':' [expression] [':' [expression]] | named_expression
    private ExprNode? Slice()
    {
        Enter();
        int start = _mark;
        var lower = Expression();
        if (Op(OpKind.Colon))
        {
            var upper = Expression();
            ExprNode? step = null;
            if (Op(OpKind.Colon)) step = Expression();
            var s = At(new Slice { Lower = lower, Upper = upper, Step = step }, start);
            _level--;
            return s;
        }
        _mark = start;
        var r = NamedExpression();
        _level--;
        return r;
    }

    /// <summary>One box per bool for every True/False constant (a box per literal was 24 bytes of tree each).</summary>
    private static readonly object BoxedTrue = true, BoxedFalse = false;

    // atom
    private ExprNode? Atom()
    {
        Enter();
        int start = _mark;
        ref readonly var t = ref Peek();
        ExprNode? r = null;
        switch (t.Kind)
        {
            case TokenKind.Name:
                if (!t.IsHardKeyword)
                {
                    var n = new Name { Id = _names[_mark]!, Ctx = Load.Instance };
                    n.SetPosition(t.StartLine, t.StartColumn, t.EndLine, t.EndColumn);
                    _mark++;
                    r = n;
                }
                else if (t.Keyword is KeywordKind.True or KeywordKind.False or KeywordKind.NoneKeyword)
                {
                    object? value = t.Keyword == KeywordKind.True ? BoxedTrue : t.Keyword == KeywordKind.False ? BoxedFalse : null;
                    var c = new Constant { Value = value };
                    c.SetPosition(t.StartLine, t.StartColumn, t.EndLine, t.EndColumn);
                    _mark++;
                    r = c;
                }
                break;
            case TokenKind.String:
                r = Strings();
                break;
            case TokenKind.Number:
                r = NumberConstant();
                break;
            case TokenKind.Op:
                switch (t.Op)
                {
                    case OpKind.LeftParen:
                        Enter();
                        r = TupleAtom() ?? Group() ?? Genexp();
                        _level--;
                        break;
                    case OpKind.LeftSquareBracket:
                        Enter();
                        r = ListAtom() ?? ListComp();
                        _level--;
                        break;
                    case OpKind.LeftBrace:
                        Enter();
                        r = DictAtom() ?? SetAtom() ?? DictComp() ?? SetComp();
                        _level--;
                        break;
                    case OpKind.Ellipsis:
                        var c = new Constant { Value = EllipsisValue.Instance };
                        c.SetPosition(t.StartLine, t.StartColumn, t.EndLine, t.EndColumn);
                        _mark++;
                        r = c;
                        break;
                }
                break;
        }
        if (r == null) _mark = start;
        _level--;
        return r;
    }

    private ExprNode NumberConstant()
    {
        ref readonly var t = ref _tokens[_mark];
        var value = NumberLiteral.Parse(_source, t.StartOffset, t.Length, out var error);
        if (error != null) throw new ParseAbort(new PythonSyntaxError(AdjustMessage(error), t.StartLine, 0));
        var c = new Constant { Value = value };
        c.SetPosition(t.StartLine, t.StartColumn, t.EndLine, t.EndColumn);
        _mark++;
        return c;
    }

    // strings (memo): STRING+
    private ExprNode? Strings()
    {
        Enter();
        int start = _mark;
        if (TryHotMemo<ExprNode>(HotStrings, out var memo))
        {
            _level--;
            return memo;
        }
        while (AtKind(TokenKind.String)) _mark++;
        ExprNode? r = null;
        if (_mark > start) r = ConcatenateStrings(start, _mark);
        HotMemo(HotStrings, start, r);
        _level--;
        return r;
    }

    // group: '(' (yield_expr | named_expression) ')'
    private ExprNode? Group()
    {
        Enter();
        int start = _mark;
        if (!Op(OpKind.LeftParen))
        {
            _level--;
            return null;
        }
        Enter(); // _tmp
        var e = YieldExpr() ?? NamedExpression();
        _level--;
        if (e == null || !Op(OpKind.RightParen))
        {
            _mark = start;
            _level--;
            return null;
        }
        _level--;
        return e;
    }

    // tuple: '(' [star_named_expression ',' [star_named_expressions]] ')'
    private ExprNode? TupleAtom()
    {
        Enter();
        int start = _mark;
        if (!Op(OpKind.LeftParen))
        {
            _level--;
            return null;
        }
        int elts = _collectedCount;
        int m = _mark;
        Enter(); // _tmp: [star_named_expression ',' [star_named_expressions]]
        var first = StarNamedExpression();
        if (first != null && Op(OpKind.Comma))
        {
            Collect(first);
            int m2 = _mark;
            if (!CollectStarNamedExpressions()) _mark = m2;
        }
        else _mark = m;
        _level--;
        if (!Op(OpKind.RightParen))
        {
            DropCollected(elts);
            _mark = start;
            _level--;
            return null;
        }
        var r = At(new Tuple { Elts = CollectedList<ExprNode>(elts), Ctx = Load.Instance }, start);
        _level--;
        return r;
    }

    // list: '[' [star_named_expressions] ']'
    private ExprNode? ListAtom()
    {
        Enter();
        int start = _mark;
        _mark++;
        int m = _mark;
        int elts = _collectedCount;
        if (!CollectStarNamedExpressions()) _mark = m;
        if (!Op(OpKind.RightSquareBracket))
        {
            DropCollected(elts);
            _mark = start;
            _level--;
            return null;
        }
        var r = At(new List { Elts = CollectedList<ExprNode>(elts), Ctx = Load.Instance }, start);
        _level--;
        return r;
    }

    // listcomp: '[' named_expression for_if_clauses ']'
    private ExprNode? ListComp()
    {
        Enter();
        int start = _mark;
        _mark++;
        var elt = NamedExpression();
        object? gens; // ForIfClauses' compact storage
        if (elt == null || (gens = ForIfClauses()) == null || !Op(OpKind.RightSquareBracket))
        {
            _mark = start;
            _level--;
            return null;
        }
        var r = At(new ListComp { Elt = elt, Generators = AstLists.Handoff<ComprehensionNode>(gens) }, start);
        _level--;
        return r;
    }

    // set: '{' star_named_expressions '}'
    private ExprNode? SetAtom()
    {
        Enter();
        int start = _mark;
        _mark++;
        int elts = _collectedCount;
        if (!CollectStarNamedExpressions() || !Op(OpKind.RightBrace))
        {
            DropCollected(elts);
            _mark = start;
            _level--;
            return null;
        }
        var r = At(new Set { Elts = CollectedList<ExprNode>(elts) }, start);
        _level--;
        return r;
    }

    // setcomp: '{' named_expression for_if_clauses '}'
    private ExprNode? SetComp()
    {
        Enter();
        int start = _mark;
        _mark++;
        var elt = NamedExpression();
        object? gens; // ForIfClauses' compact storage
        if (elt == null || (gens = ForIfClauses()) == null || !Op(OpKind.RightBrace))
        {
            _mark = start;
            _level--;
            return null;
        }
        var r = At(new SetComp { Elt = elt, Generators = AstLists.Handoff<ComprehensionNode>(gens) }, start);
        _level--;
        return r;
    }

    // genexp: '(' (assignment_expression | expression !':=') for_if_clauses ')'
    private ExprNode? Genexp()
    {
        Enter();
        int start = _mark;
        if (!Op(OpKind.LeftParen))
        {
            _level--;
            return null;
        }
        int m = _mark;
        Enter(); // _tmp: (assignment_expression | expression !':=')
        var elt = AssignmentExpression();
        if (elt == null)
        {
            _mark = m;
            elt = Expression();
            if (elt != null && AtOp(OpKind.ColonEqual)) elt = null;
        }
        _level--;
        object? gens; // ForIfClauses' compact storage
        if (elt == null || (gens = ForIfClauses()) == null || !Op(OpKind.RightParen))
        {
            _mark = start;
            _level--;
            return null;
        }
        var r = At(new GeneratorExp { Elt = elt, Generators = AstLists.Handoff<ComprehensionNode>(gens) }, start);
        _level--;
        return r;
    }

    // dict: '{' [double_starred_kvpairs] '}'
    private ExprNode? DictAtom()
    {
        Enter();
        int start = _mark;
        _mark++;
        var keys = new List<ExprNode?>();
        var values = new List<ExprNode>();
        int m = _mark;
        if (!DoubleStarredKvpairs(keys, values))
        {
            _mark = m;
            keys.Clear();
            values.Clear();
        }
        if (!Op(OpKind.RightBrace))
        {
            _mark = start;
            _level--;
            return null;
        }
        var r = At(new Dict { Keys = keys, Values = values }, start);
        _level--;
        return r;
    }

    // double_starred_kvpairs: ','.double_starred_kvpair+ [',']
    private bool DoubleStarredKvpairs(List<ExprNode?> keys, List<ExprNode> values)
    {
        Enter();
        Enter(); // _gather (the loop's elements count one more level, as in pegen's _loop0)
        if (!DoubleStarredKvpair(keys, values))
        {
            _level -= 2;
            return false;
        }
        Enter(); // _loop0
        while (true)
        {
            int m = _mark;
            if (!Op(OpKind.Comma)) break;
            if (!DoubleStarredKvpair(keys, values))
            {
                _mark = m;
                break;
            }
        }
        _level -= 2;
        Op(OpKind.Comma);
        _level--;
        return true;
    }

    // double_starred_kvpair: '**' bitwise_or | kvpair
    private bool DoubleStarredKvpair(List<ExprNode?> keys, List<ExprNode> values)
    {
        Enter();
        int start = _mark;
        if (Op(OpKind.DoubleStar))
        {
            var v = BitwiseOr();
            if (v != null)
            {
                keys.Add(null);
                values.Add(v);
                _level--;
                return true;
            }
            _mark = start;
        }
        Enter(); // kvpair
        var k = Expression();
        if (k != null && Op(OpKind.Colon))
        {
            var v = Expression();
            if (v != null)
            {
                keys.Add(k);
                values.Add(v);
                _level -= 2;
                return true;
            }
        }
        _mark = start;
        _level -= 2;
        return false;
    }

    // dictcomp: '{' kvpair for_if_clauses '}'
    private ExprNode? DictComp()
    {
        Enter();
        int start = _mark;
        _mark++;
        var k = Expression();
        ExprNode? v = null;
        object? gens; // ForIfClauses' compact storage
        if (k == null || !Op(OpKind.Colon) || (v = Expression()) == null || (gens = ForIfClauses()) == null
            || !Op(OpKind.RightBrace))
        {
            _mark = start;
            _level--;
            return null;
        }
        var r = At(new DictComp { Key = k, Value = v, Generators = AstLists.Handoff<ComprehensionNode>(gens) }, start);
        _level--;
        return r;
    }

    // for_if_clauses: for_if_clause+
    /// <summary>The clauses as a list field's storage (<see cref="CollectedStorage{T}"/>), null when there is none.</summary>
    private object? ForIfClauses()
    {
        Enter();
        Enter(); // _loop1
        int clauses = _collectedCount;
        while (true)
        {
            var c = ForIfClause();
            if (c == null) break;
            Collect(c);
        }
        _level -= 2;
        return _collectedCount == clauses ? null : CollectedStorage<ComprehensionNode>(clauses);
    }

    // for_if_clause: ['async'] 'for' star_targets 'in' ~ disjunction ('if' disjunction)*
    private ComprehensionNode? ForIfClause()
    {
        Enter();
        int start = _mark;
        bool isAsync = Kw(KeywordKind.Async);
        if (!Kw(KeywordKind.For))
        {
            _mark = start;
            _level--;
            return null;
        }
        var target = StarTargets();
        ExprNode? iter;
        if (target == null || !Kw(KeywordKind.In) || (iter = Disjunction()) == null)
        {
            _mark = start;
            _level--;
            return null;
        }
        int ifs = _collectedCount;
        Enter(); // _loop0
        while (true)
        {
            int m = _mark;
            if (!Kw(KeywordKind.If)) break;
            var cond = Disjunction();
            if (cond == null)
            {
                _mark = m;
                break;
            }
            Collect(cond);
        }
        _level--;
        _level--;
        return new Comprehension { Target = target, Iter = iter, Ifs = CollectedList<ExprNode>(ifs), IsAsync = isAsync ? 1 : 0 };
    }

    // lambdef: 'lambda' [lambda_params] ':' expression
    private ExprNode? Lambdef()
    {
        if (!AtKw(KeywordKind.Lambda)) return null;
        Enter();
        int start = _mark;
        _mark++;
        int m = _mark;
        var args = Parameters(true);
        if (args == null) _mark = m;
        ExprNode? body;
        if (!Op(OpKind.Colon) || (body = Expression()) == null)
        {
            _mark = start;
            _level--;
            return null;
        }
        var r = At(new Lambda { Args = args ?? EmptyArguments(), Body = body }, start);
        _level--;
        return r;
    }

    // ------------------------------------------------------------------------------------ call arguments

    // arguments (memo): args [','] &')'
    private CallArguments? Arguments()
    {
        Enter();
        int start = _mark;
        if (TryHotMemo<CallArguments>(HotArguments, out var memo))
        {
            _level--;
            return memo;
        }
        var r = Args();
        if (r != null)
        {
            Op(OpKind.Comma);
            if (!AtOp(OpKind.RightParen)) r = null;
        }
        if (r == null) _mark = start;
        HotMemo(HotArguments, start, r);
        _level--;
        return r;
    }

    // args: ','.(starred_expression | (assignment_expression | expression !':=') !'=')+ [',' kwargs] | kwargs
    private CallArguments? Args()
    {
        Enter();
        int start = _mark;
        var first = PositionalArgument();
        if (first != null)
        {
            int positional = _collectedCount;
            Collect(first);
            Enter(); // _gather
            while (true)
            {
                int m = _mark;
                if (!Op(OpKind.Comma)) break;
                var a = PositionalArgument();
                if (a == null)
                {
                    _mark = m;
                    break;
                }
                Collect(a);
            }
            _level--;
            int m2 = _mark;
            if (Op(OpKind.Comma))
            {
                // kwargs appends its starred arguments to the positional ones (and takes them off when it
                // backtracks): on this rarer path they go on as a List.
                var args = new List<ExprNode>(_collectedCount - positional);
                for (int i = positional; i < _collectedCount; i++) args.Add((ExprNode)_collected[i]!);
                DropCollected(positional);
                List<KeywordNode>? keywords = new List<KeywordNode>();
                if (!Kwargs(args, keywords)) _mark = m2;
                if (keywords.Count == 0) keywords = null;
                _level--;
                return new CallArguments(args, keywords);
            }
            _level--;
            return new CallArguments(CollectedStorage<ExprNode>(positional), null);
        }
        _mark = start;
        // kwargs starts with '*', '**' or a NAME: anything else (the ')' of every call without arguments) fails it
        // without reading further, so the two lists it would fill are not allocated. (The levels kwargs would enter
        // are shallower than those positional argument parsing just reached: no MaxStack verdict changes.)
        ref readonly var t = ref Peek();
        if (t.Op is not (OpKind.Star or OpKind.DoubleStar) && (t.Kind != TokenKind.Name || t.IsHardKeyword))
        {
            _level--;
            return null;
        }
        var starred = new List<ExprNode>();
        var kws = new List<KeywordNode>();
        if (Kwargs(starred, kws))
        {
            _level--;
            return new CallArguments(starred.Count > 0 ? starred : null, kws.Count > 0 ? kws : null);
        }
        _mark = start;
        _level--;
        return null;
    }

    // One element of args' gather: (starred_expression | (assignment_expression | expression !':=') !'=').
    // pegen nests it as _gather → _tmp → _tmp, which counts three levels.
    private ExprNode? PositionalArgument()
    {
        int start = _mark;
        // A keyword argument (NAME '='): every alternative fails, the expression one after making the name's node for
        // nothing (`!'='`). The same two tokens are read; the levels it would enter (the atom chain, about 30) are
        // within MaxStack, and a name raises nothing.
        ref readonly var t = ref Peek();
        if (t.Kind == TokenKind.Name && !t.IsHardKeyword && !_callInvalidRules && _level < MaxStack - 64
            && PeekAt(start + 1).Op == OpKind.Equal)
            return null;
        _level += 2;
        var s = StarredExpression();
        if (s != null)
        {
            _level -= 2;
            return s;
        }
        Enter(); // inner _tmp
        var e = AssignmentExpression();
        if (e == null)
        {
            _mark = start;
            e = Expression();
            if (e != null && AtOp(OpKind.ColonEqual)) e = null;
        }
        _level -= 3;
        if (e != null && !AtOp(OpKind.Equal)) return e;
        _mark = start;
        return null;
    }

    // kwargs: ','.kwarg_or_starred+ ',' ','.kwarg_or_double_starred+ | ','.kwarg_or_starred+ | ','.kwarg_or_double_starred+
    // Starred items go to starred (appended after the positional arguments), keywords to keywords.
    private bool Kwargs(List<ExprNode> starred, List<KeywordNode> keywords)
    {
        Enter();
        int start = _mark;
        int starredCount = starred.Count, keywordCount = keywords.Count;
        if (KwargOrStarred(starred, keywords, false))
        {
            while (true)
            {
                int m = _mark;
                if (!Op(OpKind.Comma)) break;
                if (!KwargOrStarred(starred, keywords, false))
                {
                    _mark = m;
                    break;
                }
            }
            int afterFirst = _mark;
            int sc = starred.Count, kc = keywords.Count;
            if (Op(OpKind.Comma) && KwargOrStarred(starred, keywords, true))
            {
                while (true)
                {
                    int m = _mark;
                    if (!Op(OpKind.Comma)) break;
                    if (!KwargOrStarred(starred, keywords, true))
                    {
                        _mark = m;
                        break;
                    }
                }
                _level--;
                return true;
            }
            _mark = afterFirst;
            Truncate(starred, sc);
            Truncate(keywords, kc);
            _level--;
            return true;
        }
        _mark = start;
        Truncate(starred, starredCount);
        Truncate(keywords, keywordCount);
        if (KwargOrStarred(starred, keywords, true))
        {
            while (true)
            {
                int m = _mark;
                if (!Op(OpKind.Comma)) break;
                if (!KwargOrStarred(starred, keywords, true))
                {
                    _mark = m;
                    break;
                }
            }
            _level--;
            return true;
        }
        _mark = start;
        _level--;
        return false;
    }

    private static void Truncate<T>(List<T> list, int count)
    {
        if (list.Count > count) list.RemoveRange(count, list.Count - count);
    }

    // kwarg_or_starred: NAME '=' expression | starred_expression
    // kwarg_or_double_starred: NAME '=' expression | '**' expression
    private bool KwargOrStarred(List<ExprNode> starred, List<KeywordNode> keywords, bool doubleStarred)
    {
        Enter();
        int start = _mark;
        var name = NameId();
        if (name != null && Op(OpKind.Equal))
        {
            var v = Expression();
            if (v != null)
            {
                keywords.Add(At(new Keyword { Arg = name, Value = v }, start));
                _level--;
                return true;
            }
        }
        _mark = start;
        if (doubleStarred)
        {
            if (Op(OpKind.DoubleStar))
            {
                var v = Expression();
                if (v != null)
                {
                    keywords.Add(At(new Keyword { Arg = null, Value = v }, start));
                    _level--;
                    return true;
                }
            }
        }
        else
        {
            var s = StarredExpression();
            if (s != null)
            {
                starred.Add(s);
                _level--;
                return true;
            }
        }
        _mark = start;
        _level--;
        return false;
    }

    // starred_expression: '*' expression
    private ExprNode? StarredExpression()
    {
        if (!AtOp(OpKind.Star)) return null;
        Enter();
        int start = _mark;
        _mark++;
        var v = Expression();
        ExprNode? r = null;
        if (v != null) r = At(new Starred { Value = v, Ctx = Load.Instance }, start);
        else _mark = start;
        _level--;
        return r;
    }
}
