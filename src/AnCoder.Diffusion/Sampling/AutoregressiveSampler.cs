using System.Diagnostics;
using System.Text;
using AnCoder.Anchoring.Tokenization;
using AnCoder.Diffusion.Model;
using AnCoder.Syntax;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Sampling;

/// <summary>Settings of autoregressive sampling (docs/recipe.md §2).</summary>
public sealed record AutoregressiveOptions
{
    /// <summary>τ; 0 means greedy (argmax).</summary>
    public double Temperature { get; init; } = 0.8;
    /// <summary>Nucleus sampling: keep the smallest set of most likely tokens whose probability reaches P (1 = off).</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>Most tokens generated per sample.</summary>
    public int MaxNewTokens { get; init; } = 128;
    /// <summary>A sample ends at the first of these in its generated text (the stop sequence is not kept).</summary>
    public IReadOnlyList<string> StopSequences { get; init; } = [];
    /// <summary>Keep generating after end-of-text (benchmarks: every row runs <see cref="MaxNewTokens"/> steps).</summary>
    public bool IgnoreEndOfText { get; init; }
    /// <summary>
    /// CTRL's repetition penalty θ (Keskar et al. 2019; Hugging Face's <c>repetition_penalty</c>) over the tokens this
    /// sample has generated so far: each such token's logit ℓ becomes ℓ/θ when positive and ℓ·θ otherwise, before
    /// temperature (<see cref="RepetitionPenalty.Apply"/>). The prompt's tokens are not penalised, so the names a
    /// signature and docstring introduce stay as likely as the model makes them. 1 = off. Small models at low τ run
    /// into loops such as <c>f(a, b, b, b, …</c> until the length cap (docs/recipe.md §8).
    /// </summary>
    public double RepetitionPenalty { get; init; } = 1.0;
    /// <summary>
    /// Frequency penalty α ≥ 0 (OpenAI's <c>frequency_penalty</c>; 0 = off): a token this sample has generated c times
    /// gets ℓ − α·c, after θ and before temperature (<see cref="FrequencyPenalty.Apply"/>); the same rule as
    /// <see cref="SamplerOptions.FrequencyPenalty"/> on log-probabilities. The prompt's tokens are not counted.
    /// </summary>
    public double FrequencyPenalty { get; init; }
    /// <summary>
    /// Viable-prefix guard (<see cref="DecodingGuard.Prefix"/>, the autoregressive form of
    /// <see cref="SamplerOptions.Guard"/>): a drawn token after which prompt + completion can no longer start a valid
    /// program (<see cref="PythonParser.CheckPrefix(ReadOnlySpan{byte})"/>), or an end (end-of-text, a stop sequence)
    /// where prompt + completion does not parse, is redrawn from the rest of the distribution, up to
    /// <see cref="GuardTries"/> times; then the most likely proposal is kept and a failure counted. A prompt that is no
    /// viable prefix itself (prose) is not guarded. No network call is added.
    /// </summary>
    public DecodingGuard Guard { get; init; } = DecodingGuard.None;
    /// <summary>Redraws the guard allows per token.</summary>
    public int GuardTries { get; init; } = 4;

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (!(RepetitionPenalty >= 1) || double.IsInfinity(RepetitionPenalty)) problems.Add($"repetition penalty ({RepetitionPenalty}) must be a number >= 1 (1 = off)");
        if (!(FrequencyPenalty >= 0) || double.IsInfinity(FrequencyPenalty)) problems.Add($"frequency penalty ({FrequencyPenalty}) must be a number >= 0 (0 = off)");
        if (GuardTries < 0) problems.Add($"guard tries ({GuardTries}) must be >= 0");
        if (Temperature < 0 || double.IsNaN(Temperature)) problems.Add($"temperature ({Temperature}) must be >= 0");
        if (TopP is <= 0 or > 1) problems.Add($"top-p ({TopP}) must be in (0, 1]");
        if (MaxNewTokens < 1) problems.Add($"max new tokens ({MaxNewTokens}) must be at least 1");
        return problems;
    }
}

/// <summary>One autoregressive sample: generated ids (end-of-text excluded), the completion text cut at a stop sequence, why it ended.</summary>
public sealed record AutoregressiveSample(int[] Ids, string Completion, bool Stopped);

