using System.Globalization;
using AnCoder.Anchoring.Labels;
using AnCoder.Diffusion.Training;

namespace AnCoder.Experiments.Repro;

/// <summary>
/// One training stage of the recipe, trained into OUT/runs/<see cref="Name"/> (ar-base, ar-sft, V-sS/adapt,
/// V-sS/sft, V-sS/longer-N); <see cref="Input"/> names the stage whose final model it starts from (null: the AR base
/// itself). A longer stage trains <see cref="Steps"/> steps and ends at <see cref="TotalSteps"/> diffusion steps in all.
/// </summary>
public sealed record PlannedStage(string Name, RecipeStageKind Kind, AnchorStrategy? Variant, int Seed, string? Input, long? Steps = null, long? TotalSteps = null)
{
    /// <summary>The run folder relative to the experiment folder.</summary>
    public string Folder => Path.Combine(ReproRunner.RunsFolder, Name);
    /// <summary>The final model folder relative to the experiment folder.</summary>
    public string ModelFolder => Path.Combine(Folder, TrainingRun.FinalModelDirectory);
}

/// <summary>
/// One evaluation of a stage's final model: the first <see cref="Problems"/> problems × <see cref="N"/> samples.
/// <see cref="Remask"/> is the diffusion sampler's remasking ("ar" for the autoregressive rows);
/// <see cref="SamplingSeed"/> the sampler's seed.
/// </summary>
public sealed record RecipeEval(string Stage, string Benchmark, string Remask, int SamplingSeed, int Steps, int Problems, int N, string? CheckpointFolder = null)
{
    public bool Autoregressive => Remask == RecipePlan.ArRemask;

    /// <summary>The model, relative to the experiment folder: the stage's final model, or a saved checkpoint of the curve.</summary>
    public string ModelFolder => CheckpointFolder ?? Path.Combine(ReproRunner.RunsFolder, Stage, AnCoder.Diffusion.Training.TrainingRun.FinalModelDirectory);

    /// <summary>runs/STAGE/eval/BENCH-seedK (AR), BENCH-T64 (remasking cap:0.1 or whatever anchored_remask says), BENCH-T64-remask-none
    /// (MDLM, and the null model as MDLM two-stage); a curve checkpoint's: curve-eval/NAME/BENCH-seedK.</summary>
    public string Folder => CheckpointFolder is not null
        ? Path.Combine(RecipePlan.CurveEvalFolder, Stage, string.Create(CultureInfo.InvariantCulture, $"{Benchmark}-seed{SamplingSeed}"))
        : Path.Combine(ReproRunner.RunsFolder, Stage, "eval", Autoregressive
        ? string.Create(CultureInfo.InvariantCulture, $"{Benchmark}-seed{SamplingSeed}")
        : string.Create(CultureInfo.InvariantCulture, $"{Benchmark}-T{Steps}") + (Remask == "none" ? "-remask-none" : ""));
}

/// <summary>The paper's Table 1 cells of a row (percent; null where the paper has none or we do not have it).</summary>
public sealed record PaperCells(double? HumanEvalSyntax, double? HumanEvalPass1, double? MbppSyntax, double? MbppPass1);

/// <summary>One replicate of a row: a training seed (diffusion rows) or a sampling seed (AR rows), and its two evaluations.</summary>
public sealed record RecipeRowMember(int Seed, RecipeEval? HumanEval, RecipeEval? Mbpp);

/// <summary>
/// A Table 1 row: its label, a short key for paired differences, and one member per seed. A longer row (the recipe's
/// longer_steps) names the equal-steps row it continues (<see cref="LongerOf"/>) and its total diffusion steps.
/// </summary>
public sealed record RecipeRow(string Key, string Label, bool Autoregressive, IReadOnlyList<RecipeRowMember> Members, PaperCells Paper, string Remask,
    string? LongerOf = null, long? TotalSteps = null);

/// <summary>
/// The stages, evaluations and Table 1 rows of a recipe experiment, derived from the config alone (so every worker
/// and a resumed experiment find the same folders). One AR base per experiment; seeds vary the later stages only.
/// </summary>
public sealed class RecipePlan
{
    public const string ArRemask = "ar";
    public const string ArBaseStage = "ar-base";
    public const string ArSftStage = "ar-sft";

    public ReproConfig Config { get; }
    public IReadOnlyList<PlannedStage> Stages { get; }
    public IReadOnlyList<RecipeEval> Evals { get; }
    public IReadOnlyList<RecipeRow> Rows { get; }
    /// <summary>Diffusion steps of a Table 1 model (stage 1 + stage 3; null when a stage counts tokens): where the longer rows start.</summary>
    public long? TableSteps { get; }

