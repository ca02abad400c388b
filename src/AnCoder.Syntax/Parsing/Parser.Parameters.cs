using System.Collections.Generic;
using AnCoder.Syntax.Ast;
using Attribute = AnCoder.Syntax.Ast.Attribute;
using Tuple = AnCoder.Syntax.Ast.Tuple;
using AnCoder.Syntax.Tokenizing;

namespace AnCoder.Syntax.Parsing;

internal sealed partial class Parser
{
    private readonly struct NameDefaultPair(ArgNode arg, ExprNode? value)
    {
        public readonly ArgNode Arg = arg;
        public readonly ExprNode? Value = value;
    }

    private sealed class StarEtc
    {
        public ArgNode? Vararg;
        public List<NameDefaultPair>? Kwonly;
        public ArgNode? Kwarg;
    }

    private static Arguments EmptyArguments() => new();

    /// <summary>params / lambda_params (parameters / lambda_parameters): the five alternatives of CPython 3.11,
    /// combined by _PyPegen_make_arguments. <paramref name="lambda"/> selects the lambda_* variants (no annotations,
    /// closing lookahead ':' instead of ')').</summary>
    private Arguments? Parameters(bool lambda)
    {
        Enter(); // params
        Enter(); // parameters
        int start = _mark;
        Arguments? r = null;
        // The first two alternatives need a '/' among the parameters: without one they would parse the plain
        // parameters twice more for nothing (three Arg objects and lists per parameter).
        bool maySlash = lambda || !_predicting || _callInvalidRules || MayHaveSlash();

        // a=slash_no_default b=param_no_default* c=param_with_default* d=[star_etc]
        var slashNoDefault = maySlash ? SlashNoDefault(lambda) : null;
        if (slashNoDefault != null)
        {
            var plain = ParamNoDefaultStar(lambda);
            var withDefault = ParamWithDefaultStar(lambda);
            var starEtc = StarEtcRule(lambda);
            r = MakeArguments(slashNoDefault, null, null, plain, withDefault, starEtc);
        }
        if (r == null)
        {
            _mark = start;
            // a=slash_with_default b=param_with_default* c=[star_etc]
            if (maySlash && SlashWithDefault(lambda, out var swdPlain, out var swdDefaults))
            {
                var withDefault = ParamWithDefaultStar(lambda);
                var starEtc = StarEtcRule(lambda);
                r = MakeArguments(null, swdPlain, swdDefaults, null, withDefault, starEtc);
            }
        }
        if (r == null)
        {
            _mark = start;
            // a=param_no_default+ b=param_with_default* c=[star_etc]
            var plain = ParamNoDefaultStar(lambda);
            if (plain != null)
            {
                var withDefault = ParamWithDefaultStar(lambda);
                var starEtc = StarEtcRule(lambda);
                r = MakeArguments(null, null, null, plain, withDefault, starEtc);
            }
        }
        if (r == null)
        {
            _mark = start;
            // a=param_with_default+ b=[star_etc]
            var withDefault = ParamWithDefaultStar(lambda);
            if (withDefault != null)
            {
                var starEtc = StarEtcRule(lambda);
                r = MakeArguments(null, null, null, null, withDefault, starEtc);
            }
        }
        if (r == null)
        {
            _mark = start;
            var starEtc = StarEtcRule(lambda);
            if (starEtc != null) r = MakeArguments(null, null, null, null, null, starEtc);
        }
        if (r == null) _mark = start;
        _level -= 2;
        return r;
    }

    /// <summary>False when a def's parameters (from here to their closing ')') hold no '/' outside brackets, so
    /// neither slash alternative can match; only in a predicting parse (it reads ahead: Parser.ScanAssignmentSigns).
    /// Looks at most <see cref="AssignmentScanTokens"/> tokens ahead (true beyond).</summary>
    private bool MayHaveSlash()
    {
        int i = _mark, limit = _mark + AssignmentScanTokens;
        while (true)
        {
            switch (NextOutsideBrackets(ref i, limit, out var op))
            {
                case OutsideBrackets.Unbalanced:
                    return false; // the parameters' closing ')'
                case OutsideBrackets.Operator:
                    if (op == OpKind.Slash) return true;
                    break;
                default:
                    return true;
            }
        }
    }

