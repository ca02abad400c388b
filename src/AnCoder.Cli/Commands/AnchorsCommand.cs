using System.CommandLine;
using System.Text;
using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Tokenization;
using AnCoder.Reporting.Anchors;
using Spectre.Console;

namespace AnCoder.Cli.Commands;

/// <summary>
/// <c>ancoder anchors [--strategy S] [--tokenizer DIR] [--json | --html OUT] FILE</c>: the AnchorTree labels and
/// anchor weights of a file's tokens, as a coloured terminal view (like the paper's Figure 4), a standalone HTML page
/// or JSON.
/// </summary>
public static class AnchorsCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "A Python source file." };
        var strategy = SettingOption.Create("--strategy", "Anchor strategy:", AnchorStrategy.AnchorTree);
        var tokenizer = TokenizerOption.Create();
        var json = new Option<bool>("--json") { Description = "Print JSON: {tokenizer, strategy, lambda, rho, d0, tokens: [{id, text, start, end, node, depth, keyword, identifier, weight}]}." };
        var html = new Option<string?>("--html") { Description = "Write a standalone HTML page of the view to this path." };
        var lambda = new Option<double?>("--lambda") { Description = "λ (default: the paper's value for the strategy)." };
        var rho = new Option<double?>("--rho") { Description = "ρ, the depth decay (default: 0.8 for anchortree, 1 otherwise)." };
        var d0 = new Option<int?>("--d0") { Description = "d0, the depth where decay starts (default: 2 for anchortree)." };
        var command = new Command("anchors", "Show each token's AST node, depth, keyword/identifier flags and anchor weight γ = λ·A·ρ^max(0, depth − d0).");
        command.Arguments.Add(file);
        foreach (var option in new Option[] { strategy, tokenizer, json, html, lambda, rho, d0 }) command.Options.Add(option);
        command.SetAction(parse =>
        {
            AnchorWeightOptions options;
            try
            {
                options = AnchorWeightOptions.Defaults(parse.GetValue(strategy), parse.GetValue(lambda), parse.GetValue(rho), parse.GetValue(d0));
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"ancoder anchors: {e.Message}");
                return 2;
            }
            string path = parse.GetValue(file)!;
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"ancoder anchors: cannot read {path}: {e.Message}");
                return 2;
            }
            string? tokenizerDir = parse.GetValue(tokenizer);
            if (TokenizerOption.Load(tokenizerDir, "anchors") is not { } bpe) return 2;
            string tokenizerName = tokenizerDir ?? DefaultTokenizer.Name;
            var source = LabelledSource.Create(bytes, bpe);
            if (!source.Parsed)
                Console.Error.WriteLine($"ancoder anchors: {path} does not parse ({source.Error?.Message} at {source.Error?.Line}:{source.Error?.Column}): all weights are 0");
            var weights = source.Weights(options);
            if (parse.GetValue(json))
            {
                Console.Out.Write(AnchorView.Json(source, weights, tokenizerName, options));
                Console.Out.WriteLine();
                return 0;
            }
            if (parse.GetValue(html) is string htmlPath)
            {
                File.WriteAllText(htmlPath, AnchorView.Html(path, source, weights, tokenizerName, options));
                Console.WriteLine($"wrote {htmlPath}");
                return 0;
            }
            RenderTerminal(path, source, weights, tokenizerName, options);
            return 0;
        });
        return command;
    }

    private static void RenderTerminal(string path, LabelledSource source, double[] weights, string tokenizerName, AnchorWeightOptions options)
    {
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(path)}[/]  tokenizer [grey]{Markup.Escape(tokenizerName)}[/]  {source.Labels.Length} tokens");
        for (int i = 0; i < source.Labels.Length; i++)
        {
            var label = source.Labels[i];
            var (r, g, b) = AnchorView.Shade(weights[i], options.Lambda);
            bool anchor = AnchorView.IsAnchor(options, label, source.Parsed);
            string text = AnchorView.TokenText(source, label);
            // Shade only the visible part; newlines would paint to the end of the line.
            foreach (string part in SplitKeepNewlines(text))
            {
                if (part == "\n" || part == "\r\n" || part == "\r") { AnsiConsole.WriteLine(); continue; }
                var style = new Style(Color.Black, weights[i] > 0 ? new Color(r, g, b) : Color.Default,
                    anchor ? Decoration.Bold | Decoration.Underline : Decoration.None);
                if (weights[i] == 0) style = new Style(Color.Default, Color.Default, anchor ? Decoration.Underline : Decoration.None);
                AnsiConsole.Write(new Text(part, style));
            }
        }
        AnsiConsole.WriteLine();
        AnsiConsole.Write(new Rule());
        var legend = new Table().NoBorder().HideHeaders().AddColumn("k").AddColumn("v");
        legend.AddRow("strategy", $"{AnchorWeightOptions.Name(options.Strategy)}: γ = λ·A·ρ^max(0, depth − d0), λ = {AnchorView.Format(options.Lambda)}, ρ = {AnchorView.Format(options.Rho)}, d0 = {options.D0}");
        var swatches = new StringBuilder();
        foreach (double f in new[] { 0.0, 0.1, 0.25, 0.5, 1.0 })
        {
            var (r, g, b) = AnchorView.Shade(f * options.Lambda, options.Lambda);
            swatches.Append($"[black on #{r:X2}{g:X2}{b:X2}] γ={AnchorView.Format(f * options.Lambda)} [/] ");
        }
        legend.AddRow("shading", swatches.ToString());
        legend.AddRow("anchors", "[bold underline]underlined[/] = A = 1 (keyword/identifier per the strategy)");
        if (!source.Parsed) legend.AddRow("note", "[red]source does not parse: no anchors[/]");
        AnsiConsole.Write(legend);
    }

    private static IEnumerable<string> SplitKeepNewlines(string text)
    {
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '\n' || text[i] == '\r')
            {
                if (i > start) yield return text[start..i];
                int length = text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n' ? 2 : 1;
                yield return text.Substring(i, length);
                i += length - 1;
                start = i + 1;
            }
        }
        if (start < text.Length) yield return text[start..];
    }
}
