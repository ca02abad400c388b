using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AnCoder.Anchoring.Tokenization;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Sampling;

namespace AnCoder.Experiments.Benchmarks;

/// <summary>One batch size of <c>ancoder bench ar-decode</c>: ours (tokens/s, share outside the network) and PyTorch's (null when not run).</summary>
public sealed record ArDecodeRow(int Batch, double OursTokensPerSecond, double OutsideShare, double? TorchTokensPerSecond);

/// <summary>
/// The measurements of <c>ancoder bench ar-decode</c> (docs/recipe.md §2): greedy autoregressive decoding with the KV
/// cache, end-of-text ignored so every row decodes <c>newTokens</c>, median of rounds after a warm-up; beside it the
/// same model shape and algorithm in PyTorch (bench/ar_decode_torch.py with /usr/bin/python3) as a child process.
/// </summary>
public static class ArDecodeBenchmark
{

    /// <summary>Loads the model, measures every batch size and writes the table (with the load average) to <paramref name="output"/>.</summary>
    public static void Run(string source, int[] batches, int promptLength, int newTokens, int rounds, int threads, string precision, string? torchScript, TextWriter output)
    {
        TorchSharp.torch.set_num_threads(threads);
        using var model = LoadModel(source);
        model.eval();
        model.ComputeType = precision == "bf16" ? TorchSharp.torch.ScalarType.BFloat16 : TorchSharp.torch.ScalarType.Float32;
        if (promptLength + newTokens > model.Config.MaxPositionEmbeddings)
            throw new ArgumentException($"--prompt + --new exceed max_position_embeddings ({model.Config.MaxPositionEmbeddings})");
        output.WriteLine($"{source}: {model.ParameterCount():N0} parameters, {precision}, prompt {promptLength} tokens, {newTokens} new tokens per row, greedy, " +
                         $"{threads} threads, median of {rounds} rounds, load average {ModelBenchmark.LoadAverage()}");
        output.WriteLine($"{"batch",5}  {"ours tok/s",11}  {"outside net",11}  {"pytorch tok/s",13}  {"ratio",6}");
        foreach (int batch in batches)
        {
            var row = Measure(model, batch, promptLength, newTokens, rounds, torchScript, precision, threads);
            string theirs = row.TorchTokensPerSecond is { } t ? t.ToString("N0", CultureInfo.InvariantCulture) : "—";
            string ratio = row.TorchTokensPerSecond is { } r ? (row.OursTokensPerSecond / r).ToString("F2", CultureInfo.InvariantCulture) : "—";
            output.WriteLine($"{batch,5}  {row.OursTokensPerSecond,11:N0}  {row.OutsideShare,10:P1}  {theirs,13}  {ratio,6}");
        }
    }

    /// <summary>An AR model folder (train --objective ar), or a preset name: the causal model of that shape with seeded random weights.</summary>
    public static CausalLmModel LoadModel(string source)
    {
        if (Directory.Exists(source))
        {
            var loaded = AnCoder.Diffusion.Checkpoints.ModelCheckpoint.Load(source);
            if (loaded is CausalLmModel causal) return causal;
            loaded.Dispose();
            throw new ArgumentException($"{source} is not an autoregressive model (train --objective ar)");
        }
        TorchSharp.torch.manual_seed(0);
        return (CausalLmModel)DiffusionModel.Create(AnCoder.Diffusion.Configuration.ModelPresets.Get(source) with
        {
            Architecture = AnCoder.Diffusion.Configuration.Architecture.Causal,
        });
    }

    public static ArDecodeRow Measure(CausalLmModel model, int batch, int promptLength, int newTokens, int rounds, string? torchScript,
        string precision, int threads)
    {
        var config = model.Config;
        var random = new Random(0);
        var promptIds = Enumerable.Range(0, promptLength).Select(_ => random.Next(3, config.VocabSize)).ToArray();
        var sampler = new AutoregressiveSampler(model, DefaultTokenizer.Load());
        var seeds = Enumerable.Range(0, batch).ToList();
        var options = new AutoregressiveOptions { Temperature = 0, MaxNewTokens = newTokens, IgnoreEndOfText = true };
        sampler.Sample(promptIds, seeds, options with { MaxNewTokens = Math.Min(8, newTokens) }); // warm-up
        var runs = new List<AutoregressiveStatistics>();
        for (int round = 0; round < rounds; round++)
        {
            sampler.Sample(promptIds, seeds, options);
            runs.Add(sampler.LastRun!);
        }
        var median = runs.OrderBy(r => r.TotalSeconds).ElementAt(runs.Count / 2);
        double? torch = torchScript is null ? null : MeasureTorch(torchScript, config.ToJson(), batch, promptLength, newTokens, rounds, threads, precision);
        return new ArDecodeRow(batch, (double)batch * newTokens / median.TotalSeconds, 1 - median.NetworkSeconds / median.TotalSeconds, torch);
    }

    /// <summary>Runs bench/ar_decode_torch.py; null (with a line on stderr) when python3 or torch is missing or it fails.</summary>
    private static double? MeasureTorch(string script, string configJson, int batch, int prompt, int newTokens, int rounds, int threads, string precision)
    {
        string configPath = Path.Combine(Path.GetTempPath(), $"ancoder-bench-ar-{Environment.ProcessId}.json");
        File.WriteAllText(configPath, configJson);
        string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
        try
        {
            using var json = TorchBaselineScript.Run(script,
                ["--config", configPath, "--batch", Text(batch), "--prompt", Text(prompt), "--new", Text(newTokens), "--rounds", Text(rounds),
                 "--threads", Text(threads), "--precision", precision], Console.Error.WriteLine);
            return json?.RootElement.GetProperty("tokens_per_second").GetDouble();
        }
        finally
        {
            File.Delete(configPath);
        }
    }
}
