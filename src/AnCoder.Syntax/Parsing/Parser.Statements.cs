using System.Collections.Generic;
using AnCoder.Syntax.Ast;
using Attribute = AnCoder.Syntax.Ast.Attribute;
using Tuple = AnCoder.Syntax.Ast.Tuple;
using AnCoder.Syntax.Tokenizing;

namespace AnCoder.Syntax.Parsing;

internal sealed partial class Parser
{
    private const int MemoSimpleStmt = 1, MemoBlock = 2, MemoExpression = 3, MemoStarExpression = 4,
        MemoStarTarget = 5, MemoTargetWithStarAtom = 6, MemoDelTarget = 7, MemoArguments = 8, MemoStrings = 9,
        MemoClosedPattern = 10, MemoStarPattern = 11, MemoTPrimary = 12, MemoDisjunction = 13, MemoFactor = 14,
        MemoImportStmt = 15, MemoInversion = 16, MemoConjunction = 17, MemoAwaitPrimary = 18, MemoBitwiseOr = 19;

    // file: [statements] ENDMARKER
    private Module? File()
    {
        Enter();
        int start = _mark;
        var body = Statements();
        if (body == null) _mark = start;
        if (Kind(TokenKind.EndMarker))
        {
            _level--;
            var module = new Module { Body = body };
            module.CompactLists();
            return module;
        }
        _mark = start;
        _level--;
        return null;
    }

    // statements: statement+   (flattened)
    private List<StmtNode>? Statements()
    {
        Enter();
        Enter(); // _loop1
        if (_streaming && _level == 3)
        {
            // The top-level statements of a streaming parse (file -> statements -> _loop1): nothing is kept.
            var list = new List<StmtNode>();
            bool any = false;
            while (Statement(list))
            {
                any = true;
                DropFinishedStatements(list);
            }
            _level -= 2;
            return any ? list : null;
        }
        if (_level == 3)
        {
            var list = new List<StmtNode>();
            int finished = 0;
            while (Statement(list))
            {
                // The statement is finished (no rule backtracks into it): depths and compact lists now, while its
                // nodes are young, so the tree never holds List objects (docs: AstLists).
                for (; finished < list.Count; finished++)
                {
                    var statement = list[finished];
                    statement.Depth = 1;
                    _moduleNesting = Math.Max(_moduleNesting, AstDepth.AssignAndCompact(statement) + 1);
                }
                if (_windowed) CompactTokens();
                else AdvanceMemoWindow();
            }
            _level -= 2;
            return list.Count == 0 ? null : list;
        }
        // A block's statements: collected (Collect) and handed to the node at their exact size, with no List and
        // no growth arrays (a List per block, grown by doubling and copied into an array when the statement was
        // compacted, was 0.5 MB of garbage per MB of stdlib source).
        int mark = _collectedCount;
        while (Statement(null)) { }
        _level -= 2;
        return CollectedStatements(mark);
    }

    /// <summary>The statements collected since <paramref name="mark"/> as a block's list field (taken off; its carrier
    /// is <see cref="AstLists.Owned{T}"/> because the compound statement assigns it after parsing more), or null when
    /// none were.</summary>
    private List<StmtNode>? CollectedStatements(int mark) =>
        _collectedCount == mark ? null : AstLists.Owned<StmtNode>(CollectedStorage<StmtNode>(mark));

    // statement: compound_stmt | simple_stmts
    /// <summary>Appends the statement(s) to <paramref name="into"/>, or collects them (<see cref="Collect"/>) when it
    /// is null.</summary>
    private bool Statement(List<StmtNode>? into)
    {
        Enter();
        var c = CompoundStmt();
        if (c != null)
        {
            Keep(c, into);
            _level--;
            return true;
        }
        if (SimpleStmts(into))
        {
            _level--;
            return true;
        }
        _level--;
        return false;
    }

    /// <summary>Appends <paramref name="statement"/> to <paramref name="into"/>, or collects it when that is null.</summary>
    private void Keep(StmtNode statement, List<StmtNode>? into)
    {
        if (into != null) into.Add(statement);
        else Collect(statement);
    }

    // simple_stmts: simple_stmt !';' NEWLINE | ';'.simple_stmt+ [';'] NEWLINE
    /// <summary>Appends the statements to <paramref name="into"/> or, when it is null, collects them
    /// (<see cref="Collect"/>); false when there are none (nothing appended or collected).</summary>
    private bool SimpleStmts(List<StmtNode>? into)
    {
        Enter();
        int start = _mark;
        var first = SimpleStmt();
        if (first == null)
        {
            _level--;
            return false;
        }
        if (!AtOp(OpKind.Semicolon) && Kind(TokenKind.Newline))
        {
            _level--;
            Keep(first, into);
            return true;
        }
        // Second alternative: re-parsing the first simple_stmt would give the same result (pegen memoises it).
        int mark = _collectedCount;
        Collect(first);
        while (true)
        {
            int m = _mark;
            if (!Op(OpKind.Semicolon)) break;
            var next = SimpleStmt();
            if (next == null)
            {
                _mark = m;
                break;
            }
            Collect(next);
        }
        Op(OpKind.Semicolon);
        if (Kind(TokenKind.Newline))
        {
            _level--;
            if (into != null)
            {
                for (int i = mark; i < _collectedCount; i++) into.Add((StmtNode)_collected[i]!);
                DropCollected(mark);
            }
            return true;
        }
        DropCollected(mark);
        _mark = start;
        _level--;
        return false;
    }

