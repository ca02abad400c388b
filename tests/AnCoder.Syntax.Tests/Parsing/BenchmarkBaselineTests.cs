using System.Text;
using Xunit;
using AnCoder.Syntax.Benchmarking;

namespace AnCoder.Syntax.Tests.Parsing;

/// <summary>
/// `bench parse` alternates CPython's rounds with ours through a running copy of bench/cpython_parse_throughput.py
/// (<see cref="CPythonParseScript.Serve"/>): the protocol is tested against the real script, and the paired ratio
/// against hand-computed values (no clock decides a test).
/// </summary>
public sealed class BenchmarkBaselineTests
{
    private static string Script()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var script = Path.Combine(dir.FullName, "bench", "cpython_parse_throughput.py");
            if (File.Exists(script)) return script;
        }
        throw new FileNotFoundException("bench/cpython_parse_throughput.py above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void A_serving_script_loads_the_files_counts_rejections_and_times_a_round_per_request()
    {
        var dir = Directory.CreateTempSubdirectory("ancoder-bench-baseline-");
        try
        {
            var files = new Dictionary<string, string>
            {
                ["a.py"] = "x = 1\n",
                ["b.py"] = "def f(:\n    pass\n", // rejected
                ["c.py"] = "def g(a, b):\n    return [a * i for i in range(b)]\n",
            };
            var paths = files.Select(kv =>
            {
                var path = Path.Combine(dir.FullName, kv.Key);
                File.WriteAllText(path, kv.Value);
                return path;
            }).ToList();
            var errors = new StringWriter();
            using (var rounds = new CPythonParseScript(Script(), errors).Serve(paths))
            {
                Assert.NotNull(rounds);
                Assert.Equal(3, rounds.Files);
                Assert.Equal(files.Values.Sum(v => Encoding.UTF8.GetByteCount(v)), rounds.Bytes);
                Assert.Equal(1, rounds.Rejected);
                for (int k = 0; k < 2; k++)
                    Assert.True(rounds.Round() is > 0, "a round's seconds");
                Assert.True(rounds.SmallCallsPerSecond("x = 1\n") is > 0, "calls per second");
            }
            Assert.Equal("", errors.ToString());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_script_that_cannot_start_is_reported_in_one_line()
    {
        var errors = new StringWriter();
        var rounds = new CPythonParseScript(Script(), errors, python: "/nonexistent/python3").Serve(["x.py"]);
        Assert.Null(rounds);
        Assert.Equal("ancoder bench parse: /nonexistent/python3 not found", errors.ToString().Trim());
    }

    [Fact]
    public void A_script_that_answers_no_json_is_reported_in_one_line()
    {
        // A stand-in that reads the request and answers with text.
        var fake = Path.Combine(Path.GetTempPath(), $"ancoder-fake-serve-{Environment.ProcessId}.sh");
        File.WriteAllText(fake, "read request\necho 'Traceback (most recent call last):'\nread more\n");
        try
        {
            var errors = new StringWriter();
            var rounds = new CPythonParseScript(fake, errors, python: "sh").Serve(["x.py"]);
            Assert.Null(rounds);
            Assert.Equal($"ancoder bench parse: {Path.GetFileName(fake)} answered something that is not one JSON line", errors.ToString().Trim());
        }
        finally
        {
            File.Delete(fake);
        }
    }

    [Fact]
    public void The_paired_ratio_is_the_median_over_rounds_of_the_baselines_time_over_ours_per_byte()
    {
        // Ours: 100 bytes in 1, 2, 4 s; CPython: 200 bytes (its own count) in 10 s each round. Per byte the pairs'
        // ratios are (10/200) / (1/100) = 5, 2.5 and 1.25: median 2.5.
        var ours = new ThroughputResult(100, [1, 2, 4], 0, 0, 0, 0, 0);
        var baseline = new ThroughputResult(200, [10, 10, 10], 0, 0, 0, 0, 0);
        Assert.Equal(2.5, ParseBenchmarkReport.PairedRatio(ours, baseline), 12);
        // The machine slows both sides in round 3 (4 -> 8 s beside 2 s) and ours alone in round 2: the pairs' ratios
        // are 4, 2, 4 (median 4), while the medians of the rounds (2 s, 4 s) give 2.
        var drifting = new ThroughputResult(100, [1, 2, 2], 0, 0, 0, 0, 0);
        var drifted = new ThroughputResult(100, [4, 4, 8], 0, 0, 0, 0, 0);
        Assert.Equal(4, ParseBenchmarkReport.PairedRatio(drifting, drifted), 12);
    }
}
