using System.Text.Json;
using System.Text.Json.Nodes;
using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Settings;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Sampling;
using AnCoder.Diffusion.Training;

namespace AnCoder.Experiments.Repro;

/// <summary>
/// The paper's recipe (docs/recipe.md §4) as the <c>recipe</c> section of a <see cref="ReproConfig"/>: stage 0a an
/// autoregressive base, stage 0b its SFT (the gray row), then per variant and seed stage 1 adaptation from the AR base
/// (<c>init_qwen</c>) and stage 3 SFT. Each stage's training settings are the shared <c>training</c> section with the
/// stage's own fields (any <see cref="TrainingConfig"/> field, snake_case) on top; what defines a stage (objective,
/// strategy, init, sft, seed, output) is set by the recipe and cannot be overridden.
/// </summary>
public sealed record RecipeConfig
{
    /// <summary>Stage 0a (runs/ar-base): objective ar on the prepared corpus.</summary>
    public JsonObject ArBase { get; init; } = new();
    /// <summary>Stage 0b (runs/ar-sft): the AR base fine-tuned on the SFT pairs.</summary>
    public JsonObject ArSft { get; init; } = new();
    /// <summary>Stage 1 (runs/V-sS/adapt): AR → diffusion adaptation of every variant.</summary>
    public JsonObject Adapt { get; init; } = new();
    /// <summary>Stage 3 (runs/V-sS/sft): SFT of every adapted model.</summary>
    public JsonObject Sft { get; init; } = new();
    /// <summary>SFT pairs of stages 0b and 3 unless their section gives "data" (default &lt;repo&gt;/data/sft).</summary>
    public string? SftData { get; init; }
    /// <summary>Sampling temperature of the AR rows (0 = greedy).</summary>
    public double ArTemperature { get; init; } = 0.2;
    /// <summary>Nucleus top-p of the AR rows (the diffusion rows sample the full distribution, as the paper).</summary>
    public double ArTopP { get; init; } = 0.95;
    /// <summary>Sampling seeds of the AR rows (one model each; greedy decoding uses one, the others would repeat it).</summary>
    public int ArSamplingSeeds { get; init; } = 3;
    /// <summary>
    /// Most new tokens of an AR sample (null = eval_length). AR decoding stops at end-of-text or a stop sequence, so a
    /// longer cap costs little, while a diffusion canvas pays for every position at every step. AR evaluations have no
    /// T: they record T = this length, as `eval --model` does by default.
    /// </summary>
    public int? ArEvalLength { get; init; }
    /// <summary>CTRL repetition penalty θ of the AR rows (1 = off; docs/recipe.md §8 chose 1.2 with the guard).</summary>
    public double ArRepetitionPenalty { get; init; } = 1.0;
    /// <summary>Frequency penalty α of the AR rows (0 = off).</summary>
    public double ArFrequencyPenalty { get; init; }
    /// <summary>Decoding guard of the AR rows (none = off; prefix = the viable-prefix guard, docs/decoding.md).</summary>
    public DecodingGuard ArGuard { get; init; }
    /// <summary>
    /// The model stage 1 starts from: <c>base</c>, the AR base (the paper's: Qwen2.5-Coder is a base model), or <c>sft</c>,
    /// the fine-tuned AR model (docs/recipe.md §10's best diffusion row started there).
    /// </summary>
    public RecipeAdaptSource AdaptFrom { get; init; } = RecipeAdaptSource.Base;
    /// <summary>
    /// Stage 1 trains on the SFT pairs with the prompt never masked instead of the pre-training corpus (docs/recipe.md
    /// §10: the MDLM from SFT 4 was adapted on the pairs directly). Off = the paper's adaptation on the corpus.
    /// </summary>
    public bool AdaptOnPairs { get; init; }
    /// <summary>
    /// First K HumanEval problems whose reference solutions every Table 1 model scores by their left-to-right NLL
    /// (<c>ReferenceNll</c>, G = eval_length; docs/recipe.md §9), written to runs/STAGE/reference-nll.json when the
    /// model's HumanEval evaluation runs; a column of Table 1 that tells rows apart where validity cannot. 0 = off.
    /// </summary>
    public int ReferenceNllProblems { get; init; } = 30;
    /// <summary>Also evaluate runs/ar-base/model as the row "AR base, no SFT".</summary>
    public bool EvaluateArBase { get; init; } = true;

