using AnCoder.Anchoring.Labels;
using AnCoder.Experiments.Repro;
using AnCoder.Diffusion.Configuration;

namespace AnCoder.Experiments.Tests;

public sealed class ReproPlanTests
{
    [Fact]
    public void Default_plan_shares_the_runs_an_ablation_point_has_in_common_with_the_main_comparison()
    {
        var plan = new ReproPlan(new ReproConfig());
        // Main: 5 variants × 3 seeds = 15. λ ablation at seed 0: 3 strategies × 5 λ, minus each strategy's default
        // λ (keyword 0.1, identifier 0.003, anchortree 0.03), which are main runs: 12. ρ/d0: 5 points minus (0.8, 2): 4.
        Assert.Equal(15 + 12 + 4, plan.Runs.Count);
        Assert.Equal("anchortree-s0", plan.Find(AnchorStrategy.AnchorTree, 0, 0.03, null, null)!.Name);
        Assert.Equal("anchortree-s0", plan.Find(AnchorStrategy.AnchorTree, 0, null, 0.8, 2)!.Name);
        Assert.Equal("keyword-lam0.001-s0", plan.Find(AnchorStrategy.Keyword, 0, 0.001, null, null)!.Name);
        Assert.Equal("anchortree-rho0.6-d2-s0", plan.Find(AnchorStrategy.AnchorTree, 0, null, 0.6, 2)!.Name);
        Assert.Null(plan.Find(AnchorStrategy.Keyword, 1, 0.001, null, null));
        // Seed-major: the first five runs are seed 0 of every variant.
        Assert.Equal(["mdlm-s0", "null-s0", "keyword-s0", "identifier-s0", "anchortree-s0"], plan.Runs.Take(5).Select(r => r.Name));
    }

    [Fact]
    public void Evaluations_cover_every_run_and_the_T_grid_once()
    {
        var plan = new ReproPlan(new ReproConfig());
        // Every run at T = 64 on both benchmarks: 31 × 2. T-scaling: mdlm and anchortree × 3 seeds × {16, 32, 128}
        // (64 is already there) × 2 benchmarks = 36.
        Assert.Equal(31 * 2 + 36, plan.Evals.Count);
        Assert.Equal(plan.Evals.Count, plan.Evals.Select(e => e.Folder).Distinct().Count());
        Assert.Contains(plan.Evals, e => e.Folder == Path.Combine("runs", "mdlm-s2", "eval", "mbpp-T128"));
    }

    [Fact]
    public void A_benchmark_with_zero_problems_is_not_evaluated()
    {
        var plan = new ReproPlan(new ReproConfig { MbppProblems = 0, TScaling = [], LambdaAblation = [], RhoD0Sweep = [], Seeds = 1 });
        Assert.Equal(5, plan.Runs.Count);
        Assert.All(plan.Evals, e => Assert.Equal("humaneval", e.Benchmark));
        Assert.Equal(5, plan.Evals.Count);
    }

    [Fact]
    public void Config_problems_name_the_field()
    {
        var misspelt = Assert.Throws<ConfigException>(() => ReproConfig.Parse("{\"variants\": [\"mdlm\", \"anchortre\"]}", "x.json"));
        Assert.Contains("x.json: $.variants[1]: 'anchortre' is not one of mdlm, null, keyword, identifier or anchortree", misspelt.Message);
        var problems = new ReproConfig { Variants = [AnchorStrategy.Mdlm, AnchorStrategy.Mdlm], Seeds = 0, LambdaStrategies = [AnchorStrategy.Null] }.Validate();
        Assert.Contains(problems, p => p.Contains("variants lists a variant twice"));
        Assert.Contains(problems, p => p.StartsWith("seeds must be at least 1"));
        Assert.Contains(problems, p => p.Contains("lambda_strategies: 'null'"));
        Assert.Empty(new ReproConfig().Validate());
    }

