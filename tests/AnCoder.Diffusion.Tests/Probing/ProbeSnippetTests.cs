using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Tokenization;
using AnCoder.Diffusion.Probing;

namespace AnCoder.Diffusion.Tests.Probing;

/// <summary>
/// Targets and chains on real Python parsed and tokenised by our frontend; the expectations are derived by hand from
/// the AST (docs/algorithms.md §6 rule 2: a token's node is the deepest positioned node its span intersects).
/// </summary>
public sealed class ProbeSnippetTests
{
    private static readonly ByteLevelBpe Tokenizer = DefaultTokenizer.Load();

    private static (LabelledSource Source, ProbeTokens Tokens) Label(string code)
    {
        var source = LabelledSource.Create(System.Text.Encoding.UTF8.GetBytes(code), Tokenizer);
        return (source, ProbeTokens.From(source)!);
    }

    private static string Text(LabelledSource source, int token) => Tokenizer.TokenText(source.Labels[token].Id);

    [Fact]
    public void Assignment_inside_an_if()
    {
        // Module > If(1) > [Name a(2), Assign(2) > [Name b(3), BinOp(3) > [Name c(4), Add, Name d(4)]]].
        // ` d` sits under BinOp, Assign, If: their first own tokens are ` +`, ` =` and `if`. ` c` has the same chain;
        // ` b` (Assign, If) and ` a` (If) have fewer than three ancestors.
        var (source, tokens) = Label("if a:\n    b = c + d\n");
        var targets = ProbeSelection.Targets(tokens, k: 3, window: 256);
        Assert.Equal([" c", " d"], targets.Select(t => Text(source, t.Token)));
        foreach (var target in targets)
            Assert.Equal([" +", " =", "if"], target.Chain.Select(c => Text(source, c)));
        Assert.Empty(ProbeSelection.Targets(tokens, k: 4, window: 256));
    }

    [Fact]
    public void An_expression_statement_owns_no_token_and_is_skipped()
    {
        // Module > FunctionDef(1) > [arguments(2) > arg x(3), Expr(2) > Call(3) > [Name g(4), Name x(4)]].
        // Expr's span is exactly the Call's, so every token of the call belongs to Call or deeper: the chain of `g`
        // and of the call's `x` is Call, FunctionDef. The parameter x has only FunctionDef (arguments has no position).
        var (source, tokens) = Label("def f(x):\n    g(x)\n");
        var targets = ProbeSelection.Targets(tokens, k: 2, window: 256);
        Assert.Equal(2, targets.Count);
        Assert.Equal("g", Text(source, targets[0].Token).Trim());
        Assert.Contains("x", Text(source, targets[1].Token));
        Assert.True(source.Labels[targets[1].Token].Start > "def f(x):\n".Length, "the x inside the call, not the parameter");
        foreach (var target in targets)
            Assert.Equal(["Call", "FunctionDef"], target.Chain.Select(source.NodeTypeOf));
        Assert.Equal("def", Text(source, targets[0].Chain[1]));
        Assert.Empty(ProbeSelection.Targets(tokens, k: 3, window: 256));
    }

    [Fact]
    public void A_source_that_does_not_parse_has_nothing_to_probe()
    {
        var source = LabelledSource.Create("def (:\n"u8.ToArray(), Tokenizer);
        Assert.Null(ProbeTokens.From(source));
    }
}