/// <summary>
/// Time of one <see cref="AutoregressiveSampler.Sample"/> call: total, inside the network, tokens generated, forward calls and
/// the rows they carried (the prompt's prefill counts one row; each later call one row per unfinished sample: the
/// network-call measure of docs/decoding.md), and the viable-prefix guard's counters.
/// </summary>
public sealed record AutoregressiveStatistics(double TotalSeconds, double NetworkSeconds, double PrefillSeconds, long GeneratedTokens, int NetworkCalls,
    GuardCounts GuardTotals = default, long NetworkRows = 0);

/// <summary>
/// Autoregressive sampling from a <see cref="CausalLmModel"/> with a key/value cache: the prompt is run once
/// (prefill, one row, then copied to every row of the batch), then one token per step for every unfinished row;
/// rows that end (end-of-text or a stop sequence) leave the batch, so the cache shrinks with them. Row r draws from
/// its own generator seeded with seeds[r], so a sample does not depend on the batch it ran in.
/// </summary>
public sealed class AutoregressiveSampler(CausalLmModel model, ByteLevelBpe tokenizer)
{
    public AutoregressiveStatistics? LastRun { get; private set; }

    /// <summary>Samples <paramref name="seeds"/>.Count completions of one prompt (token ids; empty = start after end-of-text).</summary>
    public IReadOnlyList<AutoregressiveSample> Sample(IReadOnlyList<int> promptIds, IReadOnlyList<int> seeds, AutoregressiveOptions options)
    {
        var problems = options.Validate();
        if (problems.Count > 0) throw new ArgumentException(string.Join("; ", problems));
        var config = model.Config;
        int[] prompt = promptIds.Count > 0 ? promptIds.ToArray() : [config.EosTokenId];
        if (prompt.Length + options.MaxNewTokens > config.MaxPositionEmbeddings)
            throw new ArgumentException($"prompt ({prompt.Length} tokens) + {options.MaxNewTokens} new tokens exceed the model's max_position_embeddings ({config.MaxPositionEmbeddings})");
        int rows = seeds.Count;
        var random = seeds.Select(seed => new Random(seed)).ToArray();
        var generated = Enumerable.Range(0, rows).Select(_ => new List<int>()).ToArray();
        var text = Enumerable.Range(0, rows).Select(_ => new List<byte>()).ToArray();
        var stopped = new bool[rows];
        string?[] completion = new string?[rows];
        var active = Enumerable.Range(0, rows).ToList(); // original row of each batch row
        long produced = 0, rowsCarried = 1; // the prefill's row
        int calls = 0;
        var clock = Stopwatch.StartNew();
        double network = 0, prefill;
        int[] banned = new[] { config.MaskTokenId, config.PadTokenId }.Where(id => id != config.EosTokenId).Distinct().ToArray();
        byte[] promptBytes = promptIds.SelectMany(id => tokenizer.TokenBytes(id).ToArray()).ToArray();
        var guard = options.Guard == DecodingGuard.Prefix && PythonParser.CheckPrefix(promptBytes).Status != PrefixStatus.NotViable
            ? new CompletionGuard(promptBytes, tokenizer, config.EosTokenId, options) : null;

        using var session = model.StartDecoding(1, prompt.Length + options.MaxNewTokens);
        float[] logits;
        int vocabulary;
        {
            var start = clock.Elapsed.TotalSeconds;
            using var ids = tensor(prompt.Select(id => (long)id).ToArray(), [1, prompt.Length]);
            using var first = session.Step(ids);
            vocabulary = (int)first.shape[^1];
            logits = first.data<float>().ToArray();
            using var copies = zeros(rows, dtype: ScalarType.Int64);
            session.KeepRows(copies); // every row starts from the prompt's cache
            network += clock.Elapsed.TotalSeconds - start;
            prefill = network;
            calls++;
        }
        var firstRow = logits;
        logits = new float[rows * vocabulary];
        for (int r = 0; r < rows; r++) Array.Copy(firstRow, 0, logits, r * vocabulary, vocabulary);

        for (int step = 0; step < options.MaxNewTokens; step++)
        {
            var next = new long[active.Count];
            var keep = new List<int>(active.Count);
            for (int b = 0; b < active.Count; b++)
            {
                int row = active[b];
                var span = new Span<float>(logits, b * vocabulary, vocabulary);
                foreach (int id in banned) if (id < vocabulary) span[id] = float.NegativeInfinity;
                if (options.RepetitionPenalty != 1) RepetitionPenalty.Apply(span, generated[row], options.RepetitionPenalty);
                if (options.FrequencyPenalty != 0) FrequencyPenalty.Apply(span, generated[row], options.FrequencyPenalty);
                int token = guard is null
                    ? TokenChoice.Choose(span, options.Temperature, options.TopP, random[row])
                    : guard.Choose(span, text[row], random[row]);
                next[b] = token;
                produced++;
                if (token == config.EosTokenId && !options.IgnoreEndOfText) { completion[row] = Text(text[row]); stopped[row] = true; continue; }
                generated[row].Add(token);
                text[row].AddRange(tokenizer.TokenBytes(token));
                if (options.StopSequences.Count > 0 && StopAt(text[row], options.StopSequences) is { } cut)
                {
                    completion[row] = cut;
                    stopped[row] = true;
                    continue;
                }
                keep.Add(b);
            }
            if (keep.Count == 0 || step == options.MaxNewTokens - 1) break;
            var start = clock.Elapsed.TotalSeconds;
            long[] input;
            if (keep.Count < active.Count)
            {
                using var rowsKept = tensor(keep.Select(b => (long)b).ToArray());
                session.KeepRows(rowsKept);
                input = keep.Select(b => next[b]).ToArray();
                active = keep.Select(b => active[b]).ToList();
            }
            else input = next;
            rowsCarried += input.Length;
            using (var ids = tensor(input, [input.Length, 1]))
            using (var stepLogits = session.Step(ids))
                logits = stepLogits.data<float>().ToArray();
            network += clock.Elapsed.TotalSeconds - start;
            calls++;
        }
        LastRun = new AutoregressiveStatistics(clock.Elapsed.TotalSeconds, network, prefill, produced, calls, guard?.Counts ?? default, rowsCarried);
        return Enumerable.Range(0, rows)
            .Select(r => new AutoregressiveSample(generated[r].ToArray(), completion[r] ?? Text(text[r]), stopped[r]))
            .ToList();
    }

