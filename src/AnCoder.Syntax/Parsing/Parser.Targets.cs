using System.Collections.Generic;
using AnCoder.Syntax.Ast;
using Attribute = AnCoder.Syntax.Ast.Attribute;
using Tuple = AnCoder.Syntax.Ast.Tuple;
using AnCoder.Syntax.Tokenizing;

namespace AnCoder.Syntax.Parsing;

internal sealed partial class Parser
{
    private static ExprContextNode NewContext(ExprCtx ctx) => ctx switch
    {
        ExprCtx.Store => Store.Instance,
        ExprCtx.Del => Del.Instance,
        _ => Load.Instance,
    };

    /// <summary>_PyPegen_set_expr_context: a copy of a target expression with the given context
    /// (recursing into Tuple/List/Starred); other expressions are returned unchanged.</summary>
    private static ExprNode SetContext(ExprNode e, ExprCtx ctx)
    {
        switch (e)
        {
            case Name n:
                return CopyPos(new Name { Id = n.Id, Ctx = NewContext(ctx) }, n);
            case Tuple t:
                return CopyPos(new Tuple { Elts = SetContextAll(t.Elts, ctx), Ctx = NewContext(ctx) }, t);
            case List l:
                return CopyPos(new List { Elts = SetContextAll(l.Elts, ctx), Ctx = NewContext(ctx) }, l);
            case Subscript s:
                return CopyPos(new Subscript { Value = s.Value, Slice = s.Slice, Ctx = NewContext(ctx) }, s);
            case Attribute a:
                return CopyPos(new Attribute { Value = a.Value, Attr = a.Attr, Ctx = NewContext(ctx) }, a);
            case Starred st:
                return CopyPos(new Starred { Value = SetContext(st.Value, ctx), Ctx = NewContext(ctx) }, st);
            default:
                return e;
        }
    }

    private static List<ExprNode> SetContextAll(List<ExprNode> elts, ExprCtx ctx)
    {
        var list = new List<ExprNode>(elts.Count);
        foreach (var e in elts) list.Add(SetContext(e, ctx));
        return list;
    }

    // star_targets: star_target !',' | star_target (',' star_target)* [',']
    private ExprNode? StarTargets()
    {
        Enter();
        int start = _mark;
        var first = StarTarget();
        if (first == null || !AtOp(OpKind.Comma))
        {
            _level--;
            return first;
        }
        int elts = _collectedCount;
        Collect(first);
        while (true)
        {
            int m = _mark;
            if (!Op(OpKind.Comma)) break;
            var t = StarTarget();
            if (t == null)
            {
                _mark = m;
                break;
            }
            Collect(t);
        }
        Op(OpKind.Comma);
        var r = At(new Tuple { Elts = CollectedList<ExprNode>(elts), Ctx = Store.Instance }, start);
        _level--;
        return r;
    }

    // star_targets_list_seq: ','.star_target+ [',']
    private List<ExprNode>? StarTargetsListSeq()
    {
        Enter();
        var first = StarTarget();
        if (first == null)
        {
            _level--;
            return null;
        }
        var elts = new List<ExprNode> { first };
        while (true)
        {
            int m = _mark;
            if (!Op(OpKind.Comma)) break;
            var t = StarTarget();
            if (t == null)
            {
                _mark = m;
                break;
            }
            elts.Add(t);
        }
        Op(OpKind.Comma);
        _level--;
        return elts;
    }

    // star_targets_tuple_seq: star_target (',' star_target)+ [','] | star_target ','
    private List<ExprNode>? StarTargetsTupleSeq()
    {
        Enter();
        int start = _mark;
        var first = StarTarget();
        if (first == null || !AtOp(OpKind.Comma))
        {
            _mark = start;
            _level--;
            return null;
        }
        var elts = new List<ExprNode> { first };
        while (true)
        {
            int m = _mark;
            if (!Op(OpKind.Comma)) break;
            var t = StarTarget();
            if (t == null)
            {
                _mark = m;
                break;
            }
            elts.Add(t);
        }
        Op(OpKind.Comma);
        _level--;
        return elts;
    }