    // simple_stmt (memo)
    private StmtNode? SimpleStmt()
    {
        Enter();
        int start = _mark;
        var r = SimpleStmtBody(start);
        if (r == null) _mark = start;
        _level--;
        return r;
    }

    private StmtNode? SimpleStmtBody(int start)
    {
        // The keyword-led statements cannot start an assignment or an expression: test them first.
        ref readonly var t = ref Peek();
        if (t.Kind == TokenKind.Name && t.IsHardKeyword)
        {
            switch (t.Keyword)
            {
                case KeywordKind.Return: return ReturnStmt();
                case KeywordKind.Import:
                case KeywordKind.From: return ImportStmt();
                case KeywordKind.Raise: return RaiseStmt();
                case KeywordKind.Pass: _mark++; return At(new Pass(), start);
                case KeywordKind.Del: return DelStmt();
                case KeywordKind.Yield: return YieldStmt();
                case KeywordKind.Assert: return AssertStmt();
                case KeywordKind.Break: _mark++; return At(new Break(), start);
                case KeywordKind.Continue: _mark++; return At(new Continue(), start);
                case KeywordKind.Global: return GlobalStmt(true);
                case KeywordKind.Nonlocal: return GlobalStmt(false);
            }
        }
        // A predicting parse skips the alternatives of assignment that no token of the statement could make match.
        var signs = !_predicting || _callInvalidRules ? AssignmentSigns.All : ScanAssignmentSigns();
        if (signs != AssignmentSigns.None)
        {
            var a = Assignment(signs);
            if (a != null) return a;
            _mark = start;
        }
        var e = StarExpressions();
        if (e != null) return At(new Expr { Value = e }, start);
        _mark = start;
        return null;
    }

    /// <summary>What the alternatives of assignment need outside brackets, before the statement's NEWLINE or ';'
    /// (the targets and annotations are bracket-balanced): the annotated ones a ':', the chained one an '=', the
    /// augmented one an augmented-assignment operator.</summary>
    [Flags]
    private enum AssignmentSigns
    {
        None = 0,
        Colon = 1,
        Equal = 2,
        Augmented = 4,
        All = Colon | Equal | Augmented,
    }

    /// <summary>
    /// The <see cref="AssignmentSigns"/> of the simple statement starting here: an alternative of assignment whose
    /// sign is missing would fail. Trying them all first cost expression statements (calls) a second parse of their
    /// primary as targets (t_primary) and its nodes, and attribute assignments a target made for the annotated
    /// alternative. Looks at most <see cref="AssignmentScanTokens"/> tokens ahead (all signs beyond, or on unbalanced
    /// brackets); only in a predicting parse, because reading ahead moves the parser's last-token-read, where
    /// CPython's errors are placed.
    /// </summary>
    private AssignmentSigns ScanAssignmentSigns()
    {
        int i = _mark, limit = _mark + AssignmentScanTokens;
        while (true)
        {
            switch (NextOutsideBrackets(ref i, limit, out var op))
            {
                case OutsideBrackets.LineEnd:
                    return AssignmentSigns.None;
                case OutsideBrackets.Unbalanced or OutsideBrackets.TooFar:
                    return AssignmentSigns.All; // let the rules decide
            }
            // The first sign decides: every alternative's target holds no sign outside brackets, so its own sign is
            // the statement's first one.
            if (op == OpKind.Semicolon) return AssignmentSigns.None;
            if (op == OpKind.Colon) return AssignmentSigns.Colon;
            if (op == OpKind.Equal) return AssignmentSigns.Equal;
            if (IsAugmentedAssignment(op)) return AssignmentSigns.Augmented;
        }
    }

    private const int AssignmentScanTokens = 256;