    /// <summary>
    /// Folder (relative to the experiment folder; "" = none) of saved AR checkpoints named ar-base-STEP / ar-sft-STEP,
    /// evaluated on HumanEval for the validity-against-training-tokens curve.
    /// </summary>
    public string CurveFolder { get; init; } = "curve";

    /// <summary>
    /// Steps at which the AR stages' checkpoints are copied into <see cref="CurveFolder"/> as the stage trains
    /// (<c>ar-base-STEP</c>, <c>ar-sft-STEP</c>; <c>RecipeCurveKeeper</c>), so the curve needs no script beside repro.
    /// Each must be a multiple of the stage's checkpoint_interval; steps beyond a stage's end are ignored. Empty = none.
    /// </summary>
    public IReadOnlyList<long> CurveSteps { get; init; } = [];

    /// <summary>
    /// Longer training for one diffusion row, beyond Table 1's equal steps (docs/recipe.md §4): after its SFT stage,
    /// each seed of <see cref="LongerVariant"/> is continued to these totals of diffusion steps (stage 1 + stage 3 +
    /// continuations, ascending; stage runs/V-sS/longer-N trains from the previous one with the sft section's settings)
    /// and evaluated like its row: the row's validity against diffusion training tokens. Empty = none.
    /// </summary>
    public IReadOnlyList<int> LongerSteps { get; init; } = [];
    /// <summary>The variant <see cref="LongerSteps"/> continues (mdlm: the one-network MDLM, the best row at equal steps so far).</summary>
    public AnchorStrategy LongerVariant { get; init; } = AnchorStrategy.Mdlm;

    /// <summary>Sampling seeds actually evaluated for an AR row.</summary>
    public int EffectiveArSeeds => ArTemperature == 0 ? 1 : ArSamplingSeeds;
}

/// <summary>The AR model the recipe's stage 1 starts from.</summary>
public enum RecipeAdaptSource { Base, Sft }

/// <summary>Which of the recipe's stages a training run is.</summary>
public enum RecipeStageKind { ArBase, ArSft, Adapt, Sft, Longer }

/// <summary>
/// The training config of each stage: shared <c>training</c> ⊕ the stage's section ⊕ the fields the recipe fixes.
/// </summary>
public static class RecipeTraining
{
    public static string SectionName(RecipeStageKind kind) => kind switch
    {
        RecipeStageKind.ArBase => "ar_base",
        RecipeStageKind.ArSft => "ar_sft",
        RecipeStageKind.Adapt => "adapt",
        RecipeStageKind.Longer => "longer",
        _ => "sft",
    };

    private static JsonObject Section(RecipeConfig recipe, RecipeStageKind kind) => kind switch
    {
        RecipeStageKind.ArBase => recipe.ArBase,
        RecipeStageKind.ArSft => recipe.ArSft,
        RecipeStageKind.Adapt => recipe.Adapt,
        _ => recipe.Sft, // a longer stage continues the SFT stage with its settings
    };

    /// <summary>The torch threads a stage section sets for itself (null: the training section's).</summary>
    public static int? SectionThreads(RecipeConfig recipe, RecipeStageKind kind) =>
        Section(recipe, kind)["threads"] is JsonValue value && value.TryGetValue<int>(out int threads) ? threads : null;

