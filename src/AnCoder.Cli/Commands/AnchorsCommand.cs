using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Tokenization;
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
        var strategy = new Option<string>("--strategy")
        {
            Description = "Anchor strategy: mdlm, null, keyword, identifier, anchortree.", DefaultValueFactory = _ => "anchortree",
        };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer folder (Hugging Face tokenizer.json or vocab.json + merges.txt). Default: the shipped stdlib BPE." };
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
                options = AnchorWeightOptions.Defaults(AnchorWeightOptions.Parse(parse.GetValue(strategy)!), parse.GetValue(lambda), parse.GetValue(rho), parse.GetValue(d0));
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
            ByteLevelBpe bpe;
            try
            {
                bpe = tokenizerDir is null ? DefaultTokenizer.Load() : HfTokenizerFiles.Load(tokenizerDir);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or JsonException)
            {
                Console.Error.WriteLine($"ancoder anchors: cannot load the tokenizer: {e.Message}");
                return 2;
            }
            string tokenizerName = tokenizerDir ?? DefaultTokenizer.Name;
            var source = LabelledSource.Create(bytes, bpe);
            if (!source.Parsed)
                Console.Error.WriteLine($"ancoder anchors: {path} does not parse ({source.Error?.Message} at {source.Error?.Line}:{source.Error?.Column}): all weights are 0");
            var weights = source.Weights(options);
            if (parse.GetValue(json))
            {
                Console.Out.Write(ToJson(source, weights, bpe, tokenizerName, options));
                Console.Out.WriteLine();
                return 0;
            }
            if (parse.GetValue(html) is string htmlPath)
            {
                File.WriteAllText(htmlPath, ToHtml(path, source, weights, bpe, tokenizerName, options));
                Console.WriteLine($"wrote {htmlPath}");
                return 0;
            }
            RenderTerminal(path, source, weights, tokenizerName, options);
            return 0;
        });
        return command;
    }

    private static string TokenText(LabelledSource source, in TokenLabel label) =>
        Encoding.UTF8.GetString(source.Bytes, label.Start, label.End - label.Start);

    private static bool IsAnchor(in AnchorWeightOptions options, in TokenLabel label, bool parsed) =>
        parsed && AnchorWeights.IsAnchor(options.Strategy, label.Keyword, label.Identifier);

    public static string ToJson(LabelledSource source, double[] weights, ByteLevelBpe bpe, string tokenizerName, AnchorWeightOptions options)
    {
        var tokens = new JsonArray();
        for (int i = 0; i < source.Labels.Length; i++)
        {
            var label = source.Labels[i];
            tokens.Add(new JsonObject
            {
                ["id"] = label.Id, ["text"] = TokenText(source, label), ["start"] = label.Start, ["end"] = label.End,
                ["node"] = source.NodeTypeOf(i), ["depth"] = label.Depth, ["keyword"] = label.Keyword,
                ["identifier"] = label.Identifier, ["weight"] = weights[i],
            });
        }
        var root = new JsonObject
        {
            ["tokenizer"] = tokenizerName, ["strategy"] = AnchorWeightOptions.Name(options.Strategy), ["lambda"] = options.Lambda,
            ["rho"] = options.Rho, ["d0"] = options.D0, ["tokens"] = tokens,
        };
        return root.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    /// <summary>Shade of a weight: white at 0 to saturated orange at the strategy's λ.</summary>
    private static (byte R, byte G, byte B) Shade(double weight, double lambda)
    {
        double t = lambda > 0 ? Math.Clamp(weight / lambda, 0, 1) : 0;
        t = Math.Sqrt(t); // small weights (deep tokens) stay visible
        return ((byte)255, (byte)(255 - 120 * t), (byte)(255 - 230 * t));
    }

    private static void RenderTerminal(string path, LabelledSource source, double[] weights, string tokenizerName, AnchorWeightOptions options)
    {
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(path)}[/]  tokenizer [grey]{Markup.Escape(tokenizerName)}[/]  {source.Labels.Length} tokens");
        for (int i = 0; i < source.Labels.Length; i++)
        {
            var label = source.Labels[i];
            var (r, g, b) = Shade(weights[i], options.Lambda);
            bool anchor = IsAnchor(options, label, source.Parsed);
            string text = TokenText(source, label);
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
        legend.AddRow("strategy", $"{AnchorWeightOptions.Name(options.Strategy)}: γ = λ·A·ρ^max(0, depth − d0), λ = {Fmt(options.Lambda)}, ρ = {Fmt(options.Rho)}, d0 = {options.D0}");
        var swatches = new StringBuilder();
        foreach (double f in new[] { 0.0, 0.1, 0.25, 0.5, 1.0 })
        {
            var (r, g, b) = Shade(f * options.Lambda, options.Lambda);
            swatches.Append($"[black on #{r:X2}{g:X2}{b:X2}] γ={Fmt(f * options.Lambda)} [/] ");
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

    private static string Fmt(double value) => value.ToString("0.#####", CultureInfo.InvariantCulture);

    public static string ToHtml(string path, LabelledSource source, double[] weights, ByteLevelBpe bpe, string tokenizerName, AnchorWeightOptions options)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>AnchorTree: ").Append(WebUtility.HtmlEncode(path)).Append("</title>\n<style>")
            .Append("body{font-family:sans-serif;margin:2em}pre{font:14px/1.5 monospace;background:#fff;padding:1em;border:1px solid #ddd}")
            .Append("pre span:hover{outline:1px solid #333}.a{text-decoration:underline;font-weight:bold}")
            .Append(".legend span{display:inline-block;padding:0 .6em;margin-right:.3em;font-family:monospace}</style></head><body>\n")
            .Append("<h2>").Append(WebUtility.HtmlEncode(path)).Append("</h2>\n<p>tokenizer ").Append(WebUtility.HtmlEncode(tokenizerName))
            .Append(" · ").Append(source.Labels.Length).Append(" tokens · strategy <b>").Append(AnchorWeightOptions.Name(options.Strategy))
            .Append("</b>: γ = λ·A·ρ<sup>max(0, depth − d0)</sup>, λ = ").Append(Fmt(options.Lambda)).Append(", ρ = ").Append(Fmt(options.Rho))
            .Append(", d0 = ").Append(options.D0).Append(source.Parsed ? "" : " · <b style=\"color:red\">source does not parse: no anchors</b>")
            .Append("</p>\n<pre>");
        for (int i = 0; i < source.Labels.Length; i++)
        {
            var label = source.Labels[i];
            var (r, g, b) = Shade(weights[i], options.Lambda);
            string title = $"node {source.NodeTypeOf(i)} · depth {label.Depth} · weight {weights[i].ToString("G6", CultureInfo.InvariantCulture)}"
                         + $" · id {label.Id} · bytes {label.Start}–{label.End}" + (label.Keyword ? " · keyword" : "") + (label.Identifier ? " · identifier" : "");
            html.Append("<span");
            if (IsAnchor(options, label, source.Parsed)) html.Append(" class=\"a\"");
            if (weights[i] > 0) html.Append($" style=\"background:#{r:X2}{g:X2}{b:X2}\"");
            html.Append(" title=\"").Append(WebUtility.HtmlEncode(title)).Append("\">")
                .Append(WebUtility.HtmlEncode(TokenText(source, label))).Append("</span>");
        }
        html.Append("</pre>\n<p class=\"legend\">");
        foreach (double f in new[] { 0.0, 0.1, 0.25, 0.5, 1.0 })
        {
            var (r, g, b) = Shade(f * options.Lambda, options.Lambda);
            html.Append($"<span style=\"background:#{r:X2}{g:X2}{b:X2}\">γ = {Fmt(f * options.Lambda)}</span>");
        }
        html.Append(" <span class=\"a\">anchor</span> = A = 1. Hover a token for its node, depth and weight.</p>\n</body></html>\n");
        return html.ToString();
    }
}