    [Fact]
    public void The_decoding_options_of_the_evaluations_are_config_fields()
    {
        var config = ReproConfig.Parse("{\"eval_guard\": \"prefix\", \"eval_order\": \"anchordepth\", \"eval_repair\": 2}", "x.json");
        Assert.Equal((AnCoder.Diffusion.Sampling.DecodingGuard.Prefix, AnCoder.Diffusion.Sampling.UnmaskOrder.AnchorDepth, 2), (config.EvalGuard, config.EvalOrder, config.EvalRepair));
        Assert.Equal(AnCoder.Diffusion.Sampling.DecodingGuard.None, new ReproConfig().EvalGuard);
        var wrong = Assert.Throws<ConfigException>(() => ReproConfig.Parse("{\"eval_guard\": \"suffix\"}", "x.json"));
        Assert.Contains("'suffix' is not one of none or prefix", wrong.Message);
    }

    [Fact]
    public void An_unknown_config_field_is_an_error_naming_the_file()
    {
        string file = Path.Combine(Path.GetTempPath(), $"repro-config-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, "{\"seeds\": 2, \"stepz\": 5}");
        try
        {
            var error = Assert.Throws<ConfigException>(() => ReproConfig.Load(file));
            Assert.Contains(file, error.Message);
            Assert.Contains("stepz", error.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void The_shipped_experiment_configs_load_and_validate_and_plan_the_documented_runs()
    {
        string root = AnCoder.Experiments.RepositoryPaths.FindRoot() ?? throw new InvalidOperationException("repository root not found");
        var main = ReproConfig.Load(Path.Combine(root, "docs", "repro", "main", "config.json"));
        var ablations = ReproConfig.Load(Path.Combine(root, "docs", "repro", "ablations", "config.json"));
        var minutes = ReproConfig.Load(Path.Combine(root, "examples", "repro-minutes.json"));
        foreach (var config in new[] { main, ablations, minutes }) Assert.Empty(config.Validate());
        // docs/results.md: 5 variants × 3 seeds; 3 defaults + 8 new λ points + 4 ρ/d0 points, seed 0.
        Assert.Equal(15, new ReproPlan(main).Runs.Count);
        Assert.Equal(3 + 8 + 4, new ReproPlan(ablations).Runs.Count);
        Assert.Null(main.Training.Data);
        // The flat training keys of these files land in Training (docs/repro/main: lr 1e-3, bf16, one thread).
        Assert.Equal((1e-3, Precision.Bf16, 1, "tiny"), (main.Training.LearningRate, main.Training.Precision, main.Training.Threads, main.Training.Model));
    }

    [Fact]
    public void A_from_scratch_evaluation_carries_the_decoding_options_and_MDLM_never_remasks()
    {
        var config = new ReproConfig { EvalRepetitionPenalty = 1.2, EvalFrequencyPenalty = 0.5, EvalGuard = AnCoder.Diffusion.Sampling.DecodingGuard.Prefix, AnchoredRemask = "cap:0.1" };
        var eval = new ReproPlan(config).Evals.First();
        var anchored = ReproRunner.SettingsFor(config, eval, mdlm: false);
        Assert.Equal((1.2, 0.5, AnCoder.Diffusion.Sampling.DecodingGuard.Prefix, "cap:0.1"), (anchored.RepetitionPenalty, anchored.FrequencyPenalty, anchored.Guard, anchored.Remask));
        Assert.Equal("none", ReproRunner.SettingsFor(config, eval, mdlm: true).Remask);
        Assert.Equal("none", ReproRunner.SettingsFor(config with { EvalParallel = 0.9 }, eval, mdlm: false).Remask);
        // Defaults: the paper's sampler.
        var paper = ReproRunner.SettingsFor(new ReproConfig(), eval, mdlm: false);
        Assert.Equal((1.0, 0.0, AnCoder.Diffusion.Sampling.DecodingGuard.None), (paper.RepetitionPenalty, paper.FrequencyPenalty, paper.Guard));
    }
}
