using AnCoder.Experiments.Generation;
using System.Text.Json.Nodes;
using AnCoder.Anchoring.Labels;
using AnCoder.Experiments.Repro;

namespace AnCoder.Experiments.Tests;

/// <summary>
/// The recipe end to end on a tiny model: AR base and its SFT, adaptation and SFT of MDLM and Null (one seed), two
/// optimizer steps per stage, two HumanEval problems and one MBPP problem × 1 sample per evaluation, then again.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class RecipeDriverTests(TinyCorpus corpus) : IClassFixture<TinyCorpus>
{
    private ReproConfig Config() => TinyRecipeConfig(corpus, arSamplingSeeds: 2);

    /// <summary>The tiny recipe of the driver tests (tiny model, MDLM and Null, one seed, two steps per stage).</summary>
    internal static ReproConfig TinyRecipeConfig(TinyCorpus corpus, int arSamplingSeeds) => new()
    {
        Training = new ReproConfig().Training with
        {
            Model = "tiny", Data = corpus.Data, ContextLength = 128, MicroBatch = 2, Threads = 1, ValidationBatches = 1, ValidationInterval = 1,
            LogInterval = 1, CheckpointInterval = 1,
        },
        Variants = [AnchorStrategy.Mdlm, AnchorStrategy.Null], Seeds = 1, HumanevalProblems = 2, HumanevalN = 1, MbppProblems = 1, MbppN = 1,
        EvalSteps = 4, EvalLength = 16, EvalBatch = 4,
        Recipe = new RecipeConfig
        {
            ArBase = new JsonObject { ["max_steps"] = 2 },
            ArSft = new JsonObject { ["max_steps"] = 2 },
            Adapt = new JsonObject { ["max_steps"] = 2, ["shift"] = true, ["denoiser_init"] = "identity", ["denoiser_layers"] = 1, ["pretrained_learning_rate"] = 3e-4 },
            // Two threads for the last stages: the evaluations after them must still run at training.threads.
            Sft = new JsonObject { ["max_steps"] = 2, ["threads"] = 2 },
            SftData = corpus.SftData, ArSamplingSeeds = arSamplingSeeds, ReferenceNllProblems = 2,
            LongerSteps = [6], // the MDLM continued from 2 + 2 steps to 6
            CurveSteps = [1], // the AR stages' step-1 checkpoints kept for the curve
        },
    };

    [Fact]
    public void A_tiny_recipe_trains_every_stage_evaluates_every_row_and_redoes_nothing_the_second_time()
    {
        string output = Path.Combine(corpus.Root, "recipe");
        var config = Config();
        var progress = new RecordingProgress();
        Assert.Equal(ReproOutcome.Completed, ReproRunner.Run(config, output, "ancoder repro --recipe-test", progress));
        // The SFT stages trained with two threads; the evaluations after them set the experiment's one back.
        Assert.Equal(1, TorchSharp.torch.get_num_threads());

        var plan = new RecipePlan(config);
        foreach (var stage in plan.Stages)
            Assert.True(File.Exists(Path.Combine(output, stage.ModelFolder, "model.safetensors")), stage.Name);
        // The AR stages are Hugging Face Qwen2 folders; the adapted ones ours.
        Assert.Contains("\"model_type\": \"qwen2\"", File.ReadAllText(Path.Combine(output, "runs", "ar-sft", "model", "config.json")));
        Assert.Equal(["ar-base", "ar-sft", "mdlm-s0/adapt", "mdlm-s0/sft", "null-s0/adapt", "null-s0/sft", "mdlm-s0/longer-6"],
            progress.Lines.Where(l => l.StartsWith("train ", StringComparison.Ordinal)).Select(l => l["train ".Length..]));
        foreach (var eval in plan.Evals)
            Assert.True(RecipeRunner.EvalDone(eval, output), eval.Folder);
        // The null model is sampled twice: without remasking (MDLM two-stage) and with cap 0.1 (Null).
        Assert.Contains("\"remask\": \"none\"", File.ReadAllText(Path.Combine(output, "runs", "null-s0", "sft", "eval", "humaneval-T4-remask-none", "generation.json")));
        Assert.Contains("\"remask\": \"cap:0.1\"", File.ReadAllText(Path.Combine(output, "runs", "null-s0", "sft", "eval", "humaneval-T4", "generation.json")));
        Assert.Contains("\"top_p\": 0.95", File.ReadAllText(Path.Combine(output, "runs", "ar-sft", "eval", "humaneval-seed1", "generation.json")));

        var results = RecipeResults.FromJson(File.ReadAllText(Path.Combine(output, "results.json")));
        Assert.All(results.Stages, s => Assert.Equal(RunStatus.Completed, s.Status));
        Assert.All(results.Stages, s => Assert.Equal(2, s.Steps));
        // The continuation starts from the MDLM's SFT model and draws its pairs with seed 0 + 6.
        var longer = AnCoder.Diffusion.Training.TrainingConfig.Load(Path.Combine(output, "runs", "mdlm-s0", "longer-6", "config.json"));
        Assert.Equal((Path.Combine(output, "runs", "mdlm-s0", "sft", "model"), 6), (longer.Init, longer.Seed));
        Assert.All(results.Stages, s => Assert.NotEmpty(s.Validation));
        // Every Table 1 model scored its references once (the null model's two evaluations share one file); stage 1 has none.
        foreach (var stage in new[] { "ar-sft", "ar-base", "mdlm-s0/sft", "null-s0/sft" })
            Assert.InRange(results.Stage(stage)!.ReferenceNll!.Value, 0.5, 20);
        Assert.Null(results.Stage("null-s0/adapt")!.ReferenceNll);
        Assert.Equal(2, ReferenceNll.Read(Path.Combine(output, "runs", "null-s0", "sft"))!.Problems.Count);
        // An anchored step costs more than an MDLM step (two networks).
        Assert.True(results.Stage("null-s0/adapt")!.FlopsPerToken > results.Stage("mdlm-s0/adapt")!.FlopsPerToken);
        string report = File.ReadAllText(Path.Combine(output, "REPORT.md"));
        foreach (var row in plan.Rows) Assert.Contains($"| {(row.Autoregressive ? $"*{row.Label}* (gray)" : row.Label)} | ", report);
        Assert.Contains("**Equal FLOPs**", report);
        Assert.Contains("## The paper's orderings here", report);
        Assert.Contains("## Validation loss against training tokens", report);
        Assert.Contains("## Example samples", report);
        // The AR stages' checkpoints at step 1 were kept as they trained and evaluated: the curve has them beside the final models.
        Assert.Equal([("ar-base", 1L), ("ar-base", 2L), ("ar-sft", 1L), ("ar-sft", 2L)], results.Curve!.Select(p => (p.Stage, p.Step)));
        Assert.Contains("## HumanEval validity against training tokens (AR stages)", report);
        Assert.Contains("| MDLM one-network, 6 steps (longer) | 6 | ", report);
        // Its tokens are the whole diffusion training of its model: stage 1 + stage 3 + the continuation.
        var points = RecipeReport.LongerPoints(plan, results);
        Assert.Equal(new[] { "mdlm-s0/adapt", "mdlm-s0/sft", "mdlm-s0/longer-6" }.Sum(s => results.Stage(s)!.Tokens), points[1].Tokens.Mean);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(Path.Combine(output, "plots", "validation_by_stage.png")).Take(4));

        // Again: every stage and evaluation is done; nothing is trained or sampled, the journals stay as they are.
        string journal = Path.Combine(output, "runs", "null-s0", "sft", "eval", "humaneval-T4", "results.jsonl");
        string before = File.ReadAllText(journal);
        var again = new RecordingProgress();
        Assert.Equal(ReproOutcome.Completed, ReproRunner.Run(config, output, "ancoder repro --recipe-test", again));
        Assert.DoesNotContain(again.Lines, l => l.StartsWith("train ", StringComparison.Ordinal) || l.StartsWith("eval ", StringComparison.Ordinal));
        Assert.Equal(before, File.ReadAllText(journal));
    }
}