    private static string Text(List<byte> bytes) => Encoding.UTF8.GetString(bytes.ToArray());

    /// <summary>The text before the first stop sequence, or null when none occurs yet.</summary>
    internal static string? StopAt(List<byte> bytes, IReadOnlyList<string> stops)
    {
        string text = Text(bytes);
        int cut = -1;
        foreach (var stop in stops)
        {
            if (stop.Length == 0) continue;
            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut)) cut = at;
        }
        return cut < 0 ? null : text[..cut];
    }
}

/// <summary>
/// The viable-prefix guard of autoregressive sampling (<see cref="AutoregressiveOptions.Guard"/>): draws a token, and
/// while prompt + completion + token is no viable program prefix (or the token ends a sample whose text does not
/// parse), removes it from the distribution and draws again, up to <see cref="AutoregressiveOptions.GuardTries"/>
/// redraws; then keeps the most likely proposal and counts a failure.
/// </summary>
internal sealed class CompletionGuard(byte[] promptBytes, ByteLevelBpe tokenizer, int eosId, AutoregressiveOptions options)
{
    public GuardCounts Counts { get; private set; }

    public int Choose(Span<float> logits, List<byte> completion, Random random)
    {
        int token = TokenChoice.Choose(logits, options.Temperature, options.TopP, random);
        int best = token;
        float bestLogit = logits[token];
        for (int redraws = 0; ; redraws++)
        {
            Counts += new GuardCounts(1, 0, 0);
            if (Acceptable(completion, token)) return token;
            if (redraws == options.GuardTries) break;
            logits[token] = float.NegativeInfinity;
            if (!HasCandidate(logits)) break;
            Counts += new GuardCounts(0, 1, 0);
            token = TokenChoice.Choose(logits, options.Temperature, options.TopP, random);
            if (logits[token] > bestLogit) (best, bestLogit) = (token, logits[token]);
        }
        Counts += new GuardCounts(0, 0, 1);
        return best;
    }

    private static bool HasCandidate(Span<float> logits)
    {
        foreach (var value in logits) if (!float.IsNegativeInfinity(value)) return true;
        return false;
    }

