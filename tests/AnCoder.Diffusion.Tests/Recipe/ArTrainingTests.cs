using AnCoder.Anchoring.Runs;
using System.Text.Json;
using AnCoder.Diffusion.Checkpoints;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Tests.Training;
using AnCoder.Diffusion.Training;

namespace AnCoder.Diffusion.Tests.Recipe;

/// <summary><c>train --objective ar</c> and the adaptation runs from its folder (docs/recipe.md §1, §3) on the toy corpus.</summary>
[Collection(TorchCollection.Name)]
public sealed class ArTrainingTests(ToyCorpus toy) : IClassFixture<ToyCorpus>
{
    private TrainingConfig Ar(string name, long steps) => toy.Config(name, steps) with { Objective = Objective.Ar };

    private static byte[] FinalWeights(TrainingConfig config) =>
        File.ReadAllBytes(Path.Combine(config.Output!, TrainingRun.FinalModelDirectory, ModelCheckpoint.WeightsFileName));

    [Fact]
    public void Ar_run_learns_the_toy_sequences_and_writes_a_Hugging_Face_folder()
    {
        var config = Ar("ar", 40) with { ValidationInterval = 40, LogInterval = 10 };
        var summary = TrainingRun.Run(config);
        Assert.Equal(TrainingStatus.Completed, summary.Status);
        var lines = File.ReadAllLines(Path.Combine(config.Output!, MetricsRecord.FileName)).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal("ar", lines[^1].GetProperty("strategy").GetString());
        Assert.Equal(0, lines[^1].GetProperty("anchor_nll").GetDouble());
        // The toy samples count upwards: the next token is determined by the current one, so the next-token NLL
        // drops far below a uniform guess (ln 64 = 4.16).
        Assert.True(summary.LastValidNelbo < 1.5, $"valid NLL {summary.LastValidNelbo}");
        Assert.True(lines[^1].GetProperty("loss").GetDouble() < 0.5 * lines[0].GetProperty("loss").GetDouble());

        using var configJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(summary.ModelDirectory!, "config.json")));
        Assert.Equal("qwen2", configJson.RootElement.GetProperty("model_type").GetString());
        Assert.Equal("Qwen2ForCausalLM", configJson.RootElement.GetProperty("architectures")[0].GetString());
        using var model = ModelCheckpoint.Load(summary.ModelDirectory!);
        Assert.IsType<CausalLmModel>(model);
    }

    [Fact]
    public void Ar_resume_after_an_interruption_gives_bitwise_the_same_weights()
    {
        var straight = Ar("ar-straight", 6);
        TrainingRun.Run(straight);
        var split = Ar("ar-split", 6) with { CheckpointInterval = 2 };
        using var cancel = new CancellationTokenSource();
        Assert.Equal(TrainingStatus.Interrupted, TrainingRun.Run(split, new StopAtStep(3, cancel), cancel.Token).Status);
        Assert.Equal(TrainingStatus.Completed, TrainingRun.Run(split, resume: true).Status);
        Assert.Equal(FinalWeights(straight), FinalWeights(split));
    }

    [Fact]
    public void Adaptation_runs_start_from_the_AR_folder_with_every_option()
    {
        var ar = TrainingRun.Run(Ar("ar-base", 4));
        // φ = the AR model made bidirectional, ψ = its first layer, identity ψ, softmax+embed, shift, pretrained LR.
        var adapt = toy.Config("adapt", 2) with
        {
            InitQwen = ar.ModelDirectory, ModelConfigFile = null, DenoiserLayers = 1, DenoiserInit = DenoiserInit.Identity, DenoiserInput = DenoiserInput.SoftmaxEmbed,
            Shift = true, PretrainedLearningRate = 1e-4, AnchorLossOn = AnchorLossOn.Masked,
        };
        var summary = TrainingRun.Run(adapt);
        Assert.Equal(TrainingStatus.Completed, summary.Status);
        var config = ModelConfig.Load(Path.Combine(summary.ModelDirectory!, ModelCheckpoint.ConfigFileName));
        Assert.Equal((Architecture.Anchored, 1, true, DenoiserInput.SoftmaxEmbed, AnchorLossOn.Masked),
            (config.Architecture, config.DenoiserLayers, config.Shift, config.DenoiserInput, config.Diffusion.AnchorLossOn));

        // The one-network MDLM from the whole AR model, through --init (the AR folder is recognised as Hugging Face's).
        var mdlm = TrainingRun.Run(toy.Config("adapt-mdlm", 1) with { Init = ar.ModelDirectory, ModelConfigFile = null, Strategy = AnCoder.Anchoring.Labels.AnchorStrategy.Mdlm });
        Assert.Equal(Architecture.Mdlm, ModelConfig.Load(Path.Combine(mdlm.ModelDirectory!, ModelCheckpoint.ConfigFileName)).Architecture);

        // With identity init, ψ's residual outputs start at zero: right after the import, before any step.
        var start = TrainingRun.BuildModel(adapt, TrainingRun.Settings(adapt), TestManifest());
        using (start)
        {
            var anchored = Assert.IsType<AnchoredModel>(start);
            Assert.Equal(0, anchored.Denoiser.Layers[0].Attention.OutputProjection.Weight.abs().sum().item<float>());
            Assert.Equal(0, anchored.Denoiser.Layers[0].Mlp.DownProjection.Weight.abs().sum().item<float>());
            Assert.NotEqual(0, anchored.Anchor.Layers[0].Mlp.DownProjection.Weight.abs().sum().item<float>());
        }

        // Two AdamW groups (pretrained at 1e-4, ψ's zeroed projections at learning_rate) resume exactly.
        var straight = adapt with { Output = adapt.Output + "-straight", MaxSteps = 4 };
        TrainingRun.Run(straight);
        var split = adapt with { Output = adapt.Output + "-split", MaxSteps = 4, CheckpointInterval = 2 };
        using var cancel = new CancellationTokenSource();
        TrainingRun.Run(split, new StopAtStep(2, cancel), cancel.Token);
        TrainingRun.Run(split, resume: true);
        Assert.Equal(FinalWeights(straight), FinalWeights(split));

        // The groups' rates are real: with a negligible pretrained rate φ stays at the AR weights, ψ's zeroed projections move.
        var frozen = adapt with { Output = adapt.Output + "-frozen", PretrainedLearningRate = 1e-12, MaxSteps = 1 };
        var moved = TrainingRun.Run(frozen);
        using (TorchSharp.torch.NewDisposeScope())
        {
            var before = Safetensors.Read(Path.Combine(ar.ModelDirectory!, ModelCheckpoint.WeightsFileName));
            var after = Safetensors.Read(Path.Combine(moved.ModelDirectory!, ModelCheckpoint.WeightsFileName));
            Assert.True((before["model.layers.0.mlp.up_proj.weight"] - after["anchor.layers.0.mlp.up_proj.weight"]).abs().max().item<float>() < 1e-9);
            Assert.True(after["denoiser.layers.0.mlp.down_proj.weight"].abs().max().item<float>() > 1e-4);
        }

        var bad = toy.Config("bad", 1) with { Strategy = AnCoder.Anchoring.Labels.AnchorStrategy.Mdlm, DenoiserInit = DenoiserInit.Identity };
        Assert.Contains("denoiser_init 'identity' needs an anchored model", Assert.Throws<ConfigException>(() => TrainingRun.Run(bad)).Message);
    }

    private AnCoder.Anchoring.Corpus.ManifestConfig TestManifest() =>
        AnCoder.Anchoring.Corpus.CorpusBuilder.TryReadManifest(toy.Data)!.Config;
}