    // compound_stmt
    private StmtNode? CompoundStmt()
    {
        Enter();
        ref readonly var t = ref Peek();
        StmtNode? r = null;
        if (t.Kind == TokenKind.Name)
        {
            switch (t.Keyword)
            {
                case KeywordKind.Def: r = FunctionDef(); break;
                case KeywordKind.If: r = IfStmt(); break;
                case KeywordKind.Class: r = ClassDef(); break;
                case KeywordKind.Async:
                    r = FunctionDef() ?? WithStmt() ?? ForStmt();
                    break;
                case KeywordKind.With: r = WithStmt(); break;
                case KeywordKind.For: r = ForStmt(); break;
                case KeywordKind.Try: r = TryStmt(); break;
                case KeywordKind.While: r = WhileStmt(); break;
                case KeywordKind.SoftMatch: r = MatchStmt(); break;
            }
        }
        else if (t.Op == OpKind.At)
        {
            r = FunctionDef() ?? ClassDef();
        }
        _level--;
        return r;
    }

    // ------------------------------------------------------------------------------------ simple statements

    // assignment
    /// <param name="signs">The alternatives to try (<see cref="ScanAssignmentSigns"/>); the others would fail.</param>
    private StmtNode? Assignment(AssignmentSigns signs)
    {
        Enter();
        int start = _mark;
        StmtNode? r;
        // NAME ':' expression ['=' annotated_rhs]
        ref readonly var first = ref Peek();
        var name = first.Kind == TokenKind.Name && !first.IsHardKeyword && PeekAt(_mark + 1).Op == OpKind.Colon ? NameNode() : null;
        if (name != null && Op(OpKind.Colon))
        {
            var ann = Expression();
            if (ann != null)
            {
                var value = OptionalAssignedValue();
                r = At(new AnnAssign { Target = SetContext(name, ExprCtx.Store), Annotation = ann, Value = value, Simple = 1 }, start);
                _level--;
                return r;
            }
        }
        _mark = start;
        // ('(' single_target ')' | single_subscript_attribute_target) ':' expression ['=' annotated_rhs]
        if ((signs & AssignmentSigns.Colon) != 0)
        {
            ExprNode? target = null;
            Enter(); // _tmp: ('(' single_target ')' | single_subscript_attribute_target)
            if (Op(OpKind.LeftParen))
            {
                target = SingleTarget();
                if (target == null || !Op(OpKind.RightParen)) target = null;
            }
            if (target == null)
            {
                _mark = start;
                target = SingleSubscriptAttributeTarget();
            }
            _level--;
            if (target != null && Op(OpKind.Colon))
            {
                var ann = Expression();
                if (ann != null)
                {
                    var value = OptionalAssignedValue();
                    r = At(new AnnAssign { Target = target, Annotation = ann, Value = value, Simple = 0 }, start);
                    _level--;
                    return r;
                }
            }
        }
        _mark = start;
        // (star_targets '=')+ (yield_expr | star_expressions) !'=' [TYPE_COMMENT]
        if ((signs & AssignmentSigns.Equal) != 0)
        {
            int targets = _collectedCount;
            Enter(); // _loop1
            while (true)
            {
                int m = _mark;
                Enter(); // _tmp
                var t = StarTargets();
                _level--;
                if (t == null || !Op(OpKind.Equal))
                {
                    _mark = m;
                    break;
                }
                Collect(t);
            }
            _level--;
            if (_collectedCount != targets)
            {
                Enter(); // _tmp: (yield_expr | star_expressions)
                var value = YieldExpr() ?? StarExpressions();
                _level--;
                if (value != null && !AtOp(OpKind.Equal))
                {
                    r = At(new Assign { Targets = CollectedList<ExprNode>(targets), Value = value }, start);
                    _level--;
                    return r;
                }
                DropCollected(targets);
            }
        }
        _mark = start;
        // single_target augassign ~ (yield_expr | star_expressions)
        if ((signs & AssignmentSigns.Augmented) != 0)
        {
            var target = SingleTarget();
            if (target != null)
            {
                var op = AugAssignOperator();
                if (op != null)
                {
                    Enter(); // _tmp: (yield_expr | star_expressions)
                    var value = YieldExpr() ?? StarExpressions();
                    _level--;
                    if (value != null)
                    {
                        r = At(new AugAssign { Target = target, Op = op, Value = value }, start);
                        _level--;
                        return r;
                    }
                }
            }
        }
        _mark = start;
        _level--;
        return null;
    }

    // ['=' annotated_rhs]
    private ExprNode? OptionalAssignedValue()
    {
        int m = _mark;
        if (!Op(OpKind.Equal)) return null;
        Enter(); // _tmp: '=' annotated_rhs
        var v = AnnotatedRhs();
        _level--;
        if (v == null) _mark = m;
        return v;
    }

    // annotated_rhs: yield_expr | star_expressions
    private ExprNode? AnnotatedRhs()
    {
        Enter();
        var r = YieldExpr() ?? StarExpressions();
        _level--;
        return r;
    }