    // The _PyPegen_make_arguments of CPython 3.11 (Parser/action_helpers.c).
    private static Arguments MakeArguments(List<ArgNode>? slashWithoutDefault, List<ArgNode>? slashPlain,
        List<NameDefaultPair>? slashDefaults, List<ArgNode>? plainNames, List<NameDefaultPair>? namesWithDefault,
        StarEtc? starEtc)
    {
        // Each list field is made at its exact size (AstLists.Handoff): List objects grown by doubling and compacted
        // when the statement ends were garbage for every def and lambda.
        var a = new Arguments();
        if (slashWithoutDefault != null) a.Posonlyargs = slashWithoutDefault;
        else if (slashPlain != null)
        {
            var posonly = new ArgNode[slashPlain.Count + slashDefaults!.Count];
            slashPlain.CopyTo(posonly);
            for (int i = 0; i < slashDefaults.Count; i++) posonly[slashPlain.Count + i] = slashDefaults[i].Arg;
            a.Posonlyargs = ExactList(posonly);
        }
        int plainCount = plainNames?.Count ?? 0, withDefaultCount = namesWithDefault?.Count ?? 0;
        if (plainCount + withDefaultCount > 0)
        {
            var args = new ArgNode[plainCount + withDefaultCount];
            plainNames?.CopyTo(args);
            for (int i = 0; i < withDefaultCount; i++) args[plainCount + i] = namesWithDefault![i].Arg;
            a.Args = ExactList(args);
        }
        int slashDefaultCount = slashDefaults?.Count ?? 0;
        if (slashDefaultCount + withDefaultCount > 0)
        {
            var defaults = new ExprNode[slashDefaultCount + withDefaultCount];
            for (int i = 0; i < slashDefaultCount; i++) defaults[i] = slashDefaults![i].Value!;
            for (int i = 0; i < withDefaultCount; i++) defaults[slashDefaultCount + i] = namesWithDefault![i].Value!;
            a.Defaults = ExactList(defaults);
        }
        if (starEtc != null)
        {
            a.Vararg = starEtc.Vararg;
            a.Kwarg = starEtc.Kwarg;
            if (starEtc.Kwonly is { Count: > 0 } kwonly)
            {
                var kwonlyArgs = new ArgNode[kwonly.Count];
                var kwDefaults = new ExprNode?[kwonly.Count]; // None (null) for a keyword-only parameter without default
                for (int i = 0; i < kwonly.Count; i++)
                {
                    kwonlyArgs[i] = kwonly[i].Arg;
                    kwDefaults[i] = kwonly[i].Value;
                }
                a.Kwonlyargs = ExactList(kwonlyArgs);
                a.KwDefaults = ExactList(kwDefaults);
            }
        }
        return a;
    }

    private bool AtParamEnd(bool lambda) => AtOp(lambda ? OpKind.Colon : OpKind.RightParen);

    // slash_no_default: param_no_default+ '/' ',' | param_no_default+ '/' &')'
    private List<ArgNode>? SlashNoDefault(bool lambda)
    {
        Enter();
        int start = _mark;
        var plain = ParamNoDefaultStar(lambda);
        if (plain != null && Op(OpKind.Slash) && (Op(OpKind.Comma) || AtParamEnd(lambda)))
        {
            _level--;
            return plain;
        }
        _mark = start;
        _level--;
        return null;
    }

    // slash_with_default: param_no_default* param_with_default+ '/' ',' | ... '/' &')'
    private bool SlashWithDefault(bool lambda, out List<ArgNode> plain, out List<NameDefaultPair> defaults)
    {
        Enter();
        int start = _mark;
        plain = ParamNoDefaultStar(lambda) ?? new List<ArgNode>();
        var withDefault = ParamWithDefaultStar(lambda);
        if (withDefault != null && Op(OpKind.Slash) && (Op(OpKind.Comma) || AtParamEnd(lambda)))
        {
            defaults = withDefault;
            _level--;
            return true;
        }
        _mark = start;
        defaults = null!;
        _level--;
        return false;
    }

    // param_no_default* (null when empty)
    private List<ArgNode>? ParamNoDefaultStar(bool lambda)
    {
        Enter(); // _loop
        List<ArgNode>? list = null;
        while (true)
        {
            var p = ParamNoDefault(lambda);
            if (p == null) break;
            (list ??= new List<ArgNode>()).Add(p);
        }
        _level--;
        return list;
    }

    // param_with_default* (null when empty)
    private List<NameDefaultPair>? ParamWithDefaultStar(bool lambda)
    {
        Enter(); // _loop
        List<NameDefaultPair>? list = null;
        while (true)
        {
            if (!ParamWithDefault(lambda, false, out var pair)) break;
            (list ??= new List<NameDefaultPair>()).Add(pair);
        }
        _level--;
        return list;
    }

