using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Settings;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Training;

namespace AnCoder.Experiments.Repro;

/// <summary>ρ and d0 of one AnchorTree sweep point.</summary>
public sealed record RhoD0(
    [property: JsonPropertyName("rho")] double Rho,
    [property: JsonPropertyName("d0")] int D0);

/// <summary>
/// The experiment of <c>ancoder repro</c> (snake_case JSON, every field optional; saved resolved as OUT/config.json).
/// Training: every run uses the same preset, data, context, batch, learning rate and steps, and seed index s uses
/// training seed s for every variant (same initialisation seed and data order). Evaluation: the first K problems of
/// HumanEval and MBPP, n samples each, the paper's temperature and remasking (docs/algorithms.md §7, §9, §10).
/// </summary>
public sealed record ReproConfig
{
    /// <summary>The training settings every run shares (a <see cref="TrainingConfig"/>; strategy, λ ρ d0, seed, steps
    /// and output folder are set per run). Defaults: the tiny preset at a CPU-scale learning rate; the rest, precision
    /// included (fp32), are <see cref="TrainingConfig"/>'s.</summary>
    public TrainingConfig Training { get; init; } = new()
    {
        Model = "tiny", LearningRate = 1e-3, ValidationInterval = 0, ValidationBatches = 16,
        CheckpointInterval = 200, KeepLast = 1,
    };
    /// <summary>The main comparison (Table 1).</summary>
    public AnchorStrategy[] Variants { get; init; } = Enum.GetValues<AnchorStrategy>();
    /// <summary>Seeds per variant (training seeds 0..K−1).</summary>
    public int Seeds { get; init; } = 3;
    /// <summary>Optimizer steps per run; null = derived from the budget (see <see cref="TrainShare"/>) by timing a few steps.</summary>
    public long? Steps { get; init; }
    /// <summary>Wall-clock budget of the whole experiment in minutes (used when <see cref="Steps"/> is null).</summary>
    public double BudgetMinutes { get; init; } = 120;
    /// <summary>Share of the budget given to training; the rest is left for evaluation.</summary>
    public double TrainShare { get; init; } = 0.6;
    /// <summary>Steps timed to derive the step count from the budget.</summary>
    public int CalibrationSteps { get; init; } = 6;

    /// <summary>First K HumanEval problems evaluated (0 = skip HumanEval).</summary>
    public int HumanevalProblems { get; init; } = 40;
    /// <summary>First K MBPP problems evaluated (0 = skip MBPP).</summary>
    public int MbppProblems { get; init; } = 40;
    /// <summary>Samples per problem (the paper: HumanEval 20, MBPP 10).</summary>
    public int HumanevalN { get; init; } = 5;
    public int MbppN { get; init; } = 5;
    /// <summary>T of the main table.</summary>
    public int EvalSteps { get; init; } = 64;
    /// <summary>G: generated tokens per sample.</summary>
    public int EvalLength { get; init; } = 128;
    public double Temperature { get; init; } = 0.8;
    /// <summary>Remasking of anchored models (MDLM always samples without remasking, as the paper's baseline).</summary>
    public string AnchoredRemask { get; init; } = "cap:0.1";
    public int EvalSeed { get; init; }
    /// <summary>Unmask order of every evaluation (random = the paper's; confidence, margin, entropy, anchor).</summary>
    public AnCoder.Diffusion.Sampling.UnmaskOrder EvalOrder { get; init; } = AnCoder.Diffusion.Sampling.UnmaskOrder.Random;
    /// <summary>Confidence-parallel threshold τ of every evaluation (null = the paper's T steps); implies no remasking.</summary>
    public double? EvalParallel { get; init; }
    /// <summary>Syntax-repair rounds of every evaluation (0 = off, the paper's sampler).</summary>
    public int EvalRepair { get; init; }
    /// <summary>Decoding guard of every evaluation (none = off, the paper's sampler; prefix = the viable-prefix guard).</summary>
    public AnCoder.Diffusion.Sampling.DecodingGuard EvalGuard { get; init; }
    /// <summary>Repetition penalty θ of every diffusion evaluation (1 = off, the paper's sampler; docs/algorithms.md §7).</summary>
    public double EvalRepetitionPenalty { get; init; } = 1.0;
    /// <summary>Frequency penalty α of every diffusion evaluation (0 = off, the paper's sampler; docs/algorithms.md §7).</summary>
    public double EvalFrequencyPenalty { get; init; }
    public int EvalBatch { get; init; } = 20;
    public Precision EvalPrecision { get; init; } = Precision.Fp32;
    /// <summary>Seconds per program in the sandbox.</summary>
    public double Timeout { get; init; } = 3.0;