    // star_target (memo): '*' (!'*' star_target) | target_with_star_atom
    private ExprNode? StarTarget()
    {
        Enter();
        int start = _mark;
        if (TryHotMemo<ExprNode>(HotStarTarget, out var memo))
        {
            _level--;
            return memo;
        }
        ExprNode? r = null;
        if (Op(OpKind.Star))
        {
            if (!AtOp(OpKind.Star))
            {
                Enter(); // _tmp
                var t = StarTarget();
                _level--;
                if (t != null) r = At(new Starred { Value = SetContext(t, ExprCtx.Store), Ctx = Store.Instance }, start);
            }
            if (r == null) _mark = start;
        }
        else r = TargetWithStarAtom();
        HotMemo(HotStarTarget, start, r);
        _level--;
        return r;
    }

    private bool AtTLookahead()
    {
        var op = Peek().Op;
        return op is OpKind.LeftParen or OpKind.LeftSquareBracket or OpKind.Dot;
    }

    /// <summary>t_primary '.' NAME !t_lookahead | t_primary '[' slices ']' !t_lookahead, with the given context.</summary>
    private ExprNode? SubscriptAttributeTarget(ExprCtx ctx)
    {
        int start = _mark;
        var value = TPrimary();
        if (value == null) return null;
        int afterPrimary = _mark;
        if (Op(OpKind.Dot))
        {
            var name = NameId();
            if (name != null && !AtTLookahead())
                return At(new Attribute { Value = value, Attr = name, Ctx = NewContext(ctx) }, start);
        }
        _mark = start;
        value = TPrimary();
        _mark = afterPrimary;
        if (Op(OpKind.LeftSquareBracket))
        {
            var slice = Slices();
            if (slice != null && Op(OpKind.RightSquareBracket) && !AtTLookahead())
                return At(new Subscript { Value = value!, Slice = slice, Ctx = NewContext(ctx) }, start);
        }
        _mark = start;
        return null;
    }

    // target_with_star_atom (memo): t_primary '.' NAME !t_lookahead | t_primary '[' slices ']' !t_lookahead | star_atom
    private ExprNode? TargetWithStarAtom()
    {
        Enter();
        int start = _mark;
        if (TryHotMemo<ExprNode>(HotTargetWithStarAtom, out var memo))
        {
            _level--;
            return memo;
        }
        var r = SubscriptAttributeTarget(ExprCtx.Store) ?? StarAtom();
        if (r == null) _mark = start;
        HotMemo(HotTargetWithStarAtom, start, r);
        _level--;
        return r;
    }

    // star_atom: NAME | '(' target_with_star_atom ')' | '(' [star_targets_tuple_seq] ')' | '[' [star_targets_list_seq] ']'
    private ExprNode? StarAtom()
    {
        Enter();
        int start = _mark;
        ExprNode? r = null;
        var name = NameNode(ExprCtx.Store);
        if (name != null) r = name;
        else if (Op(OpKind.LeftParen))
        {
            var inner = TargetWithStarAtom();
            if (inner != null && Op(OpKind.RightParen)) r = SetContext(inner, ExprCtx.Store);
            else
            {
                _mark = start + 1;
                var elts = StarTargetsTupleSeq();
                if (Op(OpKind.RightParen))
                    r = At(new Tuple { Elts = elts, Ctx = Store.Instance }, start);
            }
        }
        else if (Op(OpKind.LeftSquareBracket))
        {
            var elts = StarTargetsListSeq();
            if (Op(OpKind.RightSquareBracket))
                r = At(new List { Elts = elts, Ctx = Store.Instance }, start);
        }
        if (r == null) _mark = start;
        _level--;
        return r;
    }

    // single_target: single_subscript_attribute_target | NAME | '(' single_target ')'
    private ExprNode? SingleTarget()
    {
        Enter();
        int start = _mark;
        var r = SingleSubscriptAttributeTarget();
        if (r == null)
        {
            var name = NameNode(ExprCtx.Store);
            if (name != null) r = name;
            else if (Op(OpKind.LeftParen))
            {
                r = SingleTarget();
                if (r == null || !Op(OpKind.RightParen))
                {
                    r = null;
                    _mark = start;
                }
            }
        }
        _level--;
        return r;
    }

    // single_subscript_attribute_target
    private ExprNode? SingleSubscriptAttributeTarget()
    {
        Enter();
        var r = SubscriptAttributeTarget(ExprCtx.Store);
        _level--;
        return r;
    }