    // param_no_default: param ',' | param &')'
    private ArgNode? ParamNoDefault(bool lambda)
    {
        Enter();
        int start = _mark;
        var p = Param(lambda);
        if (p != null && (Op(OpKind.Comma) || AtParamEnd(lambda)))
        {
            _level--;
            return p;
        }
        _mark = start;
        _level--;
        return null;
    }

    // param_no_default_star_annotation: param_star_annotation ',' | param_star_annotation &')'
    private ArgNode? ParamNoDefaultStarAnnotation()
    {
        Enter();
        int start = _mark;
        var name = NameId();
        if (name != null && Op(OpKind.Colon))
        {
            // star_annotation: ':' star_expression
            var ann = StarExpression();
            if (ann != null)
            {
                var arg = At(new Arg { ArgName = name, Annotation = ann }, start);
                if (Op(OpKind.Comma) || AtOp(OpKind.RightParen))
                {
                    _level--;
                    return arg;
                }
            }
        }
        _mark = start;
        _level--;
        return null;
    }

    // param_with_default: param default ',' | param default &')'
    // param_maybe_default: param default? ',' | param default? &')'
    private bool ParamWithDefault(bool lambda, bool maybe, out NameDefaultPair pair)
    {
        Enter();
        int start = _mark;
        var p = Param(lambda);
        if (p != null)
        {
            ExprNode? value = null;
            int m = _mark;
            if (Op(OpKind.Equal))
            {
                value = Expression();
                if (value == null) _mark = m;
            }
            if ((value != null || maybe) && (Op(OpKind.Comma) || AtParamEnd(lambda)))
            {
                pair = new NameDefaultPair(p, value);
                _level--;
                return true;
            }
        }
        _mark = start;
        pair = default;
        _level--;
        return false;
    }

    // param: NAME annotation?   /   lambda_param: NAME
    private ArgNode? Param(bool lambda)
    {
        Enter();
        int start = _mark;
        var name = NameId();
        if (name == null)
        {
            _level--;
            return null;
        }
        ExprNode? annotation = null;
        if (!lambda && AtOp(OpKind.Colon))
        {
            int m = _mark;
            _mark++;
            annotation = Expression();
            if (annotation == null) _mark = m;
        }
        var r = At(new Arg { ArgName = name, Annotation = annotation }, start);
        _level--;
        return r;
    }

    // star_etc: '*' param_no_default param_maybe_default* [kwds]
    //         | '*' param_no_default_star_annotation param_maybe_default* [kwds]
    //         | '*' ',' param_maybe_default+ [kwds]
    //         | kwds
    private StarEtc? StarEtcRule(bool lambda)
    {
        Enter();
        int start = _mark;
        if (Op(OpKind.Star))
        {
            var vararg = ParamNoDefault(lambda);
            if (vararg == null && !lambda) vararg = ParamNoDefaultStarAnnotation();
            if (vararg != null)
            {
                var kwonly = ParamMaybeDefaultStar(lambda);
                var kwarg = Kwds(lambda);
                _level--;
                return new StarEtc { Vararg = vararg, Kwonly = kwonly, Kwarg = kwarg };
            }
            _mark = start + 1;
            if (Op(OpKind.Comma))
            {
                var kwonly = ParamMaybeDefaultStar(lambda);
                if (kwonly != null)
                {
                    var kwarg = Kwds(lambda);
                    _level--;
                    return new StarEtc { Kwonly = kwonly, Kwarg = kwarg };
                }
            }
            _mark = start;
        }
        var k = Kwds(lambda);
        if (k != null)
        {
            _level--;
            return new StarEtc { Kwarg = k };
        }
        _mark = start;
        _level--;
        return null;
    }

    private List<NameDefaultPair>? ParamMaybeDefaultStar(bool lambda)
    {
        Enter(); // _loop
        List<NameDefaultPair>? list = null;
        while (true)
        {
            if (!ParamWithDefault(lambda, true, out var pair)) break;
            (list ??= new List<NameDefaultPair>()).Add(pair);
        }
        _level--;
        return list;
    }

    // kwds: '**' param_no_default
    private ArgNode? Kwds(bool lambda)
    {
        Enter();
        int start = _mark;
        if (Op(OpKind.DoubleStar))
        {
            var p = ParamNoDefault(lambda);
            if (p != null)
            {
                _level--;
                return p;
            }
        }
        _mark = start;
        _level--;
        return null;
    }

    // params: parameters
    private Arguments? Params() => Parameters(false);
}
