using AnCoder.Diffusion.Configuration;
using AnCoder.Experiments.Models;
using AnCoder.Experiments.Generation;
using AnCoder.Evaluation.Benchmarks;
using AnCoder.Evaluation.Execution;

namespace AnCoder.Experiments.Tests;

/// <summary><c>ancoder eval --model</c>'s pipeline on untrained weights (random:tiny): 2 HumanEval problems × 2 samples.</summary>
[Collection(TorchCollection.Name)]
public sealed class ModelEvaluationTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "ancoder-eval-model-" + Guid.NewGuid().ToString("N"));
    private static readonly Benchmark HumanEval = BenchmarkLoader.Load(BenchmarkKind.HumanEval,
        DatasetLocator.Require(null, AppContext.BaseDirectory, Directory.GetCurrentDirectory()));

    private static readonly ModelEvalSettings Settings = new() { SamplesPerProblem = 2, Limit = 2, Steps = 4, Length = 16 };

    private static LoadedModel Load()
    {
        Assert.True(LoadedModel.TryLoad("random:tiny", Precision.Fp32, out var loaded, out var error), error);
        return loaded!;
    }

    [Fact]
    public void Generates_n_samples_for_the_first_K_problems_scores_them_and_resumes_with_the_same_samples()
    {
        var model = Load();
        using var _ = model.Model;
        using var sandbox = PythonSandbox.Create(new SandboxOptions { Workers = 2 });
        string output = Path.Combine(_root, "he");
        string journal = Path.Combine(output, ModelEvaluation.ResultsFileName);

        var summary = ModelEvaluation.Run(model, "random:tiny", HumanEval, Settings, Precision.Fp32, output, sandbox);
        Assert.Equal(4, File.ReadLines(journal).Count());
        Assert.Equal(4, summary.Samples);
        Assert.Equal(2, summary.ProblemsScored);
        Assert.Equal(2, summary.ProblemsInBenchmark);
        Assert.Equal(["HumanEval/0", "HumanEval/1"], summary.Problems.Select(p => p.TaskId).Order());
        Assert.NotNull(summary.SyntaxValidity);
        Assert.Equal(0.0, summary.PassAtK["pass@1"]); // untrained weights write no working program
        Assert.True(summary.PassAtK.ContainsKey("pass@1") && !summary.PassAtK.ContainsKey("pass@10"));
        Assert.True(File.Exists(Path.Combine(output, ModelEvaluation.SummaryFileName)));

        // Complete: a second run samples nothing (the journal is unchanged).
        string complete = File.ReadAllText(journal);
        ModelEvaluation.Run(model, "random:tiny", HumanEval, Settings, Precision.Fp32, output, sandbox);
        Assert.Equal(complete, File.ReadAllText(journal));

        // Interrupted after two samples: the missing two are made again, identical to the first time.
        var lines = File.ReadAllLines(journal);
        File.WriteAllLines(journal, lines.Take(2));
        var resumed = ModelEvaluation.Run(model, "random:tiny", HumanEval, Settings, Precision.Fp32, output, sandbox);
        Assert.Equal(4, resumed.Samples);
        Assert.Equal(lines.Select(Completion).Order(), File.ReadAllLines(journal).Select(Completion).Order());
    }

    [Fact]
    public void An_autoregressive_model_is_evaluated_with_its_sampler_and_resumes_with_the_same_samples()
    {
        Assert.True(LoadedModel.TryLoad("random-ar:tiny", Precision.Fp32, out var model, out var error), error);
        using var _ = model!.Model;
        Assert.IsType<AnCoder.Diffusion.Model.CausalLmModel>(model.Model);
        using var sandbox = PythonSandbox.Create(new SandboxOptions { Workers = 2 });
        string output = Path.Combine(_root, "ar");
        string journal = Path.Combine(output, ModelEvaluation.ResultsFileName);
        var settings = Settings with { Temperature = 1.0 };
        var summary = ModelEvaluation.Run(model, "random-ar:tiny", HumanEval, settings, Precision.Fp32, output, sandbox);
        Assert.Equal(4, summary.Samples);
        var lines = File.ReadAllLines(journal);
        // Untrained weights write text soup; at τ = 1 the two samples of a problem differ (their own seeds).
        var texts = lines.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("completion").GetString()!).ToList();
        Assert.Equal(4, texts.Distinct().Count());
        File.WriteAllLines(journal, lines.Take(1));
        ModelEvaluation.Run(model, "random-ar:tiny", HumanEval, settings, Precision.Fp32, output, sandbox);
        Assert.Equal(lines.Select(Completion).Order(), File.ReadAllLines(journal).Select(Completion).Order());
    }

    [Fact]
    public void A_results_folder_made_with_other_settings_is_refused_naming_the_difference()
    {
        var model = Load();
        using var _ = model.Model;
        using var sandbox = PythonSandbox.Create(new SandboxOptions { Workers = 1 });
        string output = Path.Combine(_root, "mismatch");
        var one = Settings with { Limit = 1, SamplesPerProblem = 1 };
        ModelEvaluation.Run(model, "random:tiny", HumanEval, one, Precision.Fp32, output, sandbox);
        var error = Assert.Throws<ModelEvalException>(() => ModelEvaluation.Run(model, "random:tiny", HumanEval, one with { Steps = 5 }, Precision.Fp32, output, sandbox));
        Assert.Contains("generation.json", error.Message);
        Assert.Contains("steps 4 there, 5 now", error.Message);
    }

    [Fact]
    public void The_guard_is_part_of_the_settings_and_its_counters_and_the_network_cost_are_written()
    {
        var model = Load();
        using var _ = model.Model;
        using var sandbox = PythonSandbox.Create(new SandboxOptions { Workers = 1 });
        string output = Path.Combine(_root, "guard");
        var guarded = Settings with { Limit = 1, SamplesPerProblem = 2, Guard = AnCoder.Diffusion.Sampling.DecodingGuard.Prefix };
        ModelEvaluation.Run(model, "random:tiny", HumanEval, guarded, Precision.Fp32, output, sandbox);
        using var counts = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(output, ModelEvaluation.DecodingFileName)));
        var root = counts.RootElement;
        Assert.Equal(2, root.GetProperty("samples_generated").GetInt32());
        // Every canvas's first reveal that extends the prompt is judged; the untrained model's text soup gets redrawn.
        Assert.True(root.GetProperty("guard_checks").GetInt64() >= 2);
        Assert.True(root.GetProperty("guard_resamples").GetInt64() > 0);
        // 4 grid steps + the final pass carry each canvas at most once per step: at most 5 rows per sample.
        Assert.InRange(root.GetProperty("network_rows_per_sample").GetDouble(), 1, 5);
        Assert.Contains("\"guard\": \"prefix\"", File.ReadAllText(Path.Combine(output, ModelEvaluation.SettingsFileName)));
        var error = Assert.Throws<ModelEvalException>(() => ModelEvaluation.Run(model, "random:tiny", HumanEval, guarded with { Guard = default }, Precision.Fp32, output, sandbox));
        Assert.Contains("guard prefix there, none now", error.Message);
    }

    [Fact]
    public void Sample_seeds_depend_on_problem_and_sample_only()
    {
        // Distinct streams for neighbouring (problem, sample) pairs, and the same seed every time it is asked.
        var seeds = Enumerable.Range(0, 4).SelectMany(p => Enumerable.Range(0, 4).Select(j => SamplerCompletionGenerator.SampleSeed(7, p, j))).ToList();
        Assert.Equal(16, seeds.Distinct().Count());
        Assert.Equal(SamplerCompletionGenerator.SampleSeed(7, 3, 2), SamplerCompletionGenerator.SampleSeed(7, 3, 2));
    }

    private static string Completion(string jsonLine)
    {
        using var document = System.Text.Json.JsonDocument.Parse(jsonLine);
        var root = document.RootElement;
        return $"{root.GetProperty("task_id").GetString()}#{root.GetProperty("sample_index").GetInt32()}:{root.GetProperty("completion").GetString()}";
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