    // t_primary: left-recursive; each step must be followed by t_lookahead
    private ExprNode? TPrimary()
    {
        Enter2();
        int start = _mark;
        if (TryHotMemo<ExprNode>(HotTPrimary, out var memo))
        {
            _level -= 2;
            return memo;
        }
        ExprNode? a;
        ref readonly var first = ref Peek();
        if (first.Kind == TokenKind.Name && !first.IsHardKeyword && !_callInvalidRules && _level < MaxStack
            && PeekAt(start + 1).Op is not (OpKind.LeftParen or OpKind.LeftSquareBracket or OpKind.Dot))
        {
            // atom &t_lookahead fails on a name not followed by '(' '[' '.': the atom would be a Name made for nothing
            // (every plain assignment target: `x = ...`). The same tokens are read; the atom's level is within
            // MaxStack, and a name's atom raises nothing.
            a = null;
        }
        else
        {
            a = Atom();
            if (a != null && !AtTLookahead()) a = null;
        }
        while (a != null)
        {
            int m = _mark;
            var k = Peek().Op;
            if (k == OpKind.Dot)
            {
                _mark++;
                var name = NameId();
                if (name != null && AtTLookahead())
                {
                    a = At(new Attribute { Value = a, Attr = name, Ctx = Load.Instance }, start);
                    continue;
                }
            }
            else if (k == OpKind.LeftSquareBracket)
            {
                _mark++;
                var s = Slices();
                if (s != null && Op(OpKind.RightSquareBracket) && AtTLookahead())
                {
                    a = At(new Subscript { Value = a, Slice = s, Ctx = Load.Instance }, start);
                    continue;
                }
            }
            else if (k == OpKind.LeftParen)
            {
                var g = Genexp();
                if (g != null && AtTLookahead())
                {
                    a = At(new Call { Func = a, Args = new List<ExprNode>(1) { g } }, start);
                    continue;
                }
                _mark = m + 1;
                var args = Arguments();
                if (Op(OpKind.RightParen) && AtTLookahead())
                {
                    a = At(NewCall(a, args), start);
                    continue;
                }
            }
            _mark = m;
            break;
        }
        if (a == null) _mark = start;
        HotMemo(HotTPrimary, start, a);
        _level -= 2;
        return a;
    }

    // del_targets: ','.del_target+ [',']
    private List<ExprNode>? DelTargets()
    {
        Enter();
        var first = DelTarget();
        if (first == null)
        {
            _level--;
            return null;
        }
        var elts = new List<ExprNode> { first };
        while (true)
        {
            int m = _mark;
            if (!Op(OpKind.Comma)) break;
            var t = DelTarget();
            if (t == null)
            {
                _mark = m;
                break;
            }
            elts.Add(t);
        }
        Op(OpKind.Comma);
        _level--;
        return elts;
    }

    // del_target (memo): t_primary '.' NAME !t_lookahead | t_primary '[' slices ']' !t_lookahead | del_t_atom
    private ExprNode? DelTarget()
    {
        Enter();
        int start = _mark;
        if (TryMemo<ExprNode>(MemoDelTarget, out var memo))
        {
            _level--;
            return memo;
        }
        var r = SubscriptAttributeTarget(ExprCtx.Del) ?? DelTAtom();
        if (r == null) _mark = start;
        Memo(MemoDelTarget, start, r);
        _level--;
        return r;
    }

    // del_t_atom: NAME | '(' del_target ')' | '(' [del_targets] ')' | '[' [del_targets] ']'
    private ExprNode? DelTAtom()
    {
        Enter();
        int start = _mark;
        ExprNode? r = null;
        var name = NameNode(ExprCtx.Del);
        if (name != null) r = name;
        else if (Op(OpKind.LeftParen))
        {
            var inner = DelTarget();
            if (inner != null && Op(OpKind.RightParen)) r = SetContext(inner, ExprCtx.Del);
            else
            {
                _mark = start + 1;
                var elts = DelTargets();
                if (Op(OpKind.RightParen))
                    r = At(new Tuple { Elts = elts, Ctx = Del.Instance }, start);
            }
        }
        else if (Op(OpKind.LeftSquareBracket))
        {
            var elts = DelTargets();
            if (Op(OpKind.RightSquareBracket))
                r = At(new List { Elts = elts, Ctx = Del.Instance }, start);
        }
        if (r == null) _mark = start;
        _level--;
        return r;
    }
}