    private OperatorNode? AugAssignOperator()
    {
        OperatorNode? op = Peek().Op switch
        {
            OpKind.PlusEqual => Add.Instance,
            OpKind.MinusEqual => Sub.Instance,
            OpKind.StarEqual => Mult.Instance,
            OpKind.AtEqual => MatMult.Instance,
            OpKind.SlashEqual => Div.Instance,
            OpKind.PercentEqual => Mod.Instance,
            OpKind.AmpersandEqual => BitAnd.Instance,
            OpKind.VerticalBarEqual => BitOr.Instance,
            OpKind.CircumflexEqual => BitXor.Instance,
            OpKind.LeftShiftEqual => LShift.Instance,
            OpKind.RightShiftEqual => RShift.Instance,
            OpKind.DoubleStarEqual => Pow.Instance,
            OpKind.DoubleSlashEqual => FloorDiv.Instance,
            _ => null,
        };
        if (op != null) _mark++;
        return op;
    }

    // return_stmt: 'return' [star_expressions]
    private StmtNode? ReturnStmt()
    {
        Enter();
        int start = _mark;
        _mark++;
        var value = StarExpressions();
        var r = At(new Return { Value = value }, start);
        _level--;
        return r;
    }

    // raise_stmt: 'raise' expression ['from' expression] | 'raise'
    private StmtNode? RaiseStmt()
    {
        Enter();
        int start = _mark;
        _mark++;
        StmtNode r;
        var exc = Expression();
        if (exc != null)
        {
            ExprNode? cause = null;
            int m = _mark;
            if (Kw(KeywordKind.From))
            {
                cause = Expression();
                if (cause == null) _mark = m;
            }
            r = At(new Raise { Exc = exc, Cause = cause }, start);
        }
        else
        {
            _mark = start + 1;
            r = At(new Raise(), start);
        }
        _level--;
        return r;
    }

    // global_stmt / nonlocal_stmt: 'global' ','.NAME+
    private StmtNode? GlobalStmt(bool global)
    {
        Enter();
        int start = _mark;
        _mark++;
        var names = new List<string>();
        var first = NameId();
        if (first == null)
        {
            _mark = start;
            _level--;
            return null;
        }
        names.Add(first);
        while (true)
        {
            int m = _mark;
            if (!Op(OpKind.Comma)) break;
            var n = NameId();
            if (n == null)
            {
                _mark = m;
                break;
            }
            names.Add(n);
        }
        StmtNode r = global ? At(new Global { Names = names }, start) : At(new Nonlocal { Names = names }, start);
        _level--;
        return r;
    }

    // del_stmt: 'del' del_targets &(';' | NEWLINE)
    private StmtNode? DelStmt()
    {
        Enter();
        int start = _mark;
        _mark++;
        var targets = DelTargets();
        if (targets != null && (AtOp(OpKind.Semicolon) || AtKind(TokenKind.Newline)))
        {
            var r = At(new Delete { Targets = targets }, start);
            _level--;
            return r;
        }
        _mark = start;
        _level--;
        return null;
    }

    // yield_stmt: yield_expr
    private StmtNode? YieldStmt()
    {
        Enter();
        int start = _mark;
        var y = YieldExpr();
        StmtNode? r = y == null ? null : At(new Expr { Value = y }, start);
        _level--;
        return r;
    }

    // assert_stmt: 'assert' expression [',' expression]
    private StmtNode? AssertStmt()
    {
        Enter();
        int start = _mark;
        _mark++;
        var test = Expression();
        if (test == null)
        {
            _mark = start;
            _level--;
            return null;
        }
        ExprNode? msg = null;
        int m = _mark;
        if (Op(OpKind.Comma))
        {
            msg = Expression();
            if (msg == null) _mark = m;
        }
        var r = At(new Assert { Test = test, Msg = msg }, start);
        _level--;
        return r;
    }

    // import_stmt (memo): import_name | import_from
    private StmtNode? ImportStmt()
    {
        Enter();
        int start = _mark;
        StmtNode? r = AtKw(KeywordKind.Import) ? ImportName() : ImportFrom();
        if (r == null) _mark = start;
        _level--;
        return r;
    }

    // import_name: 'import' dotted_as_names
    private StmtNode? ImportName()
    {
        Enter();
        int start = _mark;
        _mark++;
        var names = DottedAsNames();
        StmtNode? r = null;
        if (names != null) r = At(new Import { Names = names }, start);
        else _mark = start;
        _level--;
        return r;
    }

    // import_from: 'from' ('.' | '...')* dotted_name 'import' import_from_targets
    //            | 'from' ('.' | '...')+ 'import' import_from_targets
    private StmtNode? ImportFrom()
    {
        Enter();
        int start = _mark;
        _mark++;
        int level = 0;
        while (true)
        {
            if (Op(OpKind.Dot)) level++;
            else if (Op(OpKind.Ellipsis)) level += 3;
            else break;
        }
        int afterDots = _mark;
        StmtNode? r = null;
        var module = DottedName();
        if (module != null && Kw(KeywordKind.Import))
        {
            var names = ImportFromTargets();
            if (names != null) r = At(new ImportFrom { Module = module, Names = names, Level = level }, start);
        }
        if (r == null && level > 0)
        {
            _mark = afterDots;
            if (Kw(KeywordKind.Import))
            {
                var names = ImportFromTargets();
                if (names != null) r = At(new ImportFrom { Module = null, Names = names, Level = level }, start);
            }
        }
        if (r == null) _mark = start;
        _level--;
        return r;
    }