    /// <summary>
    /// The paper's Table 1. The two-stage AnCoder rows and the 809M MDLM (the same two-stage architecture without an
    /// anchor loss, sampled without remasking) are ReproReport.Paper (docs/algorithms.md §10); the gray AR row
    /// (Qwen2.5-Coder-0.5B: HumanEval syntax 93.9 %, pass@1 26.8 %) is quoted in issue 16. The one-network MDLM
    /// (494M) row's numbers and the AR row's MBPP numbers are not in this repository: "–".
    /// </summary>
    public static PaperCells PaperFor(string key) => key switch
    {
        "ar-sft" => new(93.9, 26.8, null, null),
        "mdlm-two-stage" => Cells(AnchorStrategy.Mdlm),
        "null" => Cells(AnchorStrategy.Null),
        "keyword" => Cells(AnchorStrategy.Keyword),
        "identifier" => Cells(AnchorStrategy.Identifier),
        "anchortree" => Cells(AnchorStrategy.AnchorTree),
        _ => new(null, null, null, null),
    };

    private static PaperCells Cells(AnchorStrategy strategy)
    {
        var p = ReproReport.Paper[strategy];
        return new(p.HumanEvalSyntax, p.HumanEvalPass1, p.MbppSyntax, p.MbppPass1);
    }

    public static string StageName(AnchorStrategy variant, int seed, RecipeStageKind kind) =>
        string.Create(CultureInfo.InvariantCulture, $"{AnchorWeightOptions.Name(variant)}-s{seed}/{(kind == RecipeStageKind.Adapt ? "adapt" : "sft")}");

    public RecipePlan(ReproConfig config)
    {
        Config = config;
        var recipe = config.Recipe ?? throw new InvalidOperationException("not a recipe experiment");
        var stages = new List<PlannedStage>
        {
            new(ArBaseStage, RecipeStageKind.ArBase, null, config.Training.Seed, null),
            new(ArSftStage, RecipeStageKind.ArSft, null, config.Training.Seed, ArBaseStage),
        };
        // Seed-major: an interrupted experiment has whole seeds first.
        for (int seed = 0; seed < config.Seeds; seed++)
            foreach (var variant in config.Variants)
            {
                string adapt = StageName(variant, seed, RecipeStageKind.Adapt);
                stages.Add(new PlannedStage(adapt, RecipeStageKind.Adapt, variant, seed, recipe.AdaptFrom == RecipeAdaptSource.Sft ? ArSftStage : ArBaseStage));
                stages.Add(new PlannedStage(StageName(variant, seed, RecipeStageKind.Sft), RecipeStageKind.Sft, variant, seed, adapt));
            }
        // Longer training of one row, after every Table 1 stage: each seed's SFT model continued to each total.
        TableSteps = RecipeTraining.TableSteps(config);
        long previousTotal = TableSteps ?? 0;
        var longerTotals = recipe.LongerSteps.Where(total => total > previousTotal).ToList();
        if (longerTotals.Count > 0 && config.Variants.Contains(recipe.LongerVariant))
            for (int seed = 0; seed < config.Seeds; seed++)
            {
                string input = StageName(recipe.LongerVariant, seed, RecipeStageKind.Sft);
                long before = previousTotal;
                foreach (int total in longerTotals)
                {
                    string name = LongerStageName(recipe.LongerVariant, seed, total);
                    stages.Add(new PlannedStage(name, RecipeStageKind.Longer, recipe.LongerVariant, seed, input, total - before, total));
                    (input, before) = (name, total);
                }
            }
        Stages = stages;

        var evals = new List<RecipeEval>();
        RecipeRowMember Member(string stage, string remask, int seed, int samplingSeed)
        {
            RecipeEval? Add(string benchmark, int problems, int n)
            {
                if (problems <= 0) return null;
                int steps = remask == ArRemask ? recipe.ArEvalLength ?? config.EvalLength : config.EvalSteps;
                var eval = new RecipeEval(stage, benchmark, remask, samplingSeed, steps, problems, n);
                if (!evals.Any(e => e.Folder == eval.Folder)) evals.Add(eval);
                return eval;
            }
            return new RecipeRowMember(seed, Add("humaneval", config.HumanevalProblems, config.HumanevalN), Add("mbpp", config.MbppProblems, config.MbppN));
        }
        var rows = new List<RecipeRow>();
        var arSeeds = Enumerable.Range(0, recipe.EffectiveArSeeds).ToList();
        rows.Add(new RecipeRow("ar-sft", "AR base (+ SFT)", true, arSeeds.Select(k => Member(ArSftStage, ArRemask, k, config.EvalSeed + k)).ToList(), PaperFor("ar-sft"), ArRemask));
        if (recipe.EvaluateArBase)
            rows.Add(new RecipeRow("ar-base", "AR base, no SFT", true, arSeeds.Select(k => Member(ArBaseStage, ArRemask, k, config.EvalSeed + k)).ToList(), PaperFor("ar-base"), ArRemask));
        void DiffusionRow(string key, string label, AnchorStrategy variant, string remask)
        {
            if (!config.Variants.Contains(variant)) return;
            var members = Enumerable.Range(0, config.Seeds)
                .Select(seed => Member(StageName(variant, seed, RecipeStageKind.Sft), remask, seed, config.EvalSeed)).ToList();
            rows.Add(new RecipeRow(key, label, false, members, PaperFor(key), remask));
        }
        // Confidence-parallel steps never remask (SamplerOptions.ParallelThreshold): the anchored rows are then sampled
        // without remasking, and the Null row is the MDLM two-stage row's evaluation, not a second identical one.
        string anchoredRemask = config.EvalParallel is null ? config.AnchoredRemask : "none";
        DiffusionRow("mdlm-one-network", "MDLM one-network", AnchorStrategy.Mdlm, "none");
        DiffusionRow("mdlm-two-stage", "MDLM two-stage (null model, remask none)", AnchorStrategy.Null, "none");
        DiffusionRow("null", "Null", AnchorStrategy.Null, anchoredRemask);
        DiffusionRow("keyword", "Keyword", AnchorStrategy.Keyword, anchoredRemask);
        DiffusionRow("identifier", "Identifier", AnchorStrategy.Identifier, anchoredRemask);
        DiffusionRow("anchortree", "AnchorTree", AnchorStrategy.AnchorTree, anchoredRemask);
        // The longer rows: the variant's row (MDLM: the one-network row; the null model: its Null row) at each longer
        // total, evaluated like it.
        string shorterKey = recipe.LongerVariant == AnchorStrategy.Mdlm ? "mdlm-one-network" : AnchorWeightOptions.Name(recipe.LongerVariant);
        if (longerTotals.Count > 0 && rows.FirstOrDefault(r => r.Key == shorterKey) is { } shorter)
            foreach (int total in longerTotals)
            {
                var members = Enumerable.Range(0, config.Seeds)
                    .Select(seed => Member(LongerStageName(recipe.LongerVariant, seed, total), shorter.Remask, seed, config.EvalSeed)).ToList();
                rows.Add(new RecipeRow(LongerRowKey(shorter.Key, total), string.Create(CultureInfo.InvariantCulture, $"{shorter.Label}, {total} steps (longer)"),
                    false, members, PaperFor(""), shorter.Remask, shorter.Key, total));
            }
        Rows = rows;
        Evals = evals;
    }