    /// <summary>
    /// The stage's training config, writing into OUT/<see cref="PlannedStage.Folder"/>. Fixed by the recipe:
    /// AR stages objective ar (no shift, ψ options unused); diffusion stages the variant's strategy and seed; stage 1
    /// <c>init_qwen</c> = the AR base's model; SFT stages sft = true, init = the previous stage's model, ψ copied
    /// as trained (denoiser_init copy: identity would zero the adapted ψ again) and the SFT data; MDLM has no ψ, so its
    /// ψ options go back to their defaults. A <see cref="ConfigException"/> names the section of a bad field.
    /// </summary>
    public static TrainingConfig For(ReproConfig config, PlannedStage stage, string output)
    {
        var recipe = config.Recipe ?? throw new InvalidOperationException("not a recipe experiment");
        var section = Section(recipe, stage.Kind);
        var node = JsonSerializer.SerializeToNode(config.Training, SettingsJson.Options)!.AsObject();
        foreach (var (key, value) in section) node[key] = value?.DeepClone();
        var merged = TrainingConfig.FromJson(node.ToJsonString(), "recipe." + SectionName(stage.Kind == RecipeStageKind.Longer ? RecipeStageKind.Sft : stage.Kind));
        string Model(string stageName) => Path.Combine(output, ReproRunner.RunsFolder, stageName, TrainingRun.FinalModelDirectory);
        var resolved = merged with
        {
            Output = Path.Combine(output, stage.Folder),
            MaxSteps = merged.MaxSteps is null && merged.MaxTokens is null ? config.Steps : merged.MaxSteps,
        };
        bool mdlm = stage.Variant == AnchorStrategy.Mdlm;
        // A section's own "data" wins; otherwise the stages that train on pairs read the recipe's SFT pairs.
        string? pairs = section.ContainsKey("data") ? resolved.Data : recipe.SftData ?? RepositoryPaths.DefaultSftData;
        return stage.Kind switch
        {
            RecipeStageKind.ArBase => resolved with
            {
                Objective = Objective.Ar, Sft = false, Init = null, InitQwen = null, Shift = false, DenoiserInit = DenoiserInit.Copy,
            },
            RecipeStageKind.ArSft => resolved with
            {
                Objective = Objective.Ar, Sft = true, Init = Model(stage.Input!), InitQwen = null, Shift = false, DenoiserInit = DenoiserInit.Copy,
                Data = pairs,
            },
            RecipeStageKind.Adapt => resolved with
            {
                Objective = Objective.Diffusion, Strategy = stage.Variant!.Value, Seed = stage.Seed, Sft = recipe.AdaptOnPairs, Init = null, InitQwen = Model(stage.Input!),
                DenoiserInit = mdlm ? DenoiserInit.Copy : resolved.DenoiserInit, DenoiserLayers = mdlm ? null : resolved.DenoiserLayers,
                DenoiserInput = mdlm ? DenoiserInput.Softmax : resolved.DenoiserInput,
                Data = recipe.AdaptOnPairs ? pairs : resolved.Data,
            },
            RecipeStageKind.Sft => Continued(resolved, stage.Seed),
            // A continuation draws pairs and masks with seed s + its total steps, so it does not replay the pairs the
            // SFT stage saw first (same seed = same data order).
            _ => Continued(resolved, stage.Seed + (int)stage.TotalSteps!.Value) with { MaxSteps = stage.Steps, MaxTokens = null },
        };

        TrainingConfig Continued(TrainingConfig settings, int seed) => settings with
        {
            Objective = Objective.Diffusion, Strategy = stage.Variant!.Value, Seed = seed, Sft = true, Init = Model(stage.Input!), InitQwen = null,
            DenoiserInit = DenoiserInit.Copy, DenoiserLayers = null, DenoiserInput = DenoiserInput.Softmax, Shift = false,
            Data = pairs,
        };
    }

