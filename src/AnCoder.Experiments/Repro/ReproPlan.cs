using System.Globalization;
using AnCoder.Anchoring.Labels;

namespace AnCoder.Experiments.Repro;

/// <summary>One training run: a strategy with its resolved λ, ρ, d0 and a training seed; trained into runs/<see cref="Name"/>.</summary>
public sealed record PlannedRun(string Name, AnchorStrategy Strategy, int Seed, double Lambda, double Rho, int D0);

/// <summary>One evaluation: a run's final model on the first <see cref="Problems"/> problems, n samples, T steps.</summary>
public sealed record PlannedEval(string Run, string Benchmark, int Steps, int Problems, int N)
{
    /// <summary>Results folder relative to the experiment folder.</summary>
    public string Folder => Path.Combine("runs", Run, "eval", $"{Benchmark}-T{Steps}");
}

/// <summary>
/// The runs and evaluations of an experiment, derived from the config alone (so a resumed experiment finds the same
/// folders). Main runs: every variant × seeds 0..K−1, seed-major (an interrupted experiment has whole seeds first).
/// Ablation runs (λ per strategy, AnchorTree ρ/d0) use seeds 0..ablation_seeds−1; a run whose resolved settings
/// equal an earlier one's is that run (e.g. AnchorTree at λ = 0.03 is the main AnchorTree run).
/// </summary>
public sealed class ReproPlan
{
    private readonly Dictionary<(AnchorStrategy Strategy, int Seed, double Lambda, double Rho, int D0), PlannedRun> _byKey = new();
    private readonly List<PlannedRun> _runs = [];
    private readonly List<PlannedEval> _evals = [];
    private readonly HashSet<string> _evalFolders = [];

    public ReproConfig Config { get; }
    public IReadOnlyList<PlannedRun> Runs => _runs;
    public IReadOnlyList<PlannedEval> Evals => _evals;

    public ReproPlan(ReproConfig config)
    {
        Config = config;
        for (int seed = 0; seed < config.Seeds; seed++)
            foreach (var variant in config.Variants)
                Add(variant, seed, null, null, null);
        for (int seed = 0; seed < config.AblationSeeds; seed++)
        {
            foreach (var strategy in config.LambdaStrategies)
                foreach (var lambda in config.LambdaAblation)
                    Add(strategy, seed, lambda, null, null);
            foreach (var point in config.RhoD0Sweep)
                Add(AnchorStrategy.AnchorTree, seed, null, point.Rho, point.D0);
        }

        foreach (var run in _runs)
        {
            AddEval(run.Name, "humaneval", config.EvalSteps, config.HumanevalProblems, config.HumanevalN);
            AddEval(run.Name, "mbpp", config.EvalSteps, config.MbppProblems, config.MbppN);
        }
        foreach (var variant in config.TScalingVariants.Where(config.Variants.Contains))
            foreach (var run in MainRuns(variant))
                foreach (var t in config.TScaling)
                {
                    AddEval(run.Name, "humaneval", t, config.HumanevalProblems, config.HumanevalN);
                    AddEval(run.Name, "mbpp", t, config.MbppProblems, config.MbppN);
                }
    }

    /// <summary>The main runs of a variant, one per seed.</summary>
    public IReadOnlyList<PlannedRun> MainRuns(AnchorStrategy variant) =>
        Enumerable.Range(0, Config.Seeds).Select(seed => Find(variant, seed, null, null, null)!).ToList();

    /// <summary>The run with these settings (null λ/ρ/d0 = the strategy's defaults), or null when the plan has none.</summary>
    public PlannedRun? Find(AnchorStrategy strategy, int seed, double? lambda, double? rho, int? d0) =>
        _byKey.GetValueOrDefault(Key(strategy, seed, lambda, rho, d0));

    /// <summary>Folder names: variant-sSEED, or with the changed settings: keyword-lam0.01-s0, anchortree-rho0.6-d1-s0.</summary>
    public static string RunName(AnchorStrategy strategy, int seed, double? lambda, double? rho, int? d0)
    {
        string name = AnchorWeightOptions.Name(strategy);
        if (lambda is { } l) name += "-lam" + l.ToString("R", CultureInfo.InvariantCulture);
        if (rho is { } r) name += "-rho" + r.ToString("R", CultureInfo.InvariantCulture);
        if (d0 is { } d) name += "-d" + d.ToString(CultureInfo.InvariantCulture);
        return name + "-s" + seed.ToString(CultureInfo.InvariantCulture);
    }

    private static (AnchorStrategy, int, double, double, int) Key(AnchorStrategy strategy, int seed, double? lambda, double? rho, int? d0)
    {
        var resolved = AnchorWeightOptions.Defaults(strategy, lambda, rho, d0);
        return (strategy, seed, resolved.Lambda, resolved.Rho, resolved.D0);
    }

    private void Add(AnchorStrategy strategy, int seed, double? lambda, double? rho, int? d0)
    {
        var key = Key(strategy, seed, lambda, rho, d0);
        if (_byKey.ContainsKey(key)) return;
        var run = new PlannedRun(RunName(strategy, seed, lambda, rho, d0), strategy, seed, key.Item3, key.Item4, key.Item5);
        _byKey[key] = run;
        _runs.Add(run);
    }

    private void AddEval(string run, string benchmark, int steps, int problems, int n)
    {
        if (problems <= 0) return;
        var eval = new PlannedEval(run, benchmark, steps, problems, n);
        if (_evalFolders.Add(eval.Folder)) _evals.Add(eval);
    }
}
