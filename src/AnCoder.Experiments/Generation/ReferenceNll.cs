using System.Globalization;
using System.Text.Json;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Sampling;
using AnCoder.Evaluation.Benchmarks;
using AnCoder.Experiments.Models;
using static TorchSharp.torch;

namespace AnCoder.Experiments.Generation;

/// <summary>One problem's reference NLL: targets scored and their summed NLL (nats).</summary>
public sealed record ProblemNll(string TaskId, int Tokens, double Nll);

/// <summary>A model's <see cref="ReferenceNll"/> over a benchmark's first problems.</summary>
public sealed record ReferenceNllResult(string Model, string Benchmark, int Length, IReadOnlyList<ProblemNll> Problems)
{
    public long Tokens => Problems.Sum(p => (long)p.Tokens);
    /// <summary>Σ NLL / Σ tokens: nats per reference token.</summary>
    public double NllPerToken => Problems.Sum(p => p.Nll) / Math.Max(1, Tokens);

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Benchmark}: {Problems.Count} reference solutions, {Tokens} tokens (≤ {Length} each, end-of-text included), left-to-right NLL {NllPerToken:F4} nats/token");

    /// <summary>The file's JSON: these records' properties in snake_case (tokens and nll_per_token written for readers, not read back).</summary>
    internal static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    /// <summary>Writes FOLDER/<see cref="ReferenceNll.FileName"/> (whole or not at all: written beside, then renamed) and returns its path.</summary>
    public string Write(string folder)
    {
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, ReferenceNll.FileName), temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, JsonOptions));
        File.Move(temporary, path, overwrite: true);
        return path;
    }
}

/// <summary>
/// How well a model predicts a benchmark's reference solutions the way left-to-right decoding meets them
/// (docs/recipe.md §9, "Diagnosis"): for each problem, the targets y are the reference completion's tokens followed by
/// end-of-text, cut to G = <c>length</c> tokens, and the NLL is Σ_k −log p(y_k | prompt, y_&lt;k). An autoregressive model
/// gives p by its causal forward over prompt + y. A diffusion model gives it on the canvas that one-token-per-call
/// decoding (<c>--parallel 1 --order lefttoright</c>) holds after k tokens: prompt + y_&lt;k + (G − k) masks, SUBS
/// log-probabilities at position |prompt| + k, through the same <see cref="IDenoiser"/> the sampler calls.
/// </summary>
public static class ReferenceNll
{
    public const string FileName = "reference-nll.json";

    /// <summary>FOLDER/<see cref="FileName"/> as written by <see cref="ReferenceNllResult.Write"/>, or null when absent or unreadable.</summary>
    public static ReferenceNllResult? Read(string folder)
    {
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<ReferenceNllResult>(File.ReadAllText(path), ReferenceNllResult.JsonOptions) is { Problems: not null } result ? result : null;
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or IOException)
        {
            return null;
        }
    }

    public static ReferenceNllResult Measure(LoadedModel model, string modelName, Benchmark benchmark, int length, int batch, Action<int, int>? progress = null)
    {
        var problems = new List<ProblemNll>();
        int eos = model.Config.EosTokenId;
        for (int p = 0; p < benchmark.Problems.Count; p++)
        {
            var problem = benchmark.Problems[p];
            int[] prompt = model.Tokenizer.Encode(problem.Prompt).Select(t => t.Id).ToArray();
            int[] targets = model.Tokenizer.Encode(problem.CanonicalCompletion).Select(t => t.Id).Append(eos).Take(length).ToArray();
            problems.Add(new ProblemNll(problem.TaskId, targets.Length, TokenNlls(model.Model, prompt, targets, length, batch).Sum()));
            progress?.Invoke(p + 1, benchmark.Problems.Count);
        }
        return new ReferenceNllResult(modelName, benchmark.Name, length, problems);
    }

    /// <summary>−log p(y_k | prompt, y_&lt;k) for every k (see the class summary); <paramref name="batch"/> canvases per forward pass.</summary>
    public static double[] TokenNlls(DiffusionModel model, int[] prompt, int[] targets, int length, int batch)
    {
        if (targets.Length > length) throw new ArgumentException($"{targets.Length} targets do not fit a canvas of {length}");
        if (prompt.Length == 0) throw new ArgumentException("the prompt is empty: nothing conditions the first target");
        if (model.Config.Architecture == Architecture.Causal) return CausalNlls(model, prompt, targets);
        var denoiser = new ModelDenoiser(model);
        var nlls = new double[targets.Length];
        for (int start = 0; start < targets.Length; start += Math.Max(1, batch))
        {
            using var scope = NewDisposeScope();
            int rows = Math.Min(Math.Max(1, batch), targets.Length - start);
            var ids = new long[rows, prompt.Length + length];
            for (int r = 0; r < rows; r++)
            {
                int k = start + r;
                for (int i = 0; i < prompt.Length + length; i++)
                    ids[r, i] = i < prompt.Length ? prompt[i] : i - prompt.Length < k ? targets[i - prompt.Length] : denoiser.MaskId;
            }
            var logProbs = denoiser.Predict(tensor(ids), null).LogProbabilities;
            for (int r = 0; r < rows; r++)
                nlls[start + r] = -logProbs[r, prompt.Length + start + r, targets[start + r]].to(ScalarType.Float64).item<double>();
        }
        return nlls;
    }

    private static double[] CausalNlls(DiffusionModel model, int[] prompt, int[] targets)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var sequence = prompt.Concat(targets).Select(id => (long)id).ToArray();
        var logits = model.Forward(tensor(sequence).unsqueeze(0)).DenoiserLogits[0];
        var logProbs = nn.functional.log_softmax(logits.to(ScalarType.Float64), -1);
        // Logits at position i are the distribution of token i + 1 (CausalLmModel).
        return targets.Select((y, k) => -logProbs[prompt.Length + k - 1, y].item<double>()).ToArray();
    }
}