    // import_from_targets: '(' import_from_as_names [','] ')' | import_from_as_names !',' | '*'
    private List<AliasNode>? ImportFromTargets()
    {
        Enter();
        int start = _mark;
        List<AliasNode>? r = null;
        if (Op(OpKind.LeftParen))
        {
            var names = ImportFromAsNames();
            if (names != null)
            {
                Op(OpKind.Comma);
                if (Op(OpKind.RightParen)) r = names;
            }
        }
        if (r == null)
        {
            _mark = start;
            var names = ImportFromAsNames();
            if (names != null && !AtOp(OpKind.Comma)) r = names;
        }
        if (r == null)
        {
            _mark = start;
            if (Op(OpKind.Star)) r = new List<AliasNode>(1) { At(new Alias { Name = "*" }, start) };
        }
        if (r == null) _mark = start;
        _level--;
        return r;
    }

    // import_from_as_names: ','.import_from_as_name+
    private List<AliasNode>? ImportFromAsNames()
    {
        Enter();
        var first = ImportAlias(false);
        if (first == null)
        {
            _level--;
            return null;
        }
        var list = new List<AliasNode> { first };
        while (true)
        {
            int m = _mark;
            if (!Op(OpKind.Comma)) break;
            var a = ImportAlias(false);
            if (a == null)
            {
                _mark = m;
                break;
            }
            list.Add(a);
        }
        _level--;
        return list;
    }

    // import_from_as_name: NAME ['as' NAME]   /   dotted_as_name: dotted_name ['as' NAME]
    private AliasNode? ImportAlias(bool dotted)
    {
        Enter();
        int start = _mark;
        var name = dotted ? DottedName() : NameId();
        if (name == null)
        {
            _level--;
            return null;
        }
        string? asname = null;
        int m = _mark;
        if (Kw(KeywordKind.As))
        {
            asname = NameId();
            if (asname == null) _mark = m;
        }
        var r = At(new Alias { Name = name, Asname = asname }, start);
        _level--;
        return r;
    }

    // dotted_as_names: ','.dotted_as_name+
    private List<AliasNode>? DottedAsNames()
    {
        Enter();
        var first = ImportAlias(true);
        if (first == null)
        {
            _level--;
            return null;
        }
        var list = new List<AliasNode> { first };
        while (true)
        {
            int m = _mark;
            if (!Op(OpKind.Comma)) break;
            var a = ImportAlias(true);
            if (a == null)
            {
                _mark = m;
                break;
            }
            list.Add(a);
        }
        _level--;
        return list;
    }

    // dotted_name: dotted_name '.' NAME | NAME   (_PyPegen_join_names_with_dot)
    private string? DottedName()
    {
        Enter2();
        var first = NameId();
        if (first == null)
        {
            _level -= 2;
            return null;
        }
        string result = first;
        while (true)
        {
            int m = _mark;
            if (!Op(OpKind.Dot)) break;
            var n = NameId();
            if (n == null)
            {
                _mark = m;
                break;
            }
            result = result + "." + n;
        }
        _level -= 2;
        return result;
    }

    // ------------------------------------------------------------------------------------ compound statements

    // block (memo): NEWLINE INDENT statements DEDENT | simple_stmts
    private List<StmtNode>? Block()
    {
        Enter();
        int start = _mark;
        List<StmtNode>? r = null;
        if (Kind(TokenKind.Newline) && Kind(TokenKind.Indent))
        {
            var body = Statements();
            if (body != null && Kind(TokenKind.Dedent)) r = body;
        }
        if (r == null)
        {
            _mark = start;
            int mark = _collectedCount;
            if (SimpleStmts(null)) r = CollectedStatements(mark);
        }
        if (r == null) _mark = start;
        _level--;
        return r;
    }

    // decorators: ('@' named_expression NEWLINE)+
    private List<ExprNode>? Decorators()
    {
        Enter();
        Enter(); // _loop1
        List<ExprNode>? list = null;
        while (true)
        {
            int m = _mark;
            Enter(); // _tmp
            ExprNode? d = null;
            if (Op(OpKind.At))
            {
                d = NamedExpression();
                if (d != null && !Kind(TokenKind.Newline)) d = null;
            }
            _level--;
            if (d == null)
            {
                _mark = m;
                break;
            }
            (list ??= new List<ExprNode>()).Add(d);
        }
        _level -= 2;
        return list;
    }

