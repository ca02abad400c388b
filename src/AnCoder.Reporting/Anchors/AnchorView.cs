using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AnCoder.Anchoring.Labels;

namespace AnCoder.Reporting.Anchors;

/// <summary>
/// Views of a file's AnchorTree labels (the paper's Figure 4): the JSON of <c>ancoder anchors --json</c> and a
/// standalone HTML page. Shading: white at γ = 0 to orange at the strategy's λ.
/// </summary>
public static class AnchorView
{
    public static string TokenText(LabelledSource source, in TokenLabel label) =>
        Encoding.UTF8.GetString(source.Bytes, label.Start, label.End - label.Start);

    public static bool IsAnchor(in AnchorWeightOptions options, in TokenLabel label, bool parsed) =>
        parsed && AnchorWeights.IsAnchor(options.Strategy, label.Keyword, label.Identifier);

    /// <summary>The <c>anchors --json</c> document: tokenizer, strategy, λ ρ d0 and one object per token.</summary>
    public static string Json(LabelledSource source, double[] weights, string tokenizerName, AnchorWeightOptions options)
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
    public static (byte R, byte G, byte B) Shade(double weight, double lambda)
    {
        double t = lambda > 0 ? Math.Clamp(weight / lambda, 0, 1) : 0;
        t = Math.Sqrt(t); // small weights (deep tokens) stay visible
        return ((byte)255, (byte)(255 - 120 * t), (byte)(255 - 230 * t));
    }

    public static string Format(double value) => value.ToString("0.#####", CultureInfo.InvariantCulture);

    /// <summary>A standalone page: tokens shaded by γ, anchors underlined, node/depth/weight on hover.</summary>
    public static string Html(string path, LabelledSource source, double[] weights, string tokenizerName, AnchorWeightOptions options)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>AnchorTree: ").Append(WebUtility.HtmlEncode(path)).Append("</title>\n<style>")
            .Append("body{font-family:sans-serif;margin:2em}pre{font:14px/1.5 monospace;background:#fff;padding:1em;border:1px solid #ddd}")
            .Append("pre span:hover{outline:1px solid #333}.a{text-decoration:underline;font-weight:bold}")
            .Append(".legend span{display:inline-block;padding:0 .6em;margin-right:.3em;font-family:monospace}</style></head><body>\n")
            .Append("<h2>").Append(WebUtility.HtmlEncode(path)).Append("</h2>\n<p>tokenizer ").Append(WebUtility.HtmlEncode(tokenizerName))
            .Append(" · ").Append(source.Labels.Length).Append(" tokens · strategy <b>").Append(AnchorWeightOptions.Name(options.Strategy))
            .Append("</b>: γ = λ·A·ρ<sup>max(0, depth − d0)</sup>, λ = ").Append(Format(options.Lambda)).Append(", ρ = ").Append(Format(options.Rho))
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
            html.Append($"<span style=\"background:#{r:X2}{g:X2}{b:X2}\">γ = {Format(f * options.Lambda)}</span>");
        }
        html.Append(" <span class=\"a\">anchor</span> = A = 1. Hover a token for its node, depth and weight.</p>\n</body></html>\n");
        return html.ToString();
    }
}
