using System.Diagnostics;
using System.Text.Json;
using AnCoder.Anchoring.Corpus;
using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Tokenization;

namespace AnCoder.Experiments.Benchmarks;

/// <summary><c>ancoder prepare --bench</c>: AnchorTree labelling throughput beside bench/label_throughput.py (CPython ast + tokenize).</summary>
public static class LabellingBenchmark
{
    /// <summary>Same work on both sides: read each file, tokenize with the BPE, parse, label every token (node, depth,
    /// flags). Files in memory; one warm-up pass for .NET, then the timed pass.</summary>
    public static int Run(string sourceDir, string? tokenizerDir, ByteLevelBpe bpe, TextWriter output, TextWriter error)
    {
        var files = CorpusFiles.Enumerate(sourceDir);
        var contents = files.Select(f => CorpusFiles.TryRead(f, out _) ?? []).ToList();
        long bytes = contents.Sum(c => (long)c.Length);
        long Run()
        {
            long tokens = 0;
            Parallel.ForEach(contents, () => 0L, (content, _, local) => local + LabelledSource.Create(content, bpe).Labels.Length,
                local => Interlocked.Add(ref tokens, local));
            return tokens;
        }
        var clock = Stopwatch.StartNew();
        Run();
        output.WriteLine($"ancoder warm-up pass (cold start, JIT): {clock.Elapsed.TotalSeconds:F2} s");
        clock.Restart();
        long ourTokens = Run();
        double ours = clock.Elapsed.TotalSeconds;
        output.WriteLine($"ancoder (in-process, {Environment.ProcessorCount} threads): {files.Count} files, {bytes / 1e6:F1} MB, {ourTokens:N0} tokens in {ours:F2} s = {bytes / 1e6 / ours:F2} MB/s, {ourTokens / ours:N0} tokens/s");

        string? root = RepositoryPaths.FindRoot();
        string script = Path.Combine(root ?? ".", "bench", "label_throughput.py");
        string tokenizerPath = tokenizerDir ?? DefaultTokenizer.Directory;
        if (Environment.GetEnvironmentVariable("ANCODER_BENCH_NO_PYTHON") == "1") return 0;
        var info = new ProcessStartInfo("python3", [script, "--tokenizer", tokenizerPath, "--processes", Environment.ProcessorCount.ToString(), sourceDir])
        {
            RedirectStandardOutput = true, UseShellExecute = false,
        };
        using var process = Process.Start(info)!;
        string report = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            error.WriteLine($"ancoder prepare --bench: {script} failed (exit {process.ExitCode})");
            return 1;
        }
        using var json = JsonDocument.Parse(report);
        double pySeconds = json.RootElement.GetProperty("seconds").GetDouble();
        long pyTokens = json.RootElement.GetProperty("tokens").GetInt64();
        output.WriteLine($"python3 ast+tokenize ({json.RootElement.GetProperty("processes").GetInt32()} processes): {pyTokens:N0} tokens in {pySeconds:F2} s = {bytes / 1e6 / pySeconds:F2} MB/s, {pyTokens / pySeconds:N0} tokens/s");
        if (pyTokens != ourTokens) output.WriteLine($"note: token counts differ ({ourTokens} vs {pyTokens})");
        output.WriteLine($"ratio: {pySeconds / ours:F1}x");
        return 0;
    }
}