    /// <summary>Problems of the recipe section (each stage's merged settings; data and folders are checked when it runs).</summary>
    public static IReadOnlyList<string> Validate(ReproConfig config)
    {
        var problems = new List<string>();
        var recipe = config.Recipe!;
        if (!(recipe.ArTemperature >= 0)) problems.Add($"recipe.ar_temperature must be >= 0 (got {recipe.ArTemperature})");
        if (!(recipe.ArTopP > 0 && recipe.ArTopP <= 1)) problems.Add($"recipe.ar_top_p must be in (0, 1] (got {recipe.ArTopP})");
        if (recipe.ArSamplingSeeds < 1) problems.Add($"recipe.ar_sampling_seeds must be at least 1 (got {recipe.ArSamplingSeeds})");
        if (!(recipe.ArRepetitionPenalty >= 1) || double.IsInfinity(recipe.ArRepetitionPenalty))
            problems.Add($"recipe.ar_repetition_penalty must be a number >= 1 (got {recipe.ArRepetitionPenalty})");
        if (recipe.ReferenceNllProblems < 0) problems.Add($"recipe.reference_nll_problems must be >= 0 (got {recipe.ReferenceNllProblems})");
        if (!(recipe.ArFrequencyPenalty >= 0) || double.IsInfinity(recipe.ArFrequencyPenalty))
            problems.Add($"recipe.ar_frequency_penalty must be a number >= 0 (got {recipe.ArFrequencyPenalty})");
        if (recipe.LongerSteps.Count > 0)
        {
            if (!config.Variants.Contains(recipe.LongerVariant))
                problems.Add($"recipe.longer_variant {AnchorWeightOptions.Name(recipe.LongerVariant)} is not among the variants");
            long? tableSteps = TableSteps(config);
            if (tableSteps is null) problems.Add("recipe.longer_steps needs max_steps (not max_tokens) in recipe.adapt and recipe.sft");
            else if (recipe.LongerSteps[0] <= tableSteps || recipe.LongerSteps.Zip(recipe.LongerSteps.Skip(1)).Any(p => p.Second <= p.First))
                problems.Add($"recipe.longer_steps must rise above the {tableSteps} diffusion steps of Table 1's models (adapt + sft); got [{string.Join(", ", recipe.LongerSteps)}]");
        }
        if (recipe.CurveSteps.Count > 0 && recipe.CurveFolder.Length == 0) problems.Add("recipe.curve_steps needs a curve_folder");
        foreach (var kind in new[] { RecipeStageKind.ArBase, RecipeStageKind.ArSft })
        {
            if (SettingsOf(config, kind) is not { } settings) continue; // its section's problem is reported below
            foreach (long step in recipe.CurveSteps.Where(step => step <= (settings.MaxSteps ?? long.MaxValue) && step % settings.CheckpointInterval != 0))
                problems.Add($"recipe.curve_steps: step {step} is not a multiple of recipe.{SectionName(kind)}'s checkpoint_interval {settings.CheckpointInterval}, so no checkpoint is written there");
        }
        var plan = new RecipePlan(config);
        foreach (var kind in Enum.GetValues<RecipeStageKind>().Where(kind => kind != RecipeStageKind.Longer)) // a longer stage is the sft section's
        {
            var stage = plan.Stages.FirstOrDefault(s => s.Kind == kind);
            if (stage is null) continue;
            try
            {
                var training = For(config, stage, "/experiment");
                problems.AddRange(training.Validate().Where(p => !p.StartsWith("data ", StringComparison.Ordinal))
                    .Select(p => $"recipe.{SectionName(kind)}: {p}"));
            }
            catch (ConfigException e)
            {
                problems.Add(e.Message);
            }
        }
        return problems;
    }

    /// <summary>
    /// Diffusion steps of a Table 1 model (stage 1 + stage 3, as <see cref="For"/> resolves them), null when a stage
    /// counts tokens instead of steps or its section is not valid (Validate reports that).
    /// </summary>
    public static long? TableSteps(ReproConfig config) =>
        SettingsOf(config, RecipeStageKind.Adapt)?.MaxSteps + SettingsOf(config, RecipeStageKind.Sft)?.MaxSteps;

    /// <summary>The settings every stage of <paramref name="kind"/> shares (what <see cref="For"/> resolves apart from the
    /// stage's own variant, seed and folders); null when its section is not valid (Validate reports that).</summary>
    private static TrainingConfig? SettingsOf(ReproConfig config, RecipeStageKind kind)
    {
        try
        {
            return For(config, new PlannedStage(SectionName(kind), kind, AnchorStrategy.Mdlm, 0, RecipePlan.ArBaseStage), "/experiment");
        }
        catch (ConfigException)
        {
            return null;
        }
    }

    /// <summary>A relative model_config_file (of "training" or a stage section) is relative to the config file's folder.</summary>
    public static ReproConfig ResolvePaths(ReproConfig config, string configFolder)
    {
        string? Resolve(string? path) => path is null || Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(configFolder, path));
        config = config with { Training = config.Training with { ModelConfigFile = Resolve(config.Training.ModelConfigFile) } };
        if (config.Recipe is not { } recipe) return config;
        JsonObject Fix(JsonObject section)
        {
            var copy = section.DeepClone().AsObject();
            if (copy["model_config_file"] is JsonValue value && value.TryGetValue<string>(out var file)) copy["model_config_file"] = Resolve(file);
            return copy;
        }
        return config with { Recipe = recipe with { ArBase = Fix(recipe.ArBase), ArSft = Fix(recipe.ArSft), Adapt = Fix(recipe.Adapt), Sft = Fix(recipe.Sft) } };
    }
}