    public PlannedStage Stage(string name) => Stages.First(s => s.Name == name);

    /// <summary>runs/V-sS/longer-N: the variant's seed-S model continued to N diffusion steps in all.</summary>
    public static string LongerStageName(AnchorStrategy variant, int seed, long total) =>
        string.Create(CultureInfo.InvariantCulture, $"{AnchorWeightOptions.Name(variant)}-s{seed}/longer-{total}");

    public static string LongerRowKey(string shorterKey, long total) => string.Create(CultureInfo.InvariantCulture, $"{shorterKey}-{total}");

    public const string CurveEvalFolder = "curve-eval";

    /// <summary>A saved checkpoint of an AR stage: OUT/CURVE/STAGE-STEP (e.g. curve/ar-base-200, a copy of checkpoints/step-200).</summary>
    public sealed record CurveCheckpoint(string Name, string Stage, long Step, RecipeEval HumanEval);

    /// <summary>
    /// The checkpoints of the AR stages kept in OUT/<see cref="RecipeConfig.CurveFolder"/> (folders named ar-base-STEP or
    /// ar-sft-STEP holding model.safetensors), each evaluated on HumanEval like the AR rows (first sampling seed): the
    /// validity-against-training-tokens curve. Found in the folder, not the config (checkpoints are copied as training goes).
    /// </summary>
    public IReadOnlyList<CurveCheckpoint> CurveCheckpoints(string output)
    {
        var recipe = Config.Recipe!;
        string curve = Path.Combine(output, recipe.CurveFolder);
        if (recipe.CurveFolder.Length == 0 || Config.HumanevalProblems <= 0 || !Directory.Exists(curve)) return [];
        var found = new List<CurveCheckpoint>();
        foreach (var directory in Directory.EnumerateDirectories(curve).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(directory);
            var match = System.Text.RegularExpressions.Regex.Match(name, @"^(ar-base|ar-sft)-(\d+)$");
            if (!match.Success || !File.Exists(Path.Combine(directory, "model.safetensors"))) continue;
            var eval = new RecipeEval(name, "humaneval", ArRemask, Config.EvalSeed, recipe.ArEvalLength ?? Config.EvalLength, Config.HumanevalProblems, Config.HumanevalN,
                Path.Combine(recipe.CurveFolder, name));
            found.Add(new CurveCheckpoint(name, match.Groups[1].Value, long.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture), eval));
        }
        return found.OrderBy(c => c.Stage, StringComparer.Ordinal).ThenBy(c => c.Step).ToList();
    }
}