    // class_def: decorators class_def_raw | class_def_raw
    private StmtNode? ClassDef()
    {
        Enter();
        int start = _mark;
        var decorators = AtOp(OpKind.At) ? Decorators() : null;
        var c = ClassDefRaw();
        if (c == null)
        {
            _mark = start;
            _level--;
            return null;
        }
        if (decorators != null) c.DecoratorList = decorators;
        _level--;
        return c;
    }

    // class_def_raw: 'class' NAME ['(' [arguments] ')'] ':' block
    private Ast.ClassDef? ClassDefRaw()
    {
        Enter();
        int start = _mark;
        if (!Kw(KeywordKind.Class))
        {
            _level--;
            return null;
        }
        var name = NameId();
        if (name == null)
        {
            _mark = start;
            _level--;
            return null;
        }
        CallArguments? bases = null;
        int m = _mark;
        if (Op(OpKind.LeftParen))
        {
            bases = Arguments() ?? CallArguments.None;
            if (!Op(OpKind.RightParen))
            {
                bases = null;
                _mark = m;
            }
        }
        if (!Op(OpKind.Colon))
        {
            _mark = start;
            _level--;
            return null;
        }
        var body = Block();
        if (body == null)
        {
            _mark = start;
            _level--;
            return null;
        }
        var classDef = new Ast.ClassDef { Name = name, Body = body };
        if (bases?.PositionalList is { } positional) classDef.Bases = positional;
        if (bases?.Keywords is { } keywords) classDef.Keywords = keywords;
        var r = At(classDef, start);
        _level--;
        return r;
    }


    // function_def: decorators function_def_raw | function_def_raw
    private StmtNode? FunctionDef()
    {
        Enter();
        int start = _mark;
        var decorators = AtOp(OpKind.At) ? Decorators() : null;
        var f = FunctionDefRaw();
        if (f == null)
        {
            _mark = start;
            _level--;
            return null;
        }
        if (decorators != null)
        {
            if (f is Ast.FunctionDef fd) fd.DecoratorList = decorators;
            else ((AsyncFunctionDef)f).DecoratorList = decorators;
        }
        _level--;
        return f;
    }

    // function_def_raw: 'def' NAME &&'(' [params] ')' ['->' expression] &&':' [func_type_comment] block
    //                 | 'async' 'def' NAME &&'(' [params] ')' ['->' expression] &&':' [func_type_comment] block
    private StmtNode? FunctionDefRaw()
    {
        Enter();
        int start = _mark;
        bool isAsync = Kw(KeywordKind.Async);
        if (!Kw(KeywordKind.Def))
        {
            _mark = start;
            _level--;
            return null;
        }
        var name = NameId();
        if (name == null)
        {
            _mark = start;
            _level--;
            return null;
        }
        ForcedOp(OpKind.LeftParen, "(");
        int m = _mark;
        var args = Params();
        if (args == null) _mark = m;
        if (!Op(OpKind.RightParen))
        {
            _mark = start;
            _level--;
            return null;
        }
        ExprNode? returns = null;
        m = _mark;
        if (Op(OpKind.RightArrow))
        {
            returns = Expression();
            if (returns == null) _mark = m;
        }
        ForcedOp(OpKind.Colon, ":");
        var body = Block();
        if (body == null)
        {
            _mark = start;
            _level--;
            return null;
        }
        args ??= EmptyArguments();
        StmtNode r = isAsync
            ? At(new AsyncFunctionDef { Name = name, Args = args, Body = body, Returns = returns }, start)
            : At(new Ast.FunctionDef { Name = name, Args = args, Body = body, Returns = returns }, start);
        _level--;
        return r;
    }

    // if_stmt: 'if' named_expression ':' block elif_stmt | 'if' named_expression ':' block [else_block]
    // elif_stmt: the same with 'elif'
    private StmtNode? IfStmt()
    {
        Enter();
        int start = _mark;
        _mark++;
        var test = NamedExpression();
        List<StmtNode>? body;
        if (test == null || !Op(OpKind.Colon) || (body = Block()) == null)
        {
            _mark = start;
            _level--;
            return null;
        }
        List<StmtNode>? orelse;
        if (AtKw(KeywordKind.Elif))
        {
            var elif = IfStmt();
            orelse = elif != null ? new List<StmtNode>(1) { elif } : ElseBlockOrEmpty();
        }
        else orelse = ElseBlockOrEmpty();
        var r = At(new If { Test = test, Body = body, Orelse = orelse }, start);
        _level--;
        return r;
    }

    /// <summary>The else block, or null for none: a list field assigned null reads as empty, and an empty List per
    /// if/for/while statement was 32 bytes of garbage (AstLists.Store does not keep empty lists).</summary>
    private List<StmtNode>? ElseBlockOrEmpty() => ElseBlock();