    /// <summary>Whether the sample may go on with <paramref name="token"/> (or end with it).</summary>
    internal bool Acceptable(List<byte> completion, int token)
    {
        if (token == eosId && !options.IgnoreEndOfText) return Status(completion) == PrefixStatus.Complete;
        var extended = new List<byte>(completion);
        extended.AddRange(tokenizer.TokenBytes(token));
        if (options.StopSequences.Count > 0 && AutoregressiveSampler.StopAt(extended, options.StopSequences) is { } cut)
            return Status(System.Text.Encoding.UTF8.GetBytes(cut)) == PrefixStatus.Complete;
        return Status(extended) != PrefixStatus.NotViable;
    }

    private PrefixStatus Status(IReadOnlyCollection<byte> completion)
    {
        var bytes = new byte[promptBytes.Length + completion.Count];
        promptBytes.CopyTo(bytes, 0);
        int at = promptBytes.Length;
        foreach (var b in completion) bytes[at++] = b;
        return PythonParser.CheckPrefix(bytes).Status;
    }
}

/// <summary>CTRL's repetition penalty (<see cref="AutoregressiveOptions.RepetitionPenalty"/>).</summary>
public static class RepetitionPenalty
{
    /// <summary>
    /// For each distinct id in <paramref name="seen"/> (inside the vocabulary): ℓ ← ℓ/θ when ℓ &gt; 0, else ℓ·θ — the
    /// token becomes less likely whatever the sign of its logit (Keskar et al. 2019, eq. in §4.1; Hugging Face's
    /// RepetitionPenaltyLogitsProcessor). −∞ stays −∞.
    /// </summary>
    public static void Apply(Span<float> logits, IEnumerable<int> seen, double theta)
    {
        var done = new HashSet<int>();
        foreach (int id in seen)
        {
            if (id < 0 || id >= logits.Length || !done.Add(id)) continue;
            float value = logits[id];
            logits[id] = value > 0 ? (float)(value / theta) : (float)(value * theta);
        }
    }
}

/// <summary>The frequency penalty (<see cref="AutoregressiveOptions.FrequencyPenalty"/>).</summary>
public static class FrequencyPenalty
{
    /// <summary>
    /// ℓ[id] ← ℓ[id] − α·c for each id (inside the vocabulary) that occurs c times in <paramref name="seen"/>. −∞ stays −∞.
    /// </summary>
    public static void Apply(Span<float> logits, IEnumerable<int> seen, double alpha)
    {
        foreach (int id in seen)
            if (id >= 0 && id < logits.Length) logits[id] = (float)(logits[id] - alpha);
    }
}

/// <summary>Picks the next token from one row of logits: argmax (τ = 0) or a draw from softmax(ℓ/τ) restricted to the top-p nucleus.</summary>
public static class TokenChoice
{
    public static int Choose(ReadOnlySpan<float> logits, double temperature, double topP, Random random)
    {
        if (temperature == 0) return ArgMax(logits);
        var probabilities = Probabilities(logits, temperature, topP);
        double u = random.NextDouble(), cumulative = 0;
        int last = -1;
        for (int i = 0; i < probabilities.Length; i++)
        {
            if (probabilities[i] <= 0) continue;
            cumulative += probabilities[i];
            last = i;
            if (u < cumulative) return i;
        }
        return last; // rounding: u beyond the accumulated mass
    }

    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    /// <summary>
    /// softmax(ℓ/τ), then (top-p &lt; 1) zero outside the nucleus — the smallest set of most probable tokens whose
    /// mass reaches P (ties broken by lower id) — and renormalise.
    /// </summary>
    public static double[] Probabilities(ReadOnlySpan<float> logits, double temperature, double topP)
    {
        var p = new double[logits.Length];
        double max = double.NegativeInfinity;
        foreach (var value in logits) if (value > max) max = value;
        double sum = 0;
        for (int i = 0; i < p.Length; i++)
        {
            p[i] = float.IsNegativeInfinity(logits[i]) ? 0 : Math.Exp((logits[i] - max) / temperature);
            sum += p[i];
        }
        for (int i = 0; i < p.Length; i++) p[i] /= sum;
        if (topP >= 1) return p;
        var order = Enumerable.Range(0, p.Length).Where(i => p[i] > 0).OrderByDescending(i => p[i]).ThenBy(i => i).ToArray();
        double mass = 0;
        int keep = 0;
        while (keep < order.Length && mass < topP) mass += p[order[keep++]];
        var nucleus = new double[p.Length];
        for (int k = 0; k < keep; k++) nucleus[order[k]] = p[order[k]] / mass;
        return nucleus;
    }
}
