using System.Text;
using System.Text.Json;

namespace AnCoder.Anchoring.Runs;

/// <summary>
/// One line of <c>metrics.jsonl</c>: the one type the trainer writes and every reader (plots, repro) reads. Keys
/// (snake_case, exactly): step, tokens, wall_seconds, lr, loss, denoiser_nll, anchor_nll, grad_norm, tokens_per_second,
/// valid_nelbo (validation steps only, else absent), strategy.
/// Losses and grad_norm are means over the steps since the previous line; tokens_per_second is their valid tokens over
/// the wall time since the previous line (validation and checkpoint time included). Readers get absent or null numbers as
/// NaN (a diverged run stays plottable up to where it diverged).
/// </summary>
public sealed record MetricsRecord(long Step, double Tokens, double WallSeconds, double Lr, double Loss, double DenoiserNll,
    double AnchorNll, double GradNorm, double TokensPerSecond, double? ValidNelbo, string? Strategy)
{
    public const string FileName = "metrics.jsonl";

    public bool HasValidation => ValidNelbo is not null;

    public string ToJsonLine()
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("step", Step);
            WriteFinite(json, "tokens", Tokens);
            json.WriteNumber("wall_seconds", Math.Round(WallSeconds, 3));
            WriteFinite(json, "lr", Lr);
            WriteFinite(json, "loss", Loss);
            WriteFinite(json, "denoiser_nll", DenoiserNll);
            WriteFinite(json, "anchor_nll", AnchorNll);
            WriteFinite(json, "grad_norm", GradNorm);
            json.WriteNumber("tokens_per_second", Math.Round(TokensPerSecond, 1));
            if (ValidNelbo is { } valid) WriteFinite(json, "valid_nelbo", valid);
            if (Strategy is not null) json.WriteString("strategy", Strategy);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>JSON has no NaN or infinity (Utf8JsonWriter throws on them): a non-finite value is written as null.</summary>
    private static void WriteFinite(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value)) json.WriteNumber(name, value);
        else json.WriteNull(name);
    }

    public static MetricsRecord Parse(string line)
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new MetricsFormatException($"expected a JSON object, found {Describe(root.ValueKind)}");
        if (!root.TryGetProperty("step", out var stepElement)) throw new MetricsFormatException("missing \"step\"");
        if (stepElement.ValueKind != JsonValueKind.Number || !stepElement.TryGetInt64(out long step))
            throw new MetricsFormatException($"\"step\" must be an integer, found {stepElement.GetRawText()}");
        if (step < 0) throw new MetricsFormatException($"\"step\" must not be negative, found {step}");
        string? strategy = null;
        if (root.TryGetProperty("strategy", out var strategyElement) && strategyElement.ValueKind != JsonValueKind.Null)
        {
            if (strategyElement.ValueKind != JsonValueKind.String)
                throw new MetricsFormatException($"\"strategy\" must be a string, found {strategyElement.GetRawText()}");
            strategy = strategyElement.GetString();
        }
        double valid = Number(root, "valid_nelbo");
        return new MetricsRecord(step, Number(root, "tokens"), Number(root, "wall_seconds"), Number(root, "lr"),
            Number(root, "loss"), Number(root, "denoiser_nll"), Number(root, "anchor_nll"), Number(root, "grad_norm"),
            Number(root, "tokens_per_second"), double.IsNaN(valid) ? null : valid, strategy);
    }

    /// <summary>A numeric field, NaN when absent or null. "NaN"/"Infinity" strings are accepted: System.Text.Json
    /// writes non-finite doubles that way (a diverged loss must still be plottable up to where it diverged).</summary>
    private static double Number(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null) return double.NaN;
        if (element.ValueKind == JsonValueKind.Number) return element.GetDouble();
        if (element.ValueKind == JsonValueKind.String)
        {
            switch (element.GetString())
            {
                case "NaN": return double.NaN;
                case "Infinity": return double.PositiveInfinity;
                case "-Infinity": return double.NegativeInfinity;
            }
        }
        throw new MetricsFormatException($"\"{name}\" must be a number, found {element.GetRawText()}");
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}

/// <summary>A metrics line that is valid JSON but not a metrics record; the message says what was wrong.</summary>
public sealed class MetricsFormatException(string message) : Exception(message);
