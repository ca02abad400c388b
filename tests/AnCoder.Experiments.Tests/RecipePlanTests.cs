using System.Text.Json;
using System.Text.Json.Nodes;
using AnCoder.Anchoring.Labels;
using AnCoder.Diffusion.Configuration;
using AnCoder.Evaluation.Scoring;
using AnCoder.Experiments.Generation;
using AnCoder.Experiments.Repro;

using AnCoder.Experiments.Statistics;
using AnCoder.Reporting.Plotting;

namespace AnCoder.Experiments.Tests;

/// <summary>The recipe mode of repro without training: plan, stage configs, claims, done-stage skipping, the report's rows.</summary>
public sealed class RecipePlanTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ancoder-recipe-" + Guid.NewGuid().ToString("N"));

    public RecipePlanTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static ReproConfig Recipe(int seeds = 2, AnchorStrategy[]? variants = null) => new()
    {
        Variants = variants ?? Enum.GetValues<AnchorStrategy>(), Seeds = seeds, HumanevalProblems = 164, HumanevalN = 1, MbppProblems = 100, MbppN = 1,
        Recipe = new RecipeConfig
        {
            ArBase = new JsonObject { ["max_steps"] = 1000, ["learning_rate"] = 1.5e-3 },
            ArSft = new JsonObject { ["max_steps"] = 600, ["learning_rate"] = 5e-4 },
            Adapt = new JsonObject { ["max_steps"] = 150, ["pretrained_learning_rate"] = 3e-4, ["shift"] = true, ["denoiser_init"] = "identity", ["denoiser_layers"] = 2 },
            Sft = new JsonObject { ["max_steps"] = 120 },
            SftData = "/data/sft",
        },
    };

    [Fact]
    public void The_plan_has_one_AR_base_and_per_variant_and_seed_an_adaptation_then_an_SFT_stage_in_the_lead_s_folders()
    {
        var plan = new RecipePlan(Recipe());
        Assert.Equal(2 + 5 * 2 * 2, plan.Stages.Count);
        Assert.Equal(["ar-base", "ar-sft", "mdlm-s0/adapt", "mdlm-s0/sft", "null-s0/adapt"], plan.Stages.Take(5).Select(s => s.Name));
        Assert.Equal(Path.Combine("runs", "anchortree-s1", "sft", "model"), plan.Stage("anchortree-s1/sft").ModelFolder);
        Assert.Null(plan.Stage("ar-base").Input);
        Assert.Equal("ar-base", plan.Stage("ar-sft").Input);
        Assert.All(plan.Stages.Where(s => s.Kind == RecipeStageKind.Adapt), s => Assert.Equal("ar-base", s.Input));
        Assert.All(plan.Stages.Where(s => s.Kind == RecipeStageKind.Sft), s => Assert.Equal(s.Name.Replace("/sft", "/adapt"), s.Input));
        Assert.All(plan.Stages.Where(s => s.Variant is not null), s => Assert.StartsWith($"{AnchorWeightOptions.Name(s.Variant!.Value)}-s{s.Seed}/", s.Name));
    }

    [Fact]
    public void Table_1_has_every_row_of_the_paper_and_the_null_model_twice_with_and_without_remasking()
    {
        var plan = new RecipePlan(Recipe());
        Assert.Equal(["ar-sft", "ar-base", "mdlm-one-network", "mdlm-two-stage", "null", "keyword", "identifier", "anchortree"], plan.Rows.Select(r => r.Key));
        var twoStage = plan.Rows.Single(r => r.Key == "mdlm-two-stage");
        var nullRow = plan.Rows.Single(r => r.Key == "null");
        Assert.Equal(Path.Combine("runs", "null-s1", "sft", "eval", "humaneval-T64-remask-none"), twoStage.Members[1].HumanEval!.Folder);
        Assert.Equal(Path.Combine("runs", "null-s1", "sft", "eval", "humaneval-T64"), nullRow.Members[1].HumanEval!.Folder);
        Assert.Equal("cap:0.1", nullRow.Remask);
        Assert.Equal("none", plan.Rows.Single(r => r.Key == "mdlm-one-network").Remask);
        // AR rows: one model, three sampling seeds (0.2 is not greedy), folders per seed.
        var ar = plan.Rows[0];
        Assert.True(ar.Autoregressive);
        Assert.Equal([0, 1, 2], ar.Members.Select(m => m.HumanEval!.SamplingSeed));
        Assert.Equal(Path.Combine("runs", "ar-sft", "eval", "mbpp-seed2"), ar.Members[2].Mbpp!.Folder);
        // Every evaluation once: AR 2 rows × 3 seeds × 2 benchmarks; diffusion 6 rows × 2 seeds × 2 benchmarks.
        Assert.Equal(12 + 24, plan.Evals.Count);
        Assert.Equal(plan.Evals.Count, plan.Evals.Select(e => e.Folder).Distinct().Count());
        Assert.All(plan.Evals, e => Assert.Equal(e.Benchmark == "humaneval" ? 164 : 100, e.Problems));
        // The paper's numbers beside the rows: AR gray row, MDLM two-stage = the 809M MDLM, no 494M numbers.
        Assert.Equal(93.9, ar.Paper.HumanEvalSyntax);
        Assert.Equal(65.58, twoStage.Paper.HumanEvalSyntax);
        Assert.Null(plan.Rows.Single(r => r.Key == "mdlm-one-network").Paper.HumanEvalSyntax);
        // Greedy AR sampling: one sampling seed (the others would repeat it).
        var greedy = new RecipePlan(Recipe() with { Recipe = Recipe().Recipe! with { ArTemperature = 0 } });
        Assert.Single(greedy.Rows[0].Members);
    }

    [Fact]
    public void Each_stage_trains_the_shared_settings_with_its_section_on_top_and_the_recipe_s_fixed_fields()
    {
        var config = Recipe() with { Training = new ReproConfig().Training with { ContextLength = 256, MicroBatch = 16, Data = "/data/prepared" } };
        var plan = new RecipePlan(config);
        var arBase = RecipeTraining.For(config, plan.Stage("ar-base"), "/x");
        Assert.Equal(Objective.Ar, arBase.Objective);
        Assert.Equal(1000, arBase.MaxSteps);
        Assert.Equal(1.5e-3, arBase.LearningRate);
        Assert.Equal(16, arBase.MicroBatch);
        Assert.Equal("/data/prepared", arBase.Data);
        Assert.Equal(Path.Combine("/x", "runs", "ar-base"), arBase.Output);

        var arSft = RecipeTraining.For(config, plan.Stage("ar-sft"), "/x");
        Assert.True(arSft.Sft);
        Assert.Equal(Objective.Ar, arSft.Objective);
        Assert.Equal(Path.Combine("/x", "runs", "ar-base", "model"), arSft.Init);
        Assert.Equal("/data/sft", arSft.Data);

        var adapt = RecipeTraining.For(config, plan.Stage("anchortree-s1/adapt"), "/x");
        Assert.Equal((AnchorStrategy.AnchorTree, 1, false), (adapt.Strategy, adapt.Seed, adapt.Sft));
        Assert.Equal(Path.Combine("/x", "runs", "ar-base", "model"), adapt.InitQwen);
        Assert.Equal((true, DenoiserInit.Identity, 2, 3e-4), (adapt.Shift, adapt.DenoiserInit, adapt.DenoiserLayers!.Value, adapt.PretrainedLearningRate!.Value));
        Assert.Equal("/data/prepared", adapt.Data);
        Assert.Empty(adapt.Validate());

        // MDLM has no ψ: the ψ options go back to their defaults, so the shared adapt section stays valid.
        var mdlm = RecipeTraining.For(config, plan.Stage("mdlm-s0/adapt"), "/x");
        Assert.Equal((DenoiserInit.Copy, (int?)null), (mdlm.DenoiserInit, mdlm.DenoiserLayers));
        Assert.Empty(mdlm.Validate());

        var sft = RecipeTraining.For(config, plan.Stage("anchortree-s1/sft"), "/x");
        Assert.Equal((true, 1, 120L), (sft.Sft, sft.Seed, sft.MaxSteps!.Value));
        Assert.Equal(Path.Combine("/x", "runs", "anchortree-s1", "adapt", "model"), sft.Init);
        Assert.Equal(DenoiserInit.Copy, sft.DenoiserInit); // identity would zero the adapted ψ again
        Assert.Equal("/data/sft", sft.Data);
        Assert.Empty(config.Validate());
    }

    [Fact]
    public void A_stage_without_steps_or_with_an_unknown_field_is_a_config_problem_naming_its_section()
    {
        var noSteps = Recipe() with { Recipe = Recipe().Recipe! with { Sft = new JsonObject() } };
        Assert.Contains(noSteps.Validate(), p => p.StartsWith("recipe.sft: max_steps or max_tokens must be given", StringComparison.Ordinal));
        var typo = Recipe() with { Recipe = Recipe().Recipe! with { Adapt = new JsonObject { ["max_stepz"] = 3 } } };
        Assert.Contains(typo.Validate(), p => p.Contains("recipe.adapt") && p.Contains("max_stepz"));
    }

    [Fact]
    public void The_example_recipe_config_parses_validates_and_finds_its_model_config_beside_it()
    {
        string root = FindRepositoryRoot();
        var config = ReproConfig.Load(Path.Combine(root, "examples", "repro-recipe.json"));
        Assert.Empty(config.Validate());
        Assert.Equal(Path.Combine(root, "examples", "ar-model.json"), config.Training.ModelConfigFile);
        Assert.True(File.Exists(config.Training.ModelConfigFile));
        var plan = new RecipePlan(config);
        Assert.Equal(2 + 5 * 3 * 2, plan.Stages.Count);
        var adapt = RecipeTraining.For(config, plan.Stage("keyword-s2/adapt"), "/x");
        Assert.Equal((50L, 1e-3, 5e-4, 256, 8), (adapt.MaxSteps!.Value, adapt.LearningRate, adapt.PretrainedLearningRate!.Value, adapt.ContextLength, adapt.MicroBatch));
        Assert.Equal((1000L, 0.03), (RecipeTraining.For(config, plan.Stage("ar-base"), "/x").MaxSteps!.Value, RecipeTraining.For(config, plan.Stage("ar-base"), "/x").WarmupRatio));
        // Round trip through the experiment folder's config.json.
        var again = ReproConfig.Parse(config.ToJson(), "config.json");
        Assert.Equal(config.Recipe!.Adapt.ToJsonString(), again.Recipe!.Adapt.ToJsonString());
    }

    [Fact]
    public void Stage_1_can_start_from_the_fine_tuned_AR_model_and_train_on_the_pairs()
    {
        var paper = Recipe() with { Training = new ReproConfig().Training with { Data = "/data/prepared" } };
        var config = paper with { Recipe = paper.Recipe! with { AdaptFrom = RecipeAdaptSource.Sft, AdaptOnPairs = true } };
        var plan = new RecipePlan(config);
        Assert.All(plan.Stages.Where(s => s.Kind == RecipeStageKind.Adapt), s => Assert.Equal("ar-sft", s.Input));
        var adapt = RecipeTraining.For(config, plan.Stage("anchortree-s1/adapt"), "/x");
        Assert.Equal(Path.Combine("/x", "runs", "ar-sft", "model"), adapt.InitQwen);
        Assert.Equal((true, "/data/sft"), (adapt.Sft, adapt.Data));
        Assert.Empty(config.Validate());
        // Stage 3 still continues from stage 1's model on the pairs.
        Assert.Equal(Path.Combine("/x", "runs", "anchortree-s1", "adapt", "model"), RecipeTraining.For(config, plan.Stage("anchortree-s1/sft"), "/x").Init);
        // A section's own "data" wins over the SFT pairs.
        var section = config.Recipe!.Adapt.DeepClone().AsObject();
        section["data"] = "/data/other-pairs";
        var own = config with { Recipe = config.Recipe with { Adapt = section } };
        Assert.Equal("/data/other-pairs", RecipeTraining.For(own, new RecipePlan(own).Stage("mdlm-s0/adapt"), "/x").Data);
        // Only one of the two departures: from the fine-tuned model, on the corpus.
        var fromSft = paper with { Recipe = paper.Recipe! with { AdaptFrom = RecipeAdaptSource.Sft } };
        var onCorpus = RecipeTraining.For(fromSft, new RecipePlan(fromSft).Stage("null-s0/adapt"), "/x");
        Assert.Equal((false, "/data/prepared", Path.Combine("/x", "runs", "ar-sft", "model")), (onCorpus.Sft, onCorpus.Data, onCorpus.InitQwen));
    }

    [Fact]
    public void Every_evaluation_carries_the_configured_decoding_options_and_the_report_names_them()
    {
        var config = Recipe() with
        {
            Temperature = 0.2, EvalOrder = AnCoder.Diffusion.Sampling.UnmaskOrder.LeftToRight, EvalParallel = 1.0, EvalGuard = AnCoder.Diffusion.Sampling.DecodingGuard.Prefix,
            EvalRepetitionPenalty = 1.2, EvalFrequencyPenalty = 1.0,
            Recipe = Recipe().Recipe! with { ArRepetitionPenalty = 1.3, ArFrequencyPenalty = 0.5, ArGuard = AnCoder.Diffusion.Sampling.DecodingGuard.Prefix, AdaptFrom = RecipeAdaptSource.Sft, AdaptOnPairs = true },
        };
        Assert.Empty(config.Validate());
        var plan = new RecipePlan(config);
        var ar = RecipeRunner.SettingsFor(config, plan.Evals.First(e => e.Autoregressive));
        Assert.Equal((AnCoder.Diffusion.Sampling.DecodingGuard.Prefix, 1.3, 0.5), (ar.Guard, ar.RepetitionPenalty, ar.FrequencyPenalty));
        var anchored = RecipeRunner.SettingsFor(config, plan.Evals.First(e => e.Stage == "anchortree-s0/sft"));
        Assert.Equal((AnCoder.Diffusion.Sampling.DecodingGuard.Prefix, 1.2, 1.0), (anchored.Guard, anchored.RepetitionPenalty, anchored.FrequencyPenalty));
        Assert.Equal((AnCoder.Diffusion.Sampling.UnmaskOrder.LeftToRight, (double?)1.0, "none", 0.2), (anchored.Order, anchored.Parallel, anchored.Remask, anchored.Temperature));
        // Parallel steps never remask: the Null row is the two-stage row's evaluation, sampled once.
        var rows = plan.Rows.ToDictionary(r => r.Key);
        Assert.Equal(rows["mdlm-two-stage"].Members.Select(m => m.HumanEval), rows["null"].Members.Select(m => m.HumanEval));
        Assert.Single(plan.Evals, e => e.Stage == "null-s0/sft" && e.Benchmark == "humaneval");
        Assert.All(plan.Evals.Where(e => !e.Autoregressive), e => Assert.EndsWith("-remask-none", e.Folder));
        Assert.Equal(new RecipePlan(config with { EvalParallel = null }).Evals.Count - 2 * config.Seeds, plan.Evals.Count);

        string report = RecipeReport.Markdown(config, plan, RecipeRunner.Collect(plan, _dir, null), "ancoder repro --test");
        Assert.Contains("unmask order `lefttoright`, confidence-parallel τ_p = 1 (network calls adapt; 1 = one token per call), repetition penalty θ = 1.2, frequency penalty α = 1, viable-prefix guard, no remasking in any row, so the Null row is the MDLM two-stage row's evaluation", report);
        Assert.Contains("top-p 0.95, repetition penalty θ = 1.3, frequency penalty α = 0.5, viable-prefix guard, KV cache", report);
        Assert.Contains("it starts from the fine-tuned AR model (ar-sft) and trains on the SFT pairs with the prompt never masked.", report);
        Assert.Contains("Training precision fp32, evaluation precision fp32; torch threads per process: torch's default. ", report);
        var bf16 = config with
        {
            Training = config.Training with { Precision = Precision.Bf16, Threads = 1 }, EvalPrecision = Precision.Bf16,
            Recipe = config.Recipe! with { ArBase = new JsonObject { ["max_steps"] = 2, ["threads"] = 2 }, Sft = new JsonObject { ["threads"] = 3 } },
        };
        Assert.Equal("Training precision bf16, evaluation precision bf16; torch threads per process: 1 (stage sections: ar_base 2, sft 3). ",
            RecipeReport.PrecisionAndThreads(bf16));
        // The paper's layout and sampler: no such clauses.
        string paper = RecipeReport.Markdown(Recipe(), new RecipePlan(Recipe()), RecipeRunner.Collect(new RecipePlan(Recipe()), _dir, null), "ancoder repro --test");
        Assert.DoesNotContain("penalty θ", paper);
        Assert.DoesNotContain("penalty α", paper);
        Assert.DoesNotContain("departs from the paper's layout", paper);
        Assert.Contains("remasking `cap:0.1` for Null/Keyword/Identifier/AnchorTree", paper);
    }

    [Fact]
    public void Out_of_range_penalties_are_one_line_config_problems_naming_their_field()
    {
        var bad = Recipe() with
        {
            EvalRepetitionPenalty = 0.5, EvalFrequencyPenalty = -1,
            Recipe = Recipe().Recipe! with { ArRepetitionPenalty = double.PositiveInfinity, ArFrequencyPenalty = double.NaN },
        };
        var problems = bad.Validate();
        Assert.Contains("eval_repetition_penalty must be a number >= 1 (got 0.5)", problems);
        Assert.Contains("eval_frequency_penalty must be a number >= 0 (got -1)", problems);
        var recipeProblems = (bad with { EvalRepetitionPenalty = 1, EvalFrequencyPenalty = 0 }).Validate();
        Assert.Contains(recipeProblems, p => p.StartsWith("recipe.ar_repetition_penalty must be a number >= 1", StringComparison.Ordinal));
        Assert.Contains(recipeProblems, p => p.StartsWith("recipe.ar_frequency_penalty must be a number >= 0", StringComparison.Ordinal));
        Assert.All(problems.Concat(recipeProblems), p => Assert.DoesNotContain('\n', p));
    }

    [Fact]
    public void The_full_recipe_example_is_docs_recipe_7_to_10_in_repro_s_stage_layout()
    {
        string root = FindRepositoryRoot();
        var config = ReproConfig.Load(Path.Combine(root, "examples", "repro-recipe-full.json"));
        Assert.Empty(config.Validate());
        var plan = new RecipePlan(config);
        Assert.Equal(2 + 5 * 3 * 2, plan.Stages.Count);
        Assert.Equal("ar-sft", plan.Stage("mdlm-s0/adapt").Input);
        var arSft = RecipeTraining.For(config, plan.Stage("ar-sft"), "/x");
        Assert.Equal((1680L, 384, 3e-4), (arSft.MaxSteps!.Value, arSft.ContextLength, arSft.LearningRate));
        var adapt = RecipeTraining.For(config, plan.Stage("mdlm-s0/adapt"), "/x");
        Assert.Equal((true, 384, 1e-4, 1e-4, true), (adapt.Sft, adapt.ContextLength, adapt.LearningRate, adapt.PretrainedLearningRate!.Value, adapt.Shift));
        Assert.EndsWith(Path.Combine("data", "sft-both"), adapt.Data);
        var diffusion = RecipeRunner.SettingsFor(config, plan.Evals.First(e => !e.Autoregressive));
        Assert.Equal((AnCoder.Diffusion.Sampling.UnmaskOrder.LeftToRight, (double?)1.0, 1.2, 1.0, AnCoder.Diffusion.Sampling.DecodingGuard.Prefix),
            (diffusion.Order, diffusion.Parallel, diffusion.RepetitionPenalty, diffusion.FrequencyPenalty, diffusion.Guard));
        var ar = RecipeRunner.SettingsFor(config, plan.Evals.First(e => e.Autoregressive));
        Assert.Equal((128, 0.2, 1.2, AnCoder.Diffusion.Sampling.DecodingGuard.Prefix), (ar.Length, ar.Temperature, ar.RepetitionPenalty, ar.Guard));
        var again = ReproConfig.Parse(config.ToJson(), "config.json");
        Assert.Equal((RecipeAdaptSource.Sft, true), (again.Recipe!.AdaptFrom, again.Recipe.AdaptOnPairs));
    }

    [Fact]
    public void The_bf16_recipe_example_trains_the_ar_stages_on_two_threads_and_everything_in_bf16()
    {
        var config = ReproConfig.Load(Path.Combine(FindRepositoryRoot(), "examples", "repro-recipe-bf16.json"));
        Assert.Empty(config.Validate());
        var plan = new RecipePlan(config);
        // The Table 1 stages, then each seed's MDLM continued from 300 to 600, 900 and 1,200 diffusion steps.
        Assert.Equal(2 + 5 * 3 * 2 + 3 * 3, plan.Stages.Count);
        Assert.Equal([300L, 300L, 300L], plan.Stages.Where(s => s.Name.StartsWith("mdlm-s2/longer-", StringComparison.Ordinal)).Select(s => s.Steps!.Value));
        // The AR checkpoints at 500 … 2,500 are kept for the curve (both AR stages checkpoint every 100 steps).
        Assert.Equal([500L, 1000L, 1500L, 2000L, 2500L], config.Recipe!.CurveSteps);
        var arBase = RecipeTraining.For(config, plan.Stage("ar-base"), "/x");
        var arSft = RecipeTraining.For(config, plan.Stage("ar-sft"), "/x");
        var adapt = RecipeTraining.For(config, plan.Stage("anchortree-s2/adapt"), "/x");
        var sft = RecipeTraining.For(config, plan.Stage("anchortree-s2/sft"), "/x");
        Assert.Equal((3000L, 2, Precision.Bf16), (arBase.MaxSteps!.Value, arBase.Threads, arBase.Precision));
        Assert.Equal((1100L, 384, 2), (arSft.MaxSteps!.Value, arSft.ContextLength, arSft.Threads));
        Assert.Equal((100L, 1, Precision.Bf16, "ar-sft"), (adapt.MaxSteps!.Value, adapt.Threads, adapt.Precision, plan.Stage("anchortree-s2/adapt").Input));
        Assert.Equal((200L, 1), (sft.MaxSteps!.Value, sft.Threads));
        Assert.Equal(Precision.Bf16, config.EvalPrecision);
        Assert.Equal("Training precision bf16, evaluation precision bf16; torch threads per process: 1 (stage sections: ar_base 2, ar_sft 2). ",
            RecipeReport.PrecisionAndThreads(config));
    }

    [Fact]
    public void Two_workers_claim_an_item_exclusively_and_a_dead_worker_s_claim_is_taken_over()
    {
        var alive = new HashSet<int> { 101, 102 };
        var a = new WorkClaims(_dir, new ClaimOwner(101, 1), o => alive.Contains(o.ProcessId));
        var b = new WorkClaims(_dir, new ClaimOwner(102, 2), o => alive.Contains(o.ProcessId));
        using (var claim = a.TryClaim("runs/null-s0/adapt"))
        {
            Assert.NotNull(claim);
            Assert.Null(b.TryClaim("runs/null-s0/adapt"));
            Assert.True(b.HeldByOther("runs/null-s0/adapt"));
            Assert.False(a.HeldByOther("runs/null-s0/adapt"));
            Assert.NotNull(b.TryClaim("runs/null-s0/sft"));
        }
        // Released: B gets it; A does not while B lives.
        var held = b.TryClaim("runs/null-s0/adapt");
        Assert.NotNull(held);
        Assert.Null(a.TryClaim("runs/null-s0/adapt"));
        // B is killed (its lock stays behind): A takes it over, exactly once.
        alive.Remove(102);
        Assert.Equal(new ClaimOwner(102, 2), a.Holder("runs/null-s0/adapt"));
        using var takenOver = a.TryClaim("runs/null-s0/adapt");
        Assert.NotNull(takenOver);
        Assert.Equal(new ClaimOwner(101, 1), a.Holder("runs/null-s0/adapt"));
        var c = new WorkClaims(_dir, new ClaimOwner(103, 3), o => alive.Contains(o.ProcessId));
        Assert.Null(c.TryClaim("runs/null-s0/adapt"));
        // A dead worker's release does not remove the new owner's lock.
        held!.Dispose();
        Assert.Equal(new ClaimOwner(101, 1), a.Holder("runs/null-s0/adapt"));
    }

    [Fact]
    public void A_lock_of_this_process_with_another_start_time_is_a_reused_pid_and_counts_as_dead()
    {
        Assert.True(ClaimOwner.IsAlive(ClaimOwner.Current));
        Assert.False(ClaimOwner.IsAlive(ClaimOwner.Current with { StartTicks = ClaimOwner.Current.StartTicks - TimeSpan.TicksPerHour }));
        var stale = new WorkClaims(_dir, ClaimOwner.Current with { StartTicks = 5 });
        Assert.NotNull(stale.TryClaim("x"));
        Assert.NotNull(new WorkClaims(_dir, ClaimOwner.Current).TryClaim("x"));
    }

    [Fact]
    public void Done_stages_are_not_redone_and_the_report_is_written_from_the_folder()
    {
        var config = Recipe(seeds: 1, variants: [AnchorStrategy.Mdlm, AnchorStrategy.Null]) with { HumanevalProblems = 0, MbppProblems = 0 };
        var plan = new RecipePlan(config);
        foreach (var stage in plan.Stages)
        {
            Directory.CreateDirectory(Path.Combine(_dir, stage.ModelFolder));
            File.WriteAllText(Path.Combine(_dir, stage.ModelFolder, "model.safetensors"), "not a model: never read when the stage is done");
        }
        var progress = new RecordingProgress();
        Assert.Equal(ReproOutcome.Completed, RecipeRunner.Run(config, _dir, "ancoder repro --test", progress, CancellationToken.None, null));
        Assert.DoesNotContain(progress.Lines, l => l.StartsWith("train ", StringComparison.Ordinal));
        string report = File.ReadAllText(Path.Combine(_dir, "REPORT.md"));
        Assert.Contains("## Table 1", report);
        Assert.Contains("| null-s0/adapt | completed |", report);
        string locks = Path.Combine(_dir, RecipeRunner.LocksFolder);
        Assert.False(Directory.Exists(locks) && Directory.EnumerateFiles(locks).Any(), "no work was claimed");
    }

    [Fact]
    public void A_stage_folder_that_another_trainer_writes_right_now_counts_as_busy()
    {
        string stage = Path.Combine(_dir, "runs", "ar-base");
        Directory.CreateDirectory(stage);
        Assert.False(RecipeRunner.RecentlyActive(stage, TimeSpan.FromMinutes(3)));
        File.WriteAllText(Path.Combine(stage, "metrics.jsonl"), "{}\n");
        Assert.True(RecipeRunner.RecentlyActive(stage, TimeSpan.FromMinutes(3)));
        Assert.False(RecipeRunner.RecentlyActive(stage, TimeSpan.Zero));
        File.SetLastWriteTimeUtc(Path.Combine(stage, "metrics.jsonl"), DateTime.UtcNow.AddHours(-1));
        Assert.False(RecipeRunner.RecentlyActive(stage, TimeSpan.FromMinutes(3)));
    }

    /// <summary>Writes an evaluation's summary.json: <paramref name="valid"/> of <paramref name="problems"/> syntax-valid, <paramref name="passed"/> passed, n = 1.</summary>
    private void Summary(RecipeEval eval, int problems, int valid, int nonTrivial, int passed)
    {
        var rows = Enumerable.Range(0, problems).Select(i => new ProblemSummary($"T/{i}", 1, i < passed ? 1 : 0, i < valid ? 1 : 0,
            new Dictionary<string, double> { ["pass@1"] = i < passed ? 1 : 0 }, i < nonTrivial ? 1 : 0)).ToList();
        var summary = new EvaluationSummary(eval.Benchmark, problems, problems, problems, passed, problems - passed, 0, problems - valid,
            valid / (double)problems, new Dictionary<string, double?> { ["pass@1"] = passed / (double)problems }, rows, nonTrivial / (double)problems);
        string folder = Path.Combine(_dir, eval.Folder);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "summary.json"), JsonSerializer.Serialize(summary));
    }

    [Fact]
    public void Report_rows_come_from_the_folder_and_the_null_model_counts_twice_with_its_two_remaskings()
    {
        var config = Recipe(seeds: 2, variants: [AnchorStrategy.Mdlm, AnchorStrategy.Null, AnchorStrategy.AnchorTree]) with { HumanevalProblems = 10, MbppProblems = 0 };
        var plan = new RecipePlan(config);
        var rows = plan.Rows.ToDictionary(r => r.Key);
        // HumanEval syntax-valid counts out of 10 per seed: null without remasking 2, 4; with cap 0.1: 5, 6; anchortree 7, 9; mdlm 1, 1.
        Summary(rows["mdlm-two-stage"].Members[0].HumanEval!, 10, 2, 1, 0);
        Summary(rows["mdlm-two-stage"].Members[1].HumanEval!, 10, 4, 2, 1);
        Summary(rows["null"].Members[0].HumanEval!, 10, 5, 3, 1);
        Summary(rows["null"].Members[1].HumanEval!, 10, 6, 3, 1);
        Summary(rows["anchortree"].Members[0].HumanEval!, 10, 7, 4, 2);
        Summary(rows["anchortree"].Members[1].HumanEval!, 10, 9, 5, 2);
        Summary(rows["mdlm-one-network"].Members[0].HumanEval!, 10, 1, 0, 0);
        Summary(rows["mdlm-one-network"].Members[1].HumanEval!, 10, 1, 0, 0);
        foreach (var member in rows["ar-sft"].Members) Summary(member.HumanEval!, 10, 7, 6, 3);

        // Reference NLLs: the null model's two seeds 2.0 and 2.4; the AR model (three sampling seeds, one model) 1.5; none for anchortree.
        void Nll(string stage, double perToken) => new ReferenceNllResult("m", "humaneval", 64, [new ProblemNll("HumanEval/0", 10, 10 * perToken)])
            .Write(Path.Combine(_dir, "runs", stage));
        Nll("null-s0/sft", 2.0);
        Nll("null-s1/sft", 2.4);
        Nll("ar-sft", 1.5);

        var results = RecipeRunner.Collect(plan, _dir, null);
        Assert.Equal("2.200 ± 0.200", RecipeReport.ReferenceNllCell(rows["null"], results));
        Assert.Equal("2.200 ± 0.200", RecipeReport.ReferenceNllCell(rows["mdlm-two-stage"], results));   // the same models
        Assert.Equal("1.500", RecipeReport.ReferenceNllCell(rows["ar-sft"], results));
        Assert.Equal("–", RecipeReport.ReferenceNllCell(rows["anchortree"], results));
        var twoStage = RecipeReport.Scores(rows["mdlm-two-stage"], results);
        var nullRow = RecipeReport.Scores(rows["null"], results);
        Assert.Equal(0.3, twoStage.HumanEvalSyntax.Mean, 12);
        Assert.Equal(0.1, twoStage.HumanEvalSyntax.StandardError, 12); // values 0.2, 0.4: s = 0.1414, / √2
        Assert.Equal(0.55, nullRow.HumanEvalSyntax.Mean, 12);
        Assert.Equal(0.1, nullRow.HumanEvalPass1.Mean, 12);
        Assert.Equal(0.3, nullRow.HumanEvalNonTrivial.Mean, 12);
        Assert.Equal(3, RecipeReport.Scores(rows["ar-sft"], results).HumanEvalSyntax.Count);
        // Paired within seed: anchortree − null = (0.2, 0.3): mean 0.25, SE 0.05.
        var paired = RecipeReport.Paired(rows["anchortree"], rows["null"], results, "humaneval", "syntax");
        Assert.Equal(0.25, paired.Mean, 12);
        Assert.Equal(0.05, paired.StandardError, 12);

        string report = RecipeReport.Markdown(config, plan, results, "ancoder repro --test");
        Assert.Contains("| MDLM two-stage (null model, remask none) | 2 | 30.00 ± 10.00 | 65.58 |", report);
        Assert.Contains("| Null | 2 | 55.00 ± 5.00 | 72.24 |", report);
        Assert.Contains("| *AR base (+ SFT)* (gray) | 3 | 70.00 ± 0.00 | 93.90 |", report);
        Assert.Contains("| AnchorTree − Null | 25.00 ± 5.00 |", report);
        Assert.Contains("- AnchorTree above Null on HumanEval syntax validity (paper 74.72 vs 72.24): holds here, 80.00 vs 55.00 %, difference +25.00 ± 5.00 (paired within seeds), beyond 2 SE.", report);
        Assert.Contains("AnchorTree above MDLM two-stage (null model, remask none) on MBPP syntax validity (paper 80.12 vs 74.46): not measured here.", report);
        Assert.Contains("AR base (+ SFT) above AnchorTree on HumanEval syntax validity (paper 93.90 vs 74.72): does not hold here", report);
    }

    [Fact]
    public void Saved_AR_checkpoints_in_the_curve_folder_are_evaluated_and_reported_against_training_tokens()
    {
        var config = Recipe(seeds: 1, variants: [AnchorStrategy.Null]) with { HumanevalProblems = 10, MbppProblems = 0 };
        var plan = new RecipePlan(config);
        foreach (var name in new[] { "ar-base-200", "ar-base-400", "ar-sft-100", "notes", "ar-base-600" })
        {
            Directory.CreateDirectory(Path.Combine(_dir, "curve", name));
            if (name != "ar-base-600") File.WriteAllText(Path.Combine(_dir, "curve", name, "model.safetensors"), "weights");
        }
        var checkpoints = plan.CurveCheckpoints(_dir);
        // Folders without weights or with other names are not checkpoints.
        Assert.Equal([("ar-base", 200L), ("ar-base", 400L), ("ar-sft", 100L)], checkpoints.Select(c => (c.Stage, c.Step)));
        Assert.Equal(Path.Combine("curve-eval", "ar-base-400", "humaneval-seed0"), checkpoints[1].HumanEval.Folder);
        Assert.Equal(Path.Combine("curve", "ar-base-400"), checkpoints[1].HumanEval.ModelFolder);

        Directory.CreateDirectory(Path.Combine(_dir, "runs", "ar-base"));
        File.WriteAllText(Path.Combine(_dir, "runs", "ar-base", "config.json"),
            (new ReproConfig().Training with { MicroBatch = 16, ContextLength = 256, Output = "x", Data = "y", MaxSteps = 1000 }).ToJson());
        Summary(checkpoints[0].HumanEval, 10, 3, 1, 0);
        Summary(checkpoints[1].HumanEval, 10, 5, 2, 0);
        var results = RecipeRunner.Collect(plan, _dir, null);
        Assert.Equal([(200L, 200.0 * 4096, 0.1), (400L, 400.0 * 4096, 0.2)], results.Curve!.Select(p => (p.Step, p.Tokens, p.NonTrivial!.Value)));
        string report = RecipeReport.Markdown(config, plan, results, "repro");
        Assert.Contains("| ar-base | 400 | 1,638,400 | – | 50.0 | 20.0 |", report);
        // 0.1 at 2^k tokens, 0.2 at 2^(k+1): 0.1 per doubling, 50 % three doublings after 400 steps: 8× the tokens.
        Assert.Contains("predicts 50 % at about 13,107,200 tokens (8.0× the 1,638,400 trained)", report);
    }

    private static ReproConfig Longer(params int[] totals) =>
        Recipe(seeds: 2, variants: [AnchorStrategy.Mdlm, AnchorStrategy.AnchorTree]) with
        {
            HumanevalProblems = 10, MbppProblems = 0,
            Recipe = Recipe().Recipe! with { LongerSteps = totals },
        };

    [Fact]
    public void Longer_steps_continue_each_seed_of_the_chosen_row_and_add_one_row_per_total()
    {
        // Table 1's models train 150 (adapt) + 120 (sft) = 270 diffusion steps; longer_steps continues the MDLM to 540, then 810.
        var config = Longer(540, 810);
        Assert.Equal(270, RecipeTraining.TableSteps(config));
        Assert.Empty(config.Validate());
        var plan = new RecipePlan(config);
        var longer = plan.Stages.Where(s => s.Kind == RecipeStageKind.Longer).ToList();
        Assert.Equal(["mdlm-s0/longer-540", "mdlm-s0/longer-810", "mdlm-s1/longer-540", "mdlm-s1/longer-810"], longer.Select(s => s.Name));
        Assert.Equal(["mdlm-s0/sft", "mdlm-s0/longer-540", "mdlm-s1/sft", "mdlm-s1/longer-540"], longer.Select(s => s.Input));
        Assert.All(longer, s => Assert.Equal(270L, s.Steps));
        // After every Table 1 stage, so an interrupted experiment has Table 1 first.
        Assert.True(plan.Stages.ToList().IndexOf(longer[0]) > plan.Stages.ToList().IndexOf(plan.Stage("anchortree-s1/sft")));

        // The sft section's settings, the steps up to the total, from the previous model, pairs and masks with seed s + N.
        var training = RecipeTraining.For(config, plan.Stage("mdlm-s1/longer-810"), "/x");
        Assert.Equal((true, 270L, 1 + 810, AnchorStrategy.Mdlm), (training.Sft, training.MaxSteps!.Value, training.Seed, training.Strategy));
        Assert.Equal(Path.Combine("/x", "runs", "mdlm-s1", "longer-540", "model"), training.Init);
        Assert.Equal("/data/sft", training.Data);

        // One row per total, the MDLM one-network row's evaluation (no remasking) of the continued models.
        var rows = plan.Rows.Where(r => r.LongerOf is not null).ToList();
        Assert.Equal([("mdlm-one-network-540", 540L), ("mdlm-one-network-810", 810L)], rows.Select(r => (r.Key, r.TotalSteps!.Value)));
        Assert.Equal("MDLM one-network, 810 steps (longer)", rows[1].Label);
        Assert.All(rows, r => Assert.Equal(("mdlm-one-network", "none"), (r.LongerOf!, r.Remask)));
        Assert.Equal(Path.Combine("runs", "mdlm-s1", "longer-810", "eval", "humaneval-T64-remask-none"), rows[1].Members[1].HumanEval!.Folder);
        Assert.Contains(plan.Evals, e => e.Folder == rows[1].Members[1].HumanEval!.Folder);
        // The paired comparisons and orderings of the paper do not involve them.
        Assert.DoesNotContain(RecipeReport.PairedComparisons, p => p.A.EndsWith("810", StringComparison.Ordinal) || p.B.EndsWith("810", StringComparison.Ordinal));
    }

    [Fact]
    public void Longer_steps_that_do_not_rise_above_table_1_s_or_name_a_missing_variant_are_one_line_config_problems()
    {
        Assert.Contains("recipe.longer_steps must rise above the 270 diffusion steps of Table 1's models (adapt + sft); got [270, 540]", Longer(270, 540).Validate());
        Assert.Contains("recipe.longer_steps must rise above the 270 diffusion steps of Table 1's models (adapt + sft); got [810, 540]", Longer(810, 540).Validate());
        var missing = Longer(540) with { Recipe = Longer(540).Recipe! with { LongerVariant = AnchorStrategy.Keyword } };
        Assert.Contains("recipe.longer_variant keyword is not among the variants", missing.Validate());
        var parsed = ReproConfig.Parse("""{"recipe": {"adapt": {"max_steps": 10}, "sft": {"max_steps": 20}, "longer_steps": [60, 90], "longer_variant": "null"}}""", "c.json");
        Assert.Equal([60, 90], parsed.Recipe!.LongerSteps);
        Assert.Equal(AnchorStrategy.Null, parsed.Recipe.LongerVariant);
    }

    [Fact]
    public void The_report_shows_the_longer_row_against_diffusion_tokens_and_says_where_it_reaches_25_percent()
    {
        var config = Longer(540, 810);
        var plan = new RecipePlan(config);
        var rows = plan.Rows.ToDictionary(r => r.Key);
        // HumanEval non-trivial out of 10 per seed: 270 steps 1, 1; 540 steps 2, 3; 810 steps 4, 4.
        foreach (var (key, counts) in new[] { ("mdlm-one-network", new[] { 1, 1 }), ("mdlm-one-network-540", [2, 3]), ("mdlm-one-network-810", [4, 4]) })
            for (int seed = 0; seed < 2; seed++) Summary(rows[key].Members[seed].HumanEval!, 10, 6, counts[seed], 0);
        var collected = RecipeRunner.Collect(plan, _dir, null);
        // 1,000 tokens per step; an MDLM token costs 1 MFLOP, an anchored one 2.5.
        StageResult Stage(PlannedStage s) => new(s.Name, RecipeTraining.SectionName(s.Kind), AnchorWeightOptions.Name(s.Variant ?? AnchorStrategy.Mdlm), s.Seed,
            RunStatus.Completed, 0, 1000.0 * (s.Steps ?? (s.Kind == RecipeStageKind.Adapt ? 150 : 120)), 1, 1, 1, 1,
            s.Variant == AnchorStrategy.AnchorTree ? 2.5e6 : 1e6, []);
        var results = collected with { Stages = plan.Stages.Where(s => s.Variant is not null).Select(Stage).ToList() };

        var points = RecipeReport.LongerPoints(plan, results);
        Assert.Equal([(270L, 270_000.0), (540L, 540_000.0), (810L, 810_000.0)], points.Select(p => (p.TotalSteps, p.Tokens.Mean)));
        string report = RecipeReport.Markdown(config, plan, results, "repro");
        Assert.Contains("## Longer training: MDLM one-network against diffusion training tokens", report);
        // An anchored row's training per seed: 270,000 tokens × 2.5 MFLOPs = 0.675 TFLOPs; the MDLM at 810 steps 0.810 = 1.20×.
        Assert.Contains("| MDLM one-network, 810 steps (longer) | 810 | 810,000 | 0.810 | 1.20 | 60.00 ± 0.00 | 40.00 ± 0.00 |", report);
        Assert.Contains("| MDLM one-network | 270 | 270,000 | 0.270 | 0.40 |", report);
        Assert.Contains("- 810 against 270 steps, paired within seeds: HumanEval non-trivial validity +30.00 ± 0.00 points.", report);
        Assert.Contains("- Reaches 25 % non-trivial validity on HumanEval (issue 16's target for the best diffusion row) at 540 diffusion steps, 25.00 ± 5.00 % over 2 seeds, "
            + "after 540,000 diffusion tokens (0.80× the training FLOPs of an anchored row at Table 1's steps).", report);
        // The equal-steps compute reading still counts stages 1 + 3 only.
        Assert.Contains("- mdlm: 1.00 MFLOPs per token, 0.270 TFLOPs per seed", report);
        // Below the target the fit speaks instead: 10 % at 270k tokens and 20 % at 540k predict 25 % at 2^0.5 × 540k.
        Assert.Equal("- MDLM one-network: a log-linear fit of non-trivial validity against log2(tokens) through 2 points rises +10.00 points per doubling of tokens, "
            + "and predicts 25 % at about 763,675 tokens (1.4× the 540,000 trained); an extrapolation, not a measurement.",
            RecipeReport.CurveSentence("MDLM one-network", [(270_000, 0.1), (540_000, 0.2)], RecipeReport.DiffusionValidityTarget));
    }

    [Fact]
    public void The_curve_keeper_copies_each_wanted_AR_checkpoint_once_as_it_appears_and_nothing_else()
    {
        string run = Path.Combine(_dir, "runs", "ar-base");
        void Checkpoint(long step)
        {
            string folder = Path.Combine(run, "checkpoints", $"step-{step:D7}");
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "model.safetensors"), $"weights {step}");
            File.WriteAllText(Path.Combine(folder, "config.json"), "{}");
        }
        Checkpoint(100);
        Checkpoint(200);
        var keeper = new RecipeCurveKeeper(run, Path.Combine(_dir, "curve"), "ar-base", [100, 300]);
        Assert.Empty(keeper.CopyNew(reached: 99)); // before the first wanted step it does not look
        Assert.Equal([Path.Combine(_dir, "curve", "ar-base-100")], keeper.CopyNew(reached: 100));
        Assert.Equal("weights 100", File.ReadAllText(Path.Combine(_dir, "curve", "ar-base-100", "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(_dir, "curve", "ar-base-100", "config.json")));
        Assert.Empty(keeper.CopyNew()); // copied once; 200 is not wanted
        Checkpoint(300);
        Assert.Equal([Path.Combine(_dir, "curve", "ar-base-300")], keeper.CopyNew());
        Assert.Equal(["ar-base-100", "ar-base-300"], Directory.GetDirectories(Path.Combine(_dir, "curve")).Select(Path.GetFileName).Order());
        // A resumed stage does not copy again what the curve already holds.
        Assert.Empty(new RecipeCurveKeeper(run, Path.Combine(_dir, "curve"), "ar-base", [100, 300]).CopyNew());
        // Only the AR stages keep curve checkpoints, and only when steps are given.
        var config = Recipe() with { Recipe = Recipe().Recipe! with { CurveSteps = [100] } };
        var plan = new RecipePlan(config);
        Assert.NotNull(RecipeCurveKeeper.For(config, plan.Stage("ar-sft"), _dir));
        Assert.Null(RecipeCurveKeeper.For(config, plan.Stage("mdlm-s0/sft"), _dir));
        Assert.Null(RecipeCurveKeeper.For(Recipe(), plan.Stage("ar-base"), _dir));
    }

    [Fact]
    public void A_curve_step_where_an_AR_stage_writes_no_checkpoint_is_a_config_problem()
    {
        var config = Recipe() with { Recipe = Recipe().Recipe! with { CurveSteps = [400, 450, 5000] } };
        // checkpoint_interval 200 (repro's default training section); ar_base trains 1,000 steps, ar_sft 600: 5,000 is past both.
        Assert.Equal(["recipe.curve_steps: step 450 is not a multiple of recipe.ar_base's checkpoint_interval 200, so no checkpoint is written there",
                      "recipe.curve_steps: step 450 is not a multiple of recipe.ar_sft's checkpoint_interval 200, so no checkpoint is written there"],
            config.Validate().Where(p => p.StartsWith("recipe.curve_steps", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_helper_worker_runs_the_same_command_without_workers_and_with_the_helper_flag()
    {
        Assert.Equal(["repro", "--config", "c.json", "--out", "o", "--worker"],
            ReproWorkers.HelperArguments(["repro", "--config", "c.json", "--workers", "2", "--out", "o"]));
        Assert.Equal(["repro", "--worker"], ReproWorkers.HelperArguments(["repro", "--workers=3", "--worker"]));
    }

    [Fact]
    public void The_log_linear_fit_finds_the_tokens_at_which_validity_reaches_a_target()
    {
        Assert.Equal(16e6, SampleStatistics.TokensToReach([(1e6, 0.1), (2e6, 0.2)], 0.5), 3);
        Assert.Equal(4e6, SampleStatistics.TokensToReach([(1e6, 0.1), (2e6, 0.2), (4e6, 0.3)], 0.3), 3);
        Assert.True(double.IsNaN(SampleStatistics.TokensToReach([(1e6, 0.3), (2e6, 0.2)], 0.5)));
        Assert.True(double.IsNaN(SampleStatistics.TokensToReach([(1e6, 0.3)], 0.5)));
        // The report's sentence: 10 points per doubling from 10 % at 1M tokens reaches 50 % at 16M (4 doublings) ...
        Assert.Equal("- ar: a log-linear fit of non-trivial validity against log2(tokens) through 2 points rises +10.00 points per doubling of tokens, "
            + "and predicts 50 % at about 16,000,000 tokens (8.0× the 2,000,000 trained); an extrapolation, not a measurement.",
            RecipeReport.CurveSentence("ar", [(1e6, 0.1), (2e6, 0.2)]));
        // ... but 0.1 points per doubling would need 2^400× the tokens: no figure is printed.
        Assert.Equal("- ar: a log-linear fit of non-trivial validity against log2(tokens) through 2 points rises +0.10 points per doubling of tokens: "
            + "at that rate 50 % lies more than 1,024× beyond the 2,000,000 tokens trained, too far for these points to predict.",
            RecipeReport.CurveSentence("ar", [(1e6, 0.010), (2e6, 0.011)]));
        Assert.Contains("it does not rise", RecipeReport.CurveSentence("ar", [(1e6, 0.02), (2e6, 0.01)]));
    }

    [Fact]
    public void The_validation_figure_names_each_kind_of_stage_once_and_fades_later_seeds()
    {
        StageResult Stage(string name, string kind, string variant, int seed) => new(name, kind, variant, seed, RunStatus.Completed, 100, 1e5,
            1, 2, 2, 2, null, [new ValidationPoint(50, 5e4, 2.5), new ValidationPoint(100, 1e5, 2.4)]);
        var results = new RecipeResults(
        [
            Stage("mdlm-s0/sft", "sft", "mdlm", 0), Stage("mdlm-s0/longer-600", "longer", "mdlm", 0), Stage("mdlm-s0/longer-900", "longer", "mdlm", 0),
            Stage("mdlm-s1/sft", "sft", "mdlm", 1), Stage("mdlm-s1/longer-600", "longer", "mdlm", 1), Stage("mdlm-s1/longer-900", "longer", "mdlm", 1),
        ], []);
        var figure = RecipeReport.ValidationFigure(results)!;
        Assert.Equal(6, figure.Series.Count);
        Assert.Equal(["mdlm sft", "mdlm longer"], figure.Series.Where(s => s.Label != null).Select(s => s.Label!));
        Assert.Equal([false, false, false, true, true, true], figure.Series.Select(s => s.Faint));
        Assert.Equal([LineStyle.Dashed, LineStyle.Dashed, LineStyle.Dashed, LineStyle.Dashed, LineStyle.Dashed, LineStyle.Dashed], figure.Series.Select(s => s.Style));
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "AnCoder.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }
}