    /// <summary>T values of the T-scaling tables (Tables 2–3); empty = skip.</summary>
    public int[] TScaling { get; init; } = [16, 32, 64, 128];
    /// <summary>Variants the T-scaling evaluates (every seed).</summary>
    public AnchorStrategy[] TScalingVariants { get; init; } = [AnchorStrategy.Mdlm, AnchorStrategy.AnchorTree];
    /// <summary>λ values of the anchor-weight ablation (Table 5); empty = skip.</summary>
    public double[] LambdaAblation { get; init; } = [0.001, 0.003, 0.01, 0.03, 0.1];
    public AnchorStrategy[] LambdaStrategies { get; init; } = [AnchorStrategy.Keyword, AnchorStrategy.Identifier, AnchorStrategy.AnchorTree];
    /// <summary>AnchorTree ρ/d0 points (the paper's values are lost); empty = skip.</summary>
    public RhoD0[] RhoD0Sweep { get; init; } = [new(0.8, 2), new(0.6, 2), new(0.9, 2), new(0.8, 1), new(0.8, 3)];
    /// <summary>Seeds of the ablation and sweep runs (they are evaluated at T = eval_steps).</summary>
    public int AblationSeeds { get; init; } = 1;

    /// <summary>Variants whose main runs (every seed) get the AST probe (§4.2, docs/algorithms.md §8); empty = skip.</summary>
    public AnchorStrategy[] ProbeVariants { get; init; } = [AnchorStrategy.Mdlm, AnchorStrategy.AnchorTree];
    /// <summary>Held-out samples per probe (the test split of the prepared corpus; the same samples for every model).</summary>
    public int ProbeSamples { get; init; } = 100;
    /// <summary>Chain length K of the probe.</summary>
    public int ProbeK { get; init; } = 4;

    /// <summary>
    /// The paper's recipe (docs/recipe.md §4): an AR base, its SFT, then adaptation and SFT of every variant × seed,
    /// evaluated as the paper's Table 1. Null: the from-scratch experiment (the fields from t_scaling on apply only to it).
    /// </summary>
    public RecipeConfig? Recipe { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, SettingsJson.Options);

    /// <summary>Keys that configs written before <see cref="Training"/> existed held at the top level (the
    /// committed docs/repro/*/config.json are such files); <see cref="Parse"/> moves them into "training".</summary>
    private static readonly Dictionary<string, string> FlatTrainingKeys = new()
    {
        ["preset"] = "model", ["data"] = "data", ["context_length"] = "context_length", ["micro_batch"] = "micro_batch",
        ["learning_rate"] = "learning_rate", ["warmup_ratio"] = "warmup_ratio", ["precision"] = "precision", ["threads"] = "threads",
        ["validation_interval"] = "validation_interval", ["validation_batches"] = "validation_batches",
        ["log_interval"] = "log_interval", ["checkpoint_interval"] = "checkpoint_interval",
    };

    /// <summary>Parses a config (fields missing from "training" keep this type's defaults); a malformed file or an
    /// unknown field is a <see cref="ConfigException"/> naming the file.</summary>
    public static ReproConfig Parse(string text, string source)
    {
        try
        {
            var root = JsonNode.Parse(text) as JsonObject ?? throw new ConfigException($"{source}: expected a JSON object");
            var training = JsonSerializer.SerializeToNode(new ReproConfig().Training, SettingsJson.Options)!.AsObject();
            if (root["training"] is JsonObject given)
                foreach (var (key, value) in given.ToList()) training[key] = value?.DeepClone();
            foreach (var (flat, key) in FlatTrainingKeys)
                if (root.Remove(flat, out var value)) training[key] = value?.DeepClone();
            root["training"] = training;
            return SettingsJson.Parse<ReproConfig>(root.ToJsonString(), source);
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            throw new ConfigException(e is FormatException ? e.Message : $"{source}: {e.Message}");
        }
    }