    // else_block: 'else' &&':' block
    private List<StmtNode>? ElseBlock()
    {
        Enter();
        int start = _mark;
        if (!Kw(KeywordKind.Else))
        {
            _level--;
            return null;
        }
        ForcedOp(OpKind.Colon, ":");
        var b = Block();
        if (b == null) _mark = start;
        _level--;
        return b;
    }

    // while_stmt: 'while' named_expression ':' block [else_block]
    private StmtNode? WhileStmt()
    {
        Enter();
        int start = _mark;
        _mark++;
        var test = NamedExpression();
        List<StmtNode>? body;
        if (test == null || !Op(OpKind.Colon) || (body = Block()) == null)
        {
            _mark = start;
            _level--;
            return null;
        }
        var r = At(new While { Test = test, Body = body, Orelse = ElseBlockOrEmpty() }, start);
        _level--;
        return r;
    }

    // for_stmt: ['async'] 'for' star_targets 'in' ~ star_expressions ':' [TYPE_COMMENT] block [else_block]
    private StmtNode? ForStmt()
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
        List<StmtNode>? body;
        if (target == null || !Kw(KeywordKind.In) || (iter = StarExpressions()) == null || !Op(OpKind.Colon)
            || (body = Block()) == null)
        {
            _mark = start;
            _level--;
            return null;
        }
        var orelse = ElseBlockOrEmpty();
        StmtNode r = isAsync
            ? At(new AsyncFor { Target = target, Iter = iter, Body = body, Orelse = orelse }, start)
            : At(new For { Target = target, Iter = iter, Body = body, Orelse = orelse }, start);
        _level--;
        return r;
    }

    // with_stmt: ['async'] 'with' '(' ','.with_item+ ','? ')' ':' block | ['async'] 'with' ','.with_item+ ':' block
    private StmtNode? WithStmt()
    {
        Enter();
        int start = _mark;
        bool isAsync = Kw(KeywordKind.Async);
        if (!Kw(KeywordKind.With))
        {
            _mark = start;
            _level--;
            return null;
        }
        int afterWith = _mark;
        List<WithitemNode>? items = null;
        List<StmtNode>? body = null;
        if (Op(OpKind.LeftParen))
        {
            items = WithItems();
            if (items != null)
            {
                Op(OpKind.Comma);
                if (!Op(OpKind.RightParen) || !Op(OpKind.Colon) || (body = Block()) == null) items = null;
            }
        }
        if (items == null)
        {
            _mark = afterWith;
            items = WithItems();
            if (items == null || !Op(OpKind.Colon) || (body = Block()) == null) items = null;
        }
        if (items == null)
        {
            _mark = start;
            _level--;
            return null;
        }
        StmtNode r = isAsync
            ? At(new AsyncWith { Items = items, Body = body! }, start)
            : At(new With { Items = items, Body = body! }, start);
        _level--;
        return r;
    }

    private List<WithitemNode>? WithItems()
    {
        Enter();
        var first = WithItem();
        if (first == null)
        {
            _level--;
            return null;
        }
        var list = new List<WithitemNode> { first };
        while (true)
        {
            int m = _mark;
            if (!Op(OpKind.Comma)) break;
            var i = WithItem();
            if (i == null)
            {
                _mark = m;
                break;
            }
            list.Add(i);
        }
        _level--;
        return list;
    }

    // with_item: expression 'as' star_target &(',' | ')' | ':') | expression
    private WithitemNode? WithItem()
    {
        Enter();
        var e = Expression();
        if (e == null)
        {
            _level--;
            return null;
        }
        int m = _mark;
        if (Kw(KeywordKind.As))
        {
            var t = StarTarget();
            if (t != null && (AtOp(OpKind.Comma) || AtOp(OpKind.RightParen) || AtOp(OpKind.Colon)))
            {
                _level--;
                return new WithItem { ContextExpr = e, OptionalVars = t };
            }
            _mark = m;
        }
        _level--;
        return new WithItem { ContextExpr = e };
    }

    // try_stmt: 'try' &&':' block finally_block
    //         | 'try' &&':' block except_block+ [else_block] [finally_block]
    //         | 'try' &&':' block except_star_block+ [else_block] [finally_block]
    private StmtNode? TryStmt()
    {
        Enter();
        int start = _mark;
        _mark++;
        ForcedOp(OpKind.Colon, ":");
        var body = Block();
        if (body == null)
        {
            _mark = start;
            _level--;
            return null;
        }
        int afterBody = _mark;
        var fin = FinallyBlock();
        if (fin != null)
        {
            var t = At(new Try { Body = body, Finalbody = fin }, start);
            _level--;
            return t;
        }
        _mark = afterBody;
        for (int star = 0; star < 2; star++)
        {
            _mark = afterBody;
            List<ExcepthandlerNode>? handlers = null;
            Enter(); // _loop1
            while (true)
            {
                var h = ExceptBlock(star == 1);
                if (h == null) break;
                (handlers ??= new List<ExcepthandlerNode>()).Add(h);
            }
            _level--;
            if (handlers == null) continue;
            var orelse = ElseBlockOrEmpty();
            var finalbody = FinallyBlock();
            StmtNode r = star == 0
                ? At(new Try { Body = body, Handlers = handlers, Orelse = orelse, Finalbody = finalbody }, start)
                : At(new TryStar { Body = body, Handlers = handlers, Orelse = orelse, Finalbody = finalbody }, start);
            _level--;
            return r;
        }
        _mark = start;
        _level--;
        return null;
    }

    // except_block: 'except' expression ['as' NAME] ':' block | 'except' ':' block
    // except_star_block: 'except' '*' expression ['as' NAME] ':' block
    private ExcepthandlerNode? ExceptBlock(bool star)
    {
        Enter();
        int start = _mark;
        if (!Kw(KeywordKind.Except) || (star && !Op(OpKind.Star)))
        {
            _mark = start;
            _level--;
            return null;
        }
        int afterExcept = _mark;
        var type = Expression();
        if (type != null)
        {
            string? name = null;
            int m = _mark;
            if (Kw(KeywordKind.As))
            {
                name = NameId();
                if (name == null) _mark = m;
            }
            if (Op(OpKind.Colon))
            {
                var body = Block();
                if (body != null)
                {
                    var r = At(new ExceptHandler { Type = type, Name = name, Body = body }, start);
                    _level--;
                    return r;
                }
            }
        }
        if (!star)
        {
            _mark = afterExcept;
            if (Op(OpKind.Colon))
            {
                var body = Block();
                if (body != null)
                {
                    var r = At(new ExceptHandler { Body = body }, start);
                    _level--;
                    return r;
                }
            }
        }
        _mark = start;
        _level--;
        return null;
    }

    // finally_block: 'finally' &&':' block
    private List<StmtNode>? FinallyBlock()
    {
        Enter();
        int start = _mark;
        if (!Kw(KeywordKind.Finally))
        {
            _level--;
            return null;
        }
        ForcedOp(OpKind.Colon, ":");
        var b = Block();
        if (b == null) _mark = start;
        _level--;
        return b;
    }

    // match_stmt: "match" subject_expr ':' NEWLINE INDENT case_block+ DEDENT
    private StmtNode? MatchStmt()
    {
        Enter();
        int start = _mark;
        _mark++;
        var subject = SubjectExpr();
        if (subject == null || !Op(OpKind.Colon) || !Kind(TokenKind.Newline) || !Kind(TokenKind.Indent))
        {
            _mark = start;
            _level--;
            return null;
        }
        List<MatchCaseNode>? cases = null;
        Enter(); // _loop1
        while (true)
        {
            var c = CaseBlock();
            if (c == null) break;
            (cases ??= new List<MatchCaseNode>()).Add(c);
        }
        _level--;
        if (cases == null || !Kind(TokenKind.Dedent))
        {
            _mark = start;
            _level--;
            return null;
        }
        var r = At(new Match { Subject = subject, Cases = cases }, start);
        _level--;
        return r;
    }

    // subject_expr: star_named_expression ',' star_named_expressions? | named_expression
    private ExprNode? SubjectExpr()
    {
        Enter();
        int start = _mark;
        var first = StarNamedExpression();
        if (first != null && Op(OpKind.Comma))
        {
            int elts = _collectedCount;
            Collect(first);
            int m = _mark;
            if (!CollectStarNamedExpressions()) _mark = m;
            var t = At(new Tuple { Elts = CollectedList<ExprNode>(elts), Ctx = Load.Instance }, start);
            _level--;
            return t;
        }
        _mark = start;
        var r = NamedExpression();
        _level--;
        return r;
    }

    // case_block: "case" patterns guard? ':' block
    private MatchCaseNode? CaseBlock()
    {
        Enter();
        int start = _mark;
        if (!AtSoftKeyword(KeywordKind.SoftCase))
        {
            _level--;
            return null;
        }
        _mark++;
        var pattern = Patterns();
        if (pattern == null)
        {
            _mark = start;
            _level--;
            return null;
        }
        ExprNode? guard = null;
        int m = _mark;
        if (Kw(KeywordKind.If))
        {
            guard = NamedExpression();
            if (guard == null) _mark = m;
        }
        List<StmtNode>? body;
        if (!Op(OpKind.Colon) || (body = Block()) == null)
        {
            _mark = start;
            _level--;
            return null;
        }
        _level--;
        return new MatchCase { Pattern = pattern, Guard = guard, Body = body };
    }
}
