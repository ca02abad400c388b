using System.Text.Json.Nodes;
using AnCoder.Anchoring.Labels;
using AnCoder.Diffusion.Training;
using AnCoder.Diffusion.Checkpoints;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Sampling;
using AnCoder.Experiments.Models;
using AnCoder.Experiments.Repro;

namespace AnCoder.Experiments.Tests;

/// <summary>
/// <c>ancoder repro --engine torch</c>: the training stages run in the PyTorch engine (python/ancoder_torch, Debian's
/// /usr/bin/python3 with python3-torch, as CI installs it), evaluation and the report in .NET, on a tiny model with
/// two optimizer steps per stage: the recipe (AR base, its SFT, adaptation and SFT of MDLM and Null, whose adaptation
/// uses ψ's depth, shift, identity init and the pretrained learning rate) and the from-scratch experiment.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class TorchEngineReproTests(TinyCorpus corpus) : IClassFixture<TinyCorpus>
{
    private static TorchEngineOptions Torch() =>
        new(Path.Combine(RepositoryPaths.FindRoot() ?? throw new InvalidOperationException("repository root not found"), "python"));

    /// <summary>A stage folder the torch engine trained: PyTorch's optimizer state in its checkpoints, never TorchSharp's.</summary>
    private static void AssertTrainedByTorch(string run)
    {
        var checkpoints = Directory.GetDirectories(Path.Combine(run, "checkpoints"), "step-*");
        Assert.NotEmpty(checkpoints);
        Assert.All(checkpoints, c => Assert.True(File.Exists(Path.Combine(c, TrainingCheckpoints.TorchOptimizerFile)), $"{c}: no optimizer.pt"));
        Assert.All(checkpoints, c => Assert.False(File.Exists(Path.Combine(c, TrainingCheckpoints.OptimizerFile)), $"{c}: TorchSharp optimizer state"));
        Assert.True(File.Exists(Path.Combine(run, "model", "model.safetensors")), run);
    }

    /// <summary>
    /// Issue 20: what `sample` and `eval --model` run on (<see cref="LoadedModel.TryLoad"/>, then the AR sampler or the
    /// prompt sampler) gives the same samples, same seed, on a model folder the torch engine wrote as on the same weights
    /// saved by the C# side.
    /// </summary>
    private void AssertVerbsSampleTorchFoldersAsCSharpFolders(string output, IReadOnlyList<string> stages)
    {
        string[] prompts = ["def add(a, b):\n"];
        foreach (var stage in stages)
        {
            string torchModel = Path.Combine(output, "runs", stage, "model");
            string csharpModel = Path.Combine(corpus.Root, "resaved-" + stage.Replace('/', '-') + "-" + Guid.NewGuid().ToString("N"));
            using (var weights = ModelCheckpoint.Load(torchModel)) ModelCheckpoint.Save(weights, csharpModel);
            Assert.True(LoadedModel.TryLoad(torchModel, Precision.Fp32, out var fromTorch, out var error), error);
            Assert.True(LoadedModel.TryLoad(csharpModel, Precision.Fp32, out var fromCsharp, out error), error);
            using (fromTorch!.Model)
            using (fromCsharp!.Model)
            {
                List<string> Samples(LoadedModel model) => model.Model is CausalLmModel
                    ? model.GenerateAutoregressive(prompts, new AutoregressiveOptions { Temperature = 1.0, MaxNewTokens = 12 }, 3, 3, 7, out _)
                        .Select(s => s.Completion).ToList()
                    : model.CreateSampler(model.DefaultOptions(null) with { Steps = 4 })
                        .Generate(prompts, new GenerationOptions { Length = 12, SamplesPerPrompt = 3, Seed = 7 })
                        .Select(s => string.Join(",", s.Ids)).ToList();
                var expected = Samples(fromCsharp);
                Assert.Equal(3, expected.Count);
                Assert.Equal(expected, Samples(fromTorch));
            }
        }
    }

    [Fact]
    public void A_tiny_recipe_with_the_torch_engine_trains_every_stage_in_PyTorch_and_writes_the_report()
    {
        var config = RecipeDriverTests.TinyRecipeConfig(corpus, arSamplingSeeds: 1);
        string output = Path.Combine(corpus.Root, "recipe-torch");
        var progress = new RecordingProgress();
        Assert.Equal(ReproOutcome.Completed, ReproRunner.Run(config, output, "ancoder repro --engine torch", progress, torch: Torch()));

        var plan = new RecipePlan(config);
        foreach (var stage in plan.Stages) AssertTrainedByTorch(Path.Combine(output, stage.Folder));
        Assert.Equal(["ar-base", "ar-sft", "mdlm-s0/adapt", "mdlm-s0/sft", "null-s0/adapt", "null-s0/sft", "mdlm-s0/longer-6"],
            progress.Lines.Where(l => l.StartsWith("train ", StringComparison.Ordinal)).Select(l => l["train ".Length..]));
        Assert.True(progress.MaxAdvance >= 2, "the engine's step lines reach the progress bar");
        // The AR stages are Hugging Face Qwen2 folders; the adaptation starts from the AR base made bidirectional by the
        // C# import (RUN/initial-model) and keeps the two learning rates.
        Assert.Contains("\"model_type\": \"qwen2\"", File.ReadAllText(Path.Combine(output, "runs", "ar-sft", "model", "config.json")));
        string adapt = Path.Combine(output, "runs", "null-s0", "adapt");
        var handed = JsonNode.Parse(File.ReadAllText(Path.Combine(adapt, TrainingRun.ConfigFileName)))!.AsObject();
        Assert.Equal(Path.Combine(adapt, TorchEngine.InitialModelFolder), handed["init"]!.GetValue<string>());
        Assert.Equal(3e-4, handed["pretrained_learning_rate"]!.GetValue<double>());
        Assert.Contains("\"shift\": true", File.ReadAllText(Path.Combine(adapt, "model", "config.json")));
        Assert.Contains("\"denoiser_layers\": 1", File.ReadAllText(Path.Combine(adapt, "model", "config.json")));
        foreach (var eval in plan.Evals) Assert.True(RecipeRunner.EvalDone(eval, output), eval.Folder);
        AssertVerbsSampleTorchFoldersAsCSharpFolders(output, ["ar-sft", "null-s0/sft"]);

        var results = RecipeResults.FromJson(File.ReadAllText(Path.Combine(output, "results.json")));
        Assert.All(results.Stages, s => Assert.Equal(RunStatus.Completed, s.Status));
        Assert.All(results.Stages, s => Assert.Equal(2, s.Steps));
        string report = File.ReadAllText(Path.Combine(output, "REPORT.md"));
        foreach (var row in plan.Rows) Assert.Contains($"| {(row.Autoregressive ? $"*{row.Label}* (gray)" : row.Label)} | ", report);
        Assert.Contains("ancoder repro --engine torch", report);
    }

    [Fact]
    public void A_tiny_from_scratch_experiment_with_the_torch_engine_trains_each_run_in_PyTorch_and_writes_the_report()
    {
        var config = new ReproConfig
        {
            Training = new ReproConfig().Training with { Model = "tiny", Data = corpus.Data, ContextLength = 64, MicroBatch = 4, Threads = 1, ValidationBatches = 2, LogInterval = 1 },
            Variants = [AnchorStrategy.Mdlm, AnchorStrategy.AnchorTree], Seeds = 1, Steps = 3, HumanevalProblems = 1, HumanevalN = 1, MbppProblems = 0,
            EvalSteps = 4, EvalLength = 16, TScaling = [], LambdaAblation = [], RhoD0Sweep = [], ProbeSamples = 0,
        };
        string output = Path.Combine(corpus.Root, "scratch-torch");
        Assert.Equal(ReproOutcome.Completed, ReproRunner.Run(config, output, "ancoder repro --engine torch --nproc 2", new RecordingProgress(), torch: Torch() with { Processes = 2 }));

        foreach (var run in new[] { "mdlm-s0", "anchortree-s0" })
        {
            AssertTrainedByTorch(Path.Combine(output, "runs", run));
            Assert.Single(File.ReadLines(Path.Combine(output, "runs", run, "eval", "humaneval-T4", "results.jsonl")));
        }
        var results = ReproResults.FromJson(File.ReadAllText(Path.Combine(output, ReproResults.FileName)));
        Assert.All(results.Runs, r => Assert.Equal(RunStatus.Completed, r.Status));
        Assert.All(results.Runs, r => Assert.True(double.IsFinite(r.FinalValidNelbo), $"{r.Name}: no validation NELBO"));
        string report = File.ReadAllText(Path.Combine(output, "REPORT.md"));
        Assert.Contains("## Table 1: main comparison", report);
        Assert.Contains("\n| anchortree | ", report);
    }
}