    /// <summary>Reads a config file; a relative model_config_file is taken relative to the file's folder.</summary>
    public static ReproConfig Load(string path) =>
        RecipeTraining.ResolvePaths(Parse(ConfigException.ReadFile(path), path), Path.GetDirectoryName(Path.GetFullPath(path))!);

    /// <summary>Problems with this config, each naming its field; empty when usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        void AtLeast(string name, double value, double min) { if (!(value >= min)) problems.Add($"{name} must be at least {min} (got {value})"); }
        if (Variants.Length == 0) problems.Add("variants must name at least one of " + SettingNames.Choices<AnchorStrategy>());
        if (Variants.Distinct().Count() != Variants.Length) problems.Add("variants lists a variant twice");
        foreach (var v in LambdaStrategies.Where(v => v is AnchorStrategy.Mdlm or AnchorStrategy.Null))
            problems.Add($"lambda_strategies: '{SettingNames.Name(v)}' has no anchor weight to ablate");
        AtLeast("seeds", Seeds, 1);
        AtLeast("probe_samples", ProbeSamples, 0);
        AtLeast("probe_k", ProbeK, 1);
        AtLeast("ablation_seeds", AblationSeeds, 1);
        if (Steps is { } steps) AtLeast("steps", steps, 1);
        else AtLeast("budget_minutes", BudgetMinutes, 0.01);
        if (!(TrainShare > 0 && TrainShare <= 1)) problems.Add($"train_share must be in (0, 1] (got {TrainShare})");
        AtLeast("calibration_steps", CalibrationSteps, 1);
        AtLeast("training.context_length", Training.ContextLength, 8);
        problems.AddRange(Training.Validate().Where(p => !p.StartsWith("max_steps", StringComparison.Ordinal) && !p.StartsWith("data ", StringComparison.Ordinal)
                                                       && !p.StartsWith("output ", StringComparison.Ordinal)).Select(p => "training." + p));
        AtLeast("humaneval_problems", HumanevalProblems, 0);
        AtLeast("mbpp_problems", MbppProblems, 0);
        AtLeast("humaneval_n", HumanevalN, 1);
        AtLeast("mbpp_n", MbppN, 1);
        AtLeast("eval_steps", EvalSteps, 1);
        AtLeast("eval_length", EvalLength, 1);
        AtLeast("temperature", Temperature, 0);
        AtLeast("eval_batch", EvalBatch, 1);
        if (!(Timeout > 0)) problems.Add($"timeout must be positive (got {Timeout})");
        foreach (var t in TScaling.Where(t => t < 1)) problems.Add($"t_scaling: {t} must be at least 1");
        foreach (var l in LambdaAblation.Where(l => !(l >= 0))) problems.Add($"lambda_ablation: {l} must be >= 0");
        foreach (var p in RhoD0Sweep)
        {
            if (!(p.Rho > 0 && p.Rho <= 1)) problems.Add($"rho_d0_sweep: rho {p.Rho} must be in (0, 1]");
            if (p.D0 < 0) problems.Add($"rho_d0_sweep: d0 {p.D0} must be >= 0");
        }
        if (EvalParallel is { } tau && !(tau >= 0 && tau <= 1)) problems.Add($"eval_parallel must be in [0, 1] (got {tau})");
        AtLeast("eval_repair", EvalRepair, 0);
        if (!(EvalRepetitionPenalty >= 1) || double.IsInfinity(EvalRepetitionPenalty))
            problems.Add($"eval_repetition_penalty must be a number >= 1 (got {EvalRepetitionPenalty})");
        if (!(EvalFrequencyPenalty >= 0) || double.IsInfinity(EvalFrequencyPenalty))
            problems.Add($"eval_frequency_penalty must be a number >= 0 (got {EvalFrequencyPenalty})");
        try
        {
            AnCoder.Diffusion.Sampling.RemaskOptions.Parse(AnchoredRemask);
        }
        catch (FormatException e)
        {
            problems.Add("anchored_remask: " + e.Message);
        }
        if (Recipe is not null && problems.Count == 0) problems.AddRange(RecipeTraining.Validate(this));
        return problems;
    }
}
