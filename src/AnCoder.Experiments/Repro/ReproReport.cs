using AnCoder.Experiments.Statistics;
using AnCoder.Anchoring.Runs;
using AnCoder.Anchoring.Labels;
using System.Globalization;
using System.Text;
using AnCoder.Reporting.Plotting;

namespace AnCoder.Experiments.Repro;

/// <summary>One paper claim checked against our numbers.</summary>
/// <param name="Agrees">true agrees, false does not agree, null not measured here.</param>
public sealed record ClaimCheck(string Statement, string Paper, string Ours, bool? Agrees);

/// <summary>
/// A variant's Table 1 cells (fractions in [0, 1]; NELBO in nats per token). The valid-line fractions
/// (<see cref="AnCoder.Evaluation.Scoring.ValidPrefix"/>) are our finer syntax measure; null when not computed.
/// </summary>
public sealed record VariantScores(MeanWithError ValidNelbo, MeanWithError HumanEvalSyntax, MeanWithError HumanEvalPass1,
    MeanWithError MbppSyntax, MeanWithError MbppPass1, MeanWithError? HumanEvalLines = null, MeanWithError? MbppLines = null,
    MeanWithError? HumanEvalNonTrivial = null, MeanWithError? MbppNonTrivial = null)
{
    /// <summary>The mean of the two benchmarks' valid-line fractions (NaN when neither was computed).</summary>
    public double MeanLines => new[] { HumanEvalLines, MbppLines }.Where(m => m is { Count: > 0 }).Select(m => m!.Mean).DefaultIfEmpty(double.NaN).Average();
}

/// <summary>What <see cref="ReproReport.Write"/> produced.</summary>
public sealed record ReportOutput(string ReportPath, IReadOnlyList<string> Files, IReadOnlyList<string> Warnings);

/// <summary>
/// OUT/REPORT.md in the paper's layout: Table 1 (variant × HumanEval/MBPP syntax validity and pass@1, mean ± standard
/// error over seeds, the paper's 809M numbers beside ours), the T-scaling tables (2–3), the λ ablation (Table 5), the
/// AnchorTree ρ/d0 sweep, loss-curve overlays, the exact command and config, and the paper's claims checked one by one.
/// </summary>
public static class ReproReport
{
    public const string FileName = "REPORT.md";
    public const string PlotsFolder = "plots";

    /// <summary>The paper's Table 1 (809M, T max; docs/algorithms.md §10), percent. Missing cells are not reported there.</summary>
    public static readonly IReadOnlyDictionary<AnchorStrategy, (double? HumanEvalSyntax, double? HumanEvalPass1, double? MbppSyntax, double? MbppPass1)> Paper =
        new Dictionary<AnchorStrategy, (double?, double?, double?, double?)>
        {
            [AnchorStrategy.Mdlm] = (65.58, 3.29, 74.46, 6.34),
            [AnchorStrategy.Null] = (72.24, 4.80, null, null),
            [AnchorStrategy.Keyword] = (73.05, 4.57, null, null),
            [AnchorStrategy.Identifier] = (72.65, 4.73, null, null),
            [AnchorStrategy.AnchorTree] = (74.72, 5.45, 80.12, 9.10),
        };

    private static string N(AnchorStrategy strategy) => AnchorWeightOptions.Name(strategy);

    private static readonly AnchorStrategy[] PaperOrder = [AnchorStrategy.Mdlm, AnchorStrategy.Null, AnchorStrategy.Keyword, AnchorStrategy.Identifier, AnchorStrategy.AnchorTree];

    public static ReportOutput Write(string output, ReproConfig config, ReproPlan plan, ReproResults results, string commandLine)
    {
        var warnings = new List<string>();
        var files = new List<string>();
        string plots = Path.Combine(output, PlotsFolder);
        Directory.CreateDirectory(plots);

        var mainDirs = config.Variants.SelectMany(plan.MainRuns)
            .Select(r => Path.Combine(output, ReproRunner.RunsFolder, r.Name))
            .Where(d => File.Exists(Path.Combine(d, MetricsRecord.FileName))).ToList();
        var lossPlots = new List<string>();
        if (mainDirs.Count > 0)
        {
            try
            {
                var written = RunPlots.Write(mainDirs, plots, PlotOptions.Default);
                warnings.AddRange(written.Warnings);
                files.AddRange(written.Files);
                lossPlots.AddRange(written.Files.Where(f => f.EndsWith(".png", StringComparison.Ordinal)).Select(Path.GetFileName)!);
            }
            catch (PlotException e)
            {
                warnings.Add("loss curves not plotted: " + e.Message);
            }
        }
        foreach (var probe in (results.Probes ?? []).GroupBy(p => p.Strategy))
        {
            // The first seed's probe plot stands for the variant (every seed's is in runs/RUN/probe/).
            var first = probe.OrderBy(p => p.Seed).First();
            string source = Path.Combine(output, ReproRunner.RunsFolder, first.Run, ReproRunner.ProbeFolder, "probe.png");
            if (!File.Exists(source)) continue;
            string target = Path.Combine(plots, $"probe_{probe.Key}.png");
            File.Copy(source, target, overwrite: true);
            files.Add(target);
        }
        foreach (var figure in Figures(config, plan, results, output))
        {
            string path = Path.Combine(plots, figure.Name + ".png");
            RunPlots.WriteAtomically(path, FigureRenderer.RenderPng(figure, 900, 560));
            files.Add(path);
        }

        string markdown = Markdown(config, plan, results, commandLine, lossPlots, files.Where(f => f.EndsWith(".png", StringComparison.Ordinal)).Select(Path.GetFileName).ToList()!);
        string reportPath = Path.Combine(output, FileName);
        File.WriteAllText(reportPath, markdown);
        files.Add(reportPath);
        return new ReportOutput(reportPath, files, warnings);
    }

    /// <summary>Table 1 cells of one variant at T over its main runs (one per seed).</summary>
    public static VariantScores Scores(ReproPlan plan, ReproResults results, AnchorStrategy variant, int steps) =>
        ScoresOf(plan.MainRuns(variant), results, steps);

    private static VariantScores ScoresOf(IReadOnlyList<PlannedRun> runs, ReproResults results, int steps) => new(
        SampleStatistics.Summarize(runs.Select(r => results.Run(r.Name)?.FinalValidNelbo ?? double.NaN)),
        Syntax(runs, results, "humaneval", steps), Pass1(runs, results, "humaneval", steps),
        Syntax(runs, results, "mbpp", steps), Pass1(runs, results, "mbpp", steps),
        Lines(runs, results, "humaneval", steps), Lines(runs, results, "mbpp", steps),
        NonTrivial(runs, results, "humaneval", steps), NonTrivial(runs, results, "mbpp", steps));

    private static MeanWithError NonTrivial(IEnumerable<PlannedRun> runs, ReproResults results, string benchmark, int steps) =>
        SampleStatistics.Summarize(runs.Select(r => results.Eval(r.Name, benchmark, steps)?.NonTrivialValidity ?? double.NaN));

    private static MeanWithError Empty(IEnumerable<PlannedRun> runs, ReproResults results, string benchmark, int steps) =>
        SampleStatistics.Summarize(runs.Select(r => results.Eval(r.Name, benchmark, steps)?.EmptyShare ?? double.NaN));

    private static MeanWithError Lines(IEnumerable<PlannedRun> runs, ReproResults results, string benchmark, int steps) =>
        SampleStatistics.Summarize(runs.Select(r => results.Eval(r.Name, benchmark, steps)?.ValidLines ?? double.NaN));

    private static MeanWithError Syntax(IEnumerable<PlannedRun> runs, ReproResults results, string benchmark, int steps) =>
        SampleStatistics.Summarize(runs.Select(r => results.Eval(r.Name, benchmark, steps)?.SyntaxValidity ?? double.NaN));

    private static MeanWithError Pass1(IEnumerable<PlannedRun> runs, ReproResults results, string benchmark, int steps) =>
        ReproStatistics.PassAtKOverSeeds(runs
            .Select(r => results.Eval(r.Name, benchmark, steps))
            .Where(e => e is { Problems.Count: > 0 })
            .Select(e => (IReadOnlyList<(int N, int C)>)e!.Problems.Select(p => (p.N, p.C)).ToList()).ToList(), 1);

    /// <summary>
    /// The paper's claims against our numbers. A claim "A beats B" agrees when our mean of A is above B's; the ours
    /// column gives the difference with its standard error and says whether it exceeds two standard errors.
    /// </summary>
    public static List<ClaimCheck> Claims(IReadOnlyDictionary<AnchorStrategy, VariantScores> table1,
        IReadOnlyDictionary<AnchorStrategy, (double SyntaxSlope, double Pass1Slope)> tScalingSlopes,
        IReadOnlyDictionary<AnchorStrategy, (double PaperLambda, IReadOnlyList<double> BestLambdas)> lambdaBest)
    {
        var claims = new List<ClaimCheck>();
        void Beats(AnchorStrategy a, AnchorStrategy b, string metric, Func<VariantScores, MeanWithError> ours, double? paperA, double? paperB)
        {
            if (paperA is null || paperB is null) return;
            string statement = $"{N(a)} beats {N(b)} on {metric}";
            string paper = Inv($"{paperA:0.00} vs {paperB:0.00}");
            if (!table1.TryGetValue(a, out var sa) || !table1.TryGetValue(b, out var sb) || ours(sa).Count == 0 || ours(sb).Count == 0)
            {
                if (table1.ContainsKey(a) && table1.ContainsKey(b)) claims.Add(new ClaimCheck(statement, paper, "not measured", null));
                return;
            }
            var (ma, mb) = (ours(sa), ours(sb));
            double difference = ma.Mean - mb.Mean;
            double se = SampleStatistics.DifferenceError(ma, mb);
            string note = double.IsFinite(se)
                ? Inv($"{100 * difference:+0.00;-0.00;0.00} ± {100 * se:0.00} points, {(Math.Abs(difference) > 2 * se ? "beyond" : "within")} 2 standard errors")
                : Inv($"{100 * difference:+0.00;-0.00;0.00} points, one seed: no error bar");
            claims.Add(new ClaimCheck(statement, paper, $"{ma.Format(100)} vs {mb.Format(100)} ({note})", difference == 0 ? null : difference > 0));
        }
        var none = MeanWithError.None;
        foreach (var anchored in new[] { AnchorStrategy.Null, AnchorStrategy.Keyword, AnchorStrategy.Identifier, AnchorStrategy.AnchorTree })
        {
            Beats(anchored, AnchorStrategy.Mdlm, "HumanEval syntax validity", s => s.HumanEvalSyntax, Paper[anchored].HumanEvalSyntax, Paper[AnchorStrategy.Mdlm].HumanEvalSyntax);
            Beats(anchored, AnchorStrategy.Mdlm, "HumanEval pass@1", s => s.HumanEvalPass1, Paper[anchored].HumanEvalPass1, Paper[AnchorStrategy.Mdlm].HumanEvalPass1);
            // Our finer proxy for syntax validity (paper column: its syntax validity); only when it was computed.
            if (table1.Values.Any(v => v.HumanEvalLines is { Count: > 0 }))
                Beats(anchored, AnchorStrategy.Mdlm, "HumanEval valid-line fraction (our proxy for syntax validity)", s => s.HumanEvalLines ?? none,
                    Paper[anchored].HumanEvalSyntax, Paper[AnchorStrategy.Mdlm].HumanEvalSyntax);
        }
        if (table1.Values.Any(v => v.MbppLines is { Count: > 0 }))
            Beats(AnchorStrategy.AnchorTree, AnchorStrategy.Mdlm, "MBPP valid-line fraction (our proxy for syntax validity)", s => s.MbppLines ?? none,
                Paper[AnchorStrategy.AnchorTree].MbppSyntax, Paper[AnchorStrategy.Mdlm].MbppSyntax);
        Beats(AnchorStrategy.AnchorTree, AnchorStrategy.Mdlm, "MBPP syntax validity", s => s.MbppSyntax, Paper[AnchorStrategy.AnchorTree].MbppSyntax, Paper[AnchorStrategy.Mdlm].MbppSyntax);
        Beats(AnchorStrategy.AnchorTree, AnchorStrategy.Mdlm, "MBPP pass@1", s => s.MbppPass1, Paper[AnchorStrategy.AnchorTree].MbppPass1, Paper[AnchorStrategy.Mdlm].MbppPass1);
        Beats(AnchorStrategy.AnchorTree, AnchorStrategy.Null, "HumanEval syntax validity", s => s.HumanEvalSyntax, Paper[AnchorStrategy.AnchorTree].HumanEvalSyntax, Paper[AnchorStrategy.Null].HumanEvalSyntax);
        Beats(AnchorStrategy.AnchorTree, AnchorStrategy.Null, "HumanEval pass@1", s => s.HumanEvalPass1, Paper[AnchorStrategy.AnchorTree].HumanEvalPass1, Paper[AnchorStrategy.Null].HumanEvalPass1);

        var measured = table1.Where(kv => Paper.ContainsKey(kv.Key) && kv.Value.HumanEvalSyntax.Count > 0).ToList();
        if (table1.ContainsKey(AnchorStrategy.AnchorTree) && measured.Count >= 2)
        {
            double top = measured.Max(kv => kv.Value.HumanEvalSyntax.Mean);
            var best = measured.Where(kv => kv.Value.HumanEvalSyntax.Mean == top).Select(kv => kv.Key).ToList();
            claims.Add(new ClaimCheck("AnchorTree has the highest HumanEval syntax validity of the variants", "74.72, the highest of five",
                $"highest here: {string.Join(", ", best.Select(N))} ({100 * top:0.00} %)", best.Count > 1 && best.Contains(AnchorStrategy.AnchorTree) ? null : best.SequenceEqual([AnchorStrategy.AnchorTree])));
        }

        if (tScalingSlopes.TryGetValue(AnchorStrategy.Mdlm, out var mdlmSlope))
            foreach (var (variant, slope) in tScalingSlopes.Where(kv => kv.Key != AnchorStrategy.Mdlm))
            {
                if (!double.IsFinite(slope.SyntaxSlope) || !double.IsFinite(mdlmSlope.SyntaxSlope)) continue;
                claims.Add(new ClaimCheck($"more steps T help {N(variant)} more than MDLM (HumanEval syntax validity per doubling of T)",
                    "anchored models gain more from larger T (Tables 2–3)",
                    Inv($"{N(variant)} {100 * slope.SyntaxSlope:+0.00;-0.00;0.00} vs mdlm {100 * mdlmSlope.SyntaxSlope:+0.00;-0.00;0.00} points per doubling"),
                    slope.SyntaxSlope == mdlmSlope.SyntaxSlope ? null : slope.SyntaxSlope > mdlmSlope.SyntaxSlope));
            }

        foreach (var (strategy, (paperLambda, bestLambdas)) in lambdaBest)
            claims.Add(new ClaimCheck($"λ = {Inv($"{paperLambda}")} (the paper's choice) is the best λ for {N(strategy)} (HumanEval syntax validity)",
                "the defaults come from the ablation (Table 5)",
                bestLambdas.Count == 0 ? "not measured" : "best here: λ = " + string.Join(", ", bestLambdas.Select(l => Inv($"{l}"))),
                bestLambdas.Count == 0 || (bestLambdas.Count > 1 && bestLambdas.Contains(paperLambda)) ? null : bestLambdas.SequenceEqual([paperLambda])));
        return claims;
    }

    internal static string Markdown(ReproConfig config, ReproPlan plan, ReproResults results, string commandLine,
        IReadOnlyList<string> lossPlots, IReadOnlyList<string> allPlots)
    {
        var md = new StringBuilder();
        long tokensPerRun = results.StepsPerRun * config.Training.MicroBatch * config.Training.ContextLength;
        md.AppendLine("# AnCoder at CPU scale: MDLM against anchored variants").AppendLine();
        md.AppendLine(Inv($"Generated {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC by `ancoder repro`. Preset `{config.Training.Model}`, {results.StepsPerRun} steps per run "))
          .AppendLine(Inv($"({tokensPerRun:N0} tokens: {config.Training.MicroBatch} × {config.Training.ContextLength} per step), the same data order and initialisation seed for every variant of a seed; "))
          .AppendLine(Inv($"{config.Seeds} seed(s) per variant. Evaluation: the first {config.HumanevalProblems} HumanEval problems × {config.HumanevalN} samples and the first "))
          .AppendLine(Inv($"{config.MbppProblems} MBPP problems × {config.MbppN} samples, T = {config.EvalSteps}, G = {config.EvalLength} tokens, τ = {config.Temperature}, "))
          .AppendLine(config.EvalParallel is { } tau
              ? Inv($"confidence-parallel steps (τ = {tau}, no remasking; T unused), unmask order `{AnCoder.Anchoring.Settings.SettingNames.Name(config.EvalOrder)}`{DecodingExtras(config)}. All percentages are mean ± standard error over seeds")
              : $"remasking `{config.AnchoredRemask}` for anchored models and none for MDLM, unmask order `{AnCoder.Anchoring.Settings.SettingNames.Name(config.EvalOrder)}`{DecodingExtras(config)}. All percentages are mean ± standard error over seeds")
          .AppendLine("(n − 1 standard deviation / √seeds; no error bar with one seed). The paper's numbers are its 809M models (Qwen2.5-Coder")
          .AppendLine("initialisation, GPU scale): compare trends, not absolute values. A canvas is the whole prompt plus G masks, so it")
          .AppendLine(Inv($"can be longer than the training context ({config.Training.ContextLength} tokens); prompts are not truncated.")).AppendLine();

        md.AppendLine("## Table 1: main comparison").AppendLine();
        md.AppendLine("| variant | valid NELBO | HumanEval syntax % | paper | HumanEval non-trivial % | HumanEval pass@1 % | paper | MBPP syntax % | paper | MBPP non-trivial % | MBPP pass@1 % | paper | HumanEval valid lines % | MBPP valid lines % |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var table1 = new Dictionary<AnchorStrategy, VariantScores>();
        foreach (var variant in config.Variants)
        {
            var s = Scores(plan, results, variant, config.EvalSteps);
            table1[variant] = s;
            var paper = Paper.GetValueOrDefault(variant);
            md.AppendLine($"| {N(variant)} | {s.ValidNelbo.Format(1, 4)} | {s.HumanEvalSyntax.Format(100)} | {P(paper.HumanEvalSyntax)} | {(s.HumanEvalNonTrivial ?? None).Format(100)} | {s.HumanEvalPass1.Format(100)} | {P(paper.HumanEvalPass1)} "
                          + $"| {s.MbppSyntax.Format(100)} | {P(paper.MbppSyntax)} | {(s.MbppNonTrivial ?? None).Format(100)} | {s.MbppPass1.Format(100)} | {P(paper.MbppPass1)} "
                          + $"| {(s.HumanEvalLines ?? None).Format(100)} | {(s.MbppLines ?? None).Format(100)} |");
        }
        md.AppendLine();
        md.AppendLine("*Non-trivial* syntax validity (not in the paper; its syntax validity is reported as it defines it): a completion that hit the "
                      + "length cap is first cut at its last complete line; then the program must parse, the task's function body must gain a statement "
                      + "that is not `pass`, `...` or a docstring, the body must read one of the function's parameters, and no line may repeat three or "
                      + "more times in a row. Examples of each verdict are at the end of this report.").AppendLine();
        md.AppendLine("*Valid lines* (not in the paper): the share of a completion's lines before the first line that cannot be kept, i.e. "
                      + "k / L for the longest k-line prefix that parses in context (1 when the whole completion parses), averaged over samples. "
                      + "It moves long before whole-program syntax validity does, so it can separate variants that are all at 0 % validity.").AppendLine();
        AppendPairedDifferences(md, config, plan, results);
        md.AppendLine("Empty completions (after the end-of-text and stop-sequence cut) count as syntactically valid on HumanEval, where the prompt alone "
                      + "parses, and as valid lines on both benchmarks. Their share, % of samples at T = " + Inv($"{config.EvalSteps}") + ": "
                      + string.Join("; ", config.Variants.Select(v =>
                          $"{N(v)} HumanEval {Empty(plan.MainRuns(v), results, "humaneval", config.EvalSteps).Format(100, 1)}, MBPP {Empty(plan.MainRuns(v), results, "mbpp", config.EvalSteps).Format(100, 1)}")) + ".").AppendLine();

        var slopes = new Dictionary<AnchorStrategy, (double, double)>();
        var tValues = config.TScaling.Distinct().OrderBy(t => t).ToList();
        var tVariants = config.TScalingVariants.Where(config.Variants.Contains).ToList();
        if (tValues.Count > 0 && tVariants.Count > 0)
        {
            foreach (var (benchmark, title) in new[] { ("humaneval", "Table 2: T-scaling on HumanEval"), ("mbpp", "Table 3: T-scaling on MBPP") })
            {
                if (benchmark == "humaneval" ? config.HumanevalProblems == 0 : config.MbppProblems == 0) continue;
                md.AppendLine($"## {title} (syntax % / non-trivial % / pass@1 % / valid lines %)").AppendLine();
                md.AppendLine("| variant | " + string.Join(" | ", tValues.Select(t => $"T = {t}")) + " |");
                md.AppendLine("|---|" + string.Concat(tValues.Select(_ => "---:|")));
                foreach (var variant in tVariants)
                {
                    var runs = plan.MainRuns(variant);
                    var cells = tValues.Select(t => $"{Syntax(runs, results, benchmark, t).Format(100, 1)} / {NonTrivial(runs, results, benchmark, t).Format(100, 1)} / {Pass1(runs, results, benchmark, t).Format(100)} / {Lines(runs, results, benchmark, t).Format(100, 1)}");
                    md.AppendLine($"| {N(variant)} | {string.Join(" | ", cells)} |");
                    if (benchmark == "humaneval")
                    {
                        var log2T = tValues.Select(t => Math.Log2(t)).ToList();
                        slopes[variant] = (SampleStatistics.Slope(log2T, tValues.Select(t => Syntax(runs, results, benchmark, t).Mean).ToList()),
                            SampleStatistics.Slope(log2T, tValues.Select(t => Pass1(runs, results, benchmark, t).Mean).ToList()));
                    }
                }
                md.AppendLine();
            }
            md.AppendLine("Plots: `plots/t_scaling_syntax.png`, `plots/t_scaling_pass1.png`, `plots/t_scaling_valid_lines.png`.").AppendLine();
        }

        var lambdaBest = new Dictionary<AnchorStrategy, (double, IReadOnlyList<double>)>();
        if (config.LambdaAblation.Length > 0 && config.LambdaStrategies.Length > 0)
        {
            md.AppendLine(Inv($"## Table 5: anchor-weight λ ablation ({config.AblationSeeds} seed(s), T = {config.EvalSteps})")).AppendLine();
            md.AppendLine("| strategy | λ | valid NELBO | HumanEval syntax % | HumanEval non-trivial % | HumanEval pass@1 % | MBPP syntax % | MBPP non-trivial % | MBPP pass@1 % | HumanEval valid lines % | MBPP valid lines % |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var strategy in config.LambdaStrategies)
            {
                double paperLambda = PaperLambda(strategy);
                var ranked = new List<(double Lambda, double Syntax, double Lines)>();
                foreach (var lambda in LambdaValues(config, plan, strategy))
                {
                    var runs = Enumerable.Range(0, config.AblationSeeds).Select(seed => plan.Find(strategy, seed, lambda, null, null)).OfType<PlannedRun>().ToList();
                    var s = ScoresOf(runs, results, config.EvalSteps);
                    if (s.HumanEvalSyntax.Count > 0) ranked.Add((lambda, s.HumanEvalSyntax.Mean, s.MeanLines));
                    string label = lambda == paperLambda ? Inv($"{lambda} (paper)") : Inv($"{lambda}");
                    md.AppendLine($"| {N(strategy)} | {label} | {s.ValidNelbo.Format(1, 4)} | {s.HumanEvalSyntax.Format(100)} | {(s.HumanEvalNonTrivial ?? None).Format(100)} | {s.HumanEvalPass1.Format(100)} | {s.MbppSyntax.Format(100)} | {(s.MbppNonTrivial ?? None).Format(100)} | {s.MbppPass1.Format(100)} "
                                  + $"| {(s.HumanEvalLines ?? None).Format(100)} | {(s.MbppLines ?? None).Format(100)} |");
                }
                if (ranked.Any(r => r.Lambda == paperLambda))
                    lambdaBest[strategy] = (paperLambda, Best(ranked.Select(r => (r.Lambda, r.Syntax, r.Lines)).ToList()));
            }
            md.AppendLine().AppendLine("The best λ of a strategy: highest HumanEval syntax validity, ties broken by the mean valid-line fraction of both benchmarks. "
                                       + "Plots: `plots/lambda_ablation.png`, `plots/lambda_ablation_valid_lines.png`.").AppendLine();
        }

        if (config.RhoD0Sweep.Length > 0)
        {
            md.AppendLine(Inv($"## AnchorTree ρ / d0 sweep ({config.AblationSeeds} seed(s), λ = 0.03, T = {config.EvalSteps}; the paper's values are lost)")).AppendLine();
            md.AppendLine("| ρ | d0 | valid NELBO | HumanEval syntax % | HumanEval non-trivial % | HumanEval pass@1 % | MBPP syntax % | MBPP non-trivial % | MBPP pass@1 % | HumanEval valid lines % | MBPP valid lines % |");
            md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            var rows = new List<(RhoD0 Point, VariantScores Scores)>();
            var defaults = AnCoder.Anchoring.Labels.AnchorWeightOptions.Defaults(AnCoder.Anchoring.Labels.AnchorStrategy.AnchorTree);
            var points = config.RhoD0Sweep.Distinct().ToList();
            if (config.Variants.Contains(AnchorStrategy.AnchorTree) && !points.Contains(new RhoD0(defaults.Rho, defaults.D0))) points.Insert(0, new RhoD0(defaults.Rho, defaults.D0));
            foreach (var point in points)
            {
                var runs = Enumerable.Range(0, config.AblationSeeds).Select(seed => plan.Find(AnchorStrategy.AnchorTree, seed, null, point.Rho, point.D0)).OfType<PlannedRun>().ToList();
                var s = ScoresOf(runs, results, config.EvalSteps);
                rows.Add((point, s));
                string label = point == new RhoD0(defaults.Rho, defaults.D0) ? Inv($"{point.Rho} | {point.D0} (default)") : Inv($"{point.Rho} | {point.D0}");
                md.AppendLine($"| {label} | {s.ValidNelbo.Format(1, 4)} | {s.HumanEvalSyntax.Format(100)} | {(s.HumanEvalNonTrivial ?? None).Format(100)} | {s.HumanEvalPass1.Format(100)} | {s.MbppSyntax.Format(100)} | {(s.MbppNonTrivial ?? None).Format(100)} | {s.MbppPass1.Format(100)} "
                              + $"| {(s.HumanEvalLines ?? None).Format(100)} | {(s.MbppLines ?? None).Format(100)} |");
            }
            var ranked = rows.Where(r => r.Scores.HumanEvalSyntax.Count > 0)
                .OrderByDescending(r => r.Scores.HumanEvalSyntax.Mean)
                .ThenByDescending(r => double.IsFinite(r.Scores.MeanLines) ? r.Scores.MeanLines : double.MinValue)
                .ThenBy(r => r.Scores.ValidNelbo.Count > 0 ? r.Scores.ValidNelbo.Mean : double.MaxValue).ToList();
            md.AppendLine();
            if (ranked.Count > 0)
                md.AppendLine(Inv($"Best here by HumanEval syntax validity (ties: higher mean valid-line fraction, then lower NELBO): ρ = {ranked[0].Point.Rho}, d0 = {ranked[0].Point.D0}.")).AppendLine();
        }

        var probeClaims = new List<ClaimCheck>();
        if (results.Probes is { Count: > 0 } probes)
        {
            md.AppendLine(Inv($"## AST probe (§4.2, Figure 5; {config.ProbeSamples} held-out samples, K = {config.ProbeK}, the same samples and noise draws for every model)")).AppendLine();
            md.AppendLine("Paired differences of p(target) between reveal orders on the same noise draw, each model's mean over draws, then mean ± "
                          + "standard error over seeds. k = hints revealed; at k = K both chain orders reveal the same set, so in-out − out-in stops at K − 1.").AppendLine();
            md.AppendLine("| variant | t | comparison (× 10⁻³) | " + string.Join(" | ", Enumerable.Range(1, config.ProbeK).Select(k => $"k = {k}")) + " |");
            md.AppendLine("|---|---:|---|" + string.Concat(Enumerable.Range(1, config.ProbeK).Select(_ => "---:|")));
            foreach (var variant in probes.Select(p => p.Strategy).Distinct())
            {
                var ofVariant = probes.Where(p => p.Strategy == variant).ToList();
                foreach (var t in ofVariant.SelectMany(p => p.Gaps).Select(g => g.T).Distinct().OrderBy(t => t))
                    foreach (var (better, worse) in new[] { ("in-out", "out-in"), ("out-in", "random") })
                    {
                        var cells = Enumerable.Range(1, config.ProbeK).Select(k =>
                        {
                            if (better == "in-out" && k == config.ProbeK) return "–";
                            var m = SampleStatistics.Summarize(ofVariant.Select(p => p.Gaps.FirstOrDefault(g => g.T == t && g.Hints == k && g.Better == better && g.Worse == worse)?.Mean ?? double.NaN));
                            return m.Format(1000, 2);
                        });
                        md.AppendLine(Inv($"| {variant} | {t} | {better} − {worse} | {string.Join(" | ", cells)} |"));
                    }
            }
            md.AppendLine();
            md.AppendLine("Plots: " + string.Join(", ", probes.Select(p => p.Strategy).Distinct().Select(v => $"`plots/probe_{v}.png`")) + " (first seed; p(target) against k with ± SE bands).").AppendLine();
            probeClaims = ProbeClaims(probes, config.ProbeK);
        }

        md.AppendLine("## Training runs").AppendLine();
        md.AppendLine("| run | strategy | seed | status | steps | final loss | valid NELBO | min valid NELBO | time |");
        md.AppendLine("|---|---|---:|---|---:|---:|---:|---:|---:|");
        foreach (var run in results.Runs)
            md.AppendLine(Inv($"| {run.Name} | {run.Strategy} | {run.Seed} | {run.Status.ToString().ToLowerInvariant()} | {run.Steps} | {F(run.FinalLoss)} | {F(run.FinalValidNelbo)} | {F(run.MinValidNelbo)} | {(double.IsFinite(run.WallSeconds) ? $"{run.WallSeconds:F0} s" : "–")} |"));
        md.AppendLine();

        if (lossPlots.Count > 0)
        {
            md.AppendLine("## Loss curves (main runs overlaid)").AppendLine();
            foreach (var plot in lossPlots) md.AppendLine($"![{Path.GetFileNameWithoutExtension(plot)}]({PlotsFolder}/{plot})");
            md.AppendLine();
        }
        foreach (var plot in allPlots.Except(lossPlots))
            md.AppendLine($"![{Path.GetFileNameWithoutExtension(plot)}]({PlotsFolder}/{plot})");
        if (allPlots.Except(lossPlots).Any()) md.AppendLine();

        md.AppendLine("## Agreement with the paper").AppendLine();
        var claims = Claims(table1, slopes, lambdaBest);
        claims.AddRange(probeClaims);
        if (claims.Count == 0) md.AppendLine("Nothing to compare: the experiment has no MDLM baseline or no anchored variant.");
        foreach (var claim in claims)
        {
            string verdict = claim.Agrees switch { true => "agrees", false => "does not agree", null => "undecided (tie or not measured)" };
            md.AppendLine($"- **{verdict}**: {claim.Statement}. Paper: {claim.Paper}. Here: {claim.Ours}.");
        }
        md.AppendLine();
        md.AppendLine($"{claims.Count(c => c.Agrees == true)} of {claims.Count(c => c.Agrees is not null)} measured claims agree in direction; a difference within two standard errors is not evidence either way.").AppendLine();

        AppendExamples(md, config, plan, results);

        md.AppendLine("## How this was made").AppendLine();
        md.AppendLine("```bash").AppendLine(commandLine).AppendLine("```").AppendLine();
        md.AppendLine("Config (`config.json` in this folder; `ancoder repro --config config.json --out DIR` runs it again, and the same command resumes an interrupted experiment):").AppendLine();
        md.AppendLine("```json").AppendLine(config.ToJson()).AppendLine("```").AppendLine();
        md.AppendLine("Per run: `runs/<variant>-s<seed>/` (training `config.json`, `metrics.jsonl`, `model/`), its evaluations in "
                      + "`runs/<run>/eval/<benchmark>-T<T>/` (`results.jsonl` one line per sample, `summary.json`, `generation.json`); all numbers in `results.json`.");
        return md.ToString();
    }

    private static IEnumerable<FigureModel> Figures(ReproConfig config, ReproPlan plan, ReproResults results, string output)
    {
        if (ValidNelboByVariant(config, plan, output) is { } byVariant) yield return byVariant;
        var tValues = config.TScaling.Distinct().OrderBy(t => t).ToList();
        var tVariants = config.TScalingVariants.Where(config.Variants.Contains).ToList();
        if (tValues.Count > 0 && tVariants.Count > 0)
        {
            foreach (var (name, title, metric) in new[] { ("t_scaling_syntax", "Syntax validity vs T", "syntax"), ("t_scaling_pass1", "pass@1 vs T", "pass1"), ("t_scaling_valid_lines", "Valid-line fraction vs T", "lines") })
            {
                var series = new List<SeriesModel>();
                for (int v = 0; v < tVariants.Count; v++)
                {
                    var runs = plan.MainRuns(tVariants[v]);
                    foreach (var (benchmark, style) in new[] { ("humaneval", LineStyle.Solid), ("mbpp", LineStyle.Dashed) })
                    {
                        var points = tValues.Select(t => (T: (double)t, Y: metric switch
                            {
                                "syntax" => Syntax(runs, results, benchmark, t).Mean,
                                "lines" => Lines(runs, results, benchmark, t).Mean,
                                _ => Pass1(runs, results, benchmark, t).Mean,
                            }))
                            .Where(p => double.IsFinite(p.Y)).ToList();
                        if (points.Count == 0) continue;
                        series.Add(new SeriesModel(v, metric, $"{N(tVariants[v])} {benchmark}", points.Select(p => p.T).ToArray(),
                            points.Select(p => 100 * p.Y).ToArray(), style, false, true));
                    }
                }
                if (series.Count > 0) yield return new FigureModel(name, title, "reverse steps T", "%", false, series);
            }
        }
        if (config.LambdaAblation.Length > 0)
        {
            foreach (var (name, title, lines) in new[] { ("lambda_ablation", "HumanEval syntax validity vs anchor weight λ", false),
                         ("lambda_ablation_valid_lines", "HumanEval valid-line fraction vs anchor weight λ", true) })
            {
                var series = new List<SeriesModel>();
                for (int s = 0; s < config.LambdaStrategies.Length; s++)
                {
                    var strategy = config.LambdaStrategies[s];
                    var points = LambdaValues(config, plan, strategy).Where(l => l > 0).Select(l =>
                        {
                            var runs = Enumerable.Range(0, config.AblationSeeds).Select(seed => plan.Find(strategy, seed, l, null, null)).OfType<PlannedRun>().ToList();
                            return (X: Math.Log10(l), Y: (lines ? Lines(runs, results, "humaneval", config.EvalSteps) : Syntax(runs, results, "humaneval", config.EvalSteps)).Mean);
                        })
                        .Where(p => double.IsFinite(p.Y)).ToList();
                    if (points.Count > 0)
                        series.Add(new SeriesModel(s, lines ? "lines" : "syntax", N(strategy), points.Select(p => p.X).ToArray(), points.Select(p => 100 * p.Y).ToArray(), LineStyle.Solid, false, true));
                }
                if (series.Count > 0) yield return new FigureModel(name, title, "log10 λ", "%", false, series);
            }
        }
    }

    private static readonly MeanWithError None = MeanWithError.None;

    /// <summary>
    /// A handful of samples per Table 1 row (its first seed, T = EvalSteps), so a reader sees what "valid" and
    /// "non-trivial" mean: up to two of each verdict, as judged (a completion that hit the length cap cut at its last complete line).
    /// </summary>
    private static void AppendExamples(StringBuilder md, ReproConfig config, ReproPlan plan, ReproResults results)
    {
        var shown = config.Variants.SelectMany(v => plan.MainRuns(v).Take(1).Select(r => (Variant: v, Run: r)))
            .SelectMany(x => new[] { "humaneval", "mbpp" }.Select(b => (x.Variant, x.Run, Benchmark: b, Eval: results.Eval(x.Run.Name, b, config.EvalSteps))))
            .Where(x => x.Eval?.Examples is { Count: > 0 }).ToList();
        if (shown.Count == 0) return;
        md.AppendLine(Inv($"## Example samples (first seed of each variant, T = {config.EvalSteps})")).AppendLine();
        md.AppendLine("Up to two samples of each verdict: non-trivially valid, syntax-valid but trivial (with the rule it broke), invalid. "
                      + "HumanEval completions continue the prompt (not shown); MBPP completions are whole solutions.").AppendLine();
        foreach (var (variant, run, benchmark, eval) in shown)
        {
            md.AppendLine($"### {N(variant)} ({run.Name}), {benchmark}").AppendLine();
            foreach (var example in eval!.Examples!) ReproReport.AppendExample(md, example);
        }
    }

    /// <summary>
    /// Variant − baseline per seed (the same seed means the same initialisation seed and data order), then mean ± standard
    /// error of those differences over seeds: the seed-to-seed spread that both share cancels, unlike in Table 1's errors.
    /// </summary>
    public static MeanWithError PairedDifference(IReadOnlyList<PlannedRun> variantRuns, IReadOnlyList<PlannedRun> baselineRuns, Func<PlannedRun, double> value) =>
        SampleStatistics.Summarize(variantRuns.Join(baselineRuns, r => r.Seed, r => r.Seed, (a, b) => value(a) - value(b)));

    private static void AppendPairedDifferences(StringBuilder md, ReproConfig config, ReproPlan plan, ReproResults results)
    {
        var baselines = new[] { AnchorStrategy.Mdlm, AnchorStrategy.Null }.Where(config.Variants.Contains).ToList();
        if (baselines.Count == 0 || config.Variants.Length < 2) return;
        md.AppendLine(Inv($"Paired differences (variant − baseline on the same seed, then mean ± standard error over the {config.Seeds} seeds; T = {config.EvalSteps}). "))
          .AppendLine("NELBO: lower is better, so a negative difference favours the variant; percentages: points.").AppendLine();
        md.AppendLine("| comparison | valid NELBO | HumanEval syntax | HumanEval non-trivial | MBPP syntax | MBPP non-trivial | HumanEval valid lines | MBPP valid lines |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var baseline in baselines)
            foreach (var variant in config.Variants.Where(v => v != baseline && !(baseline == AnchorStrategy.Null && v == AnchorStrategy.Mdlm)))
            {
                var (a, b) = (plan.MainRuns(variant), plan.MainRuns(baseline));
                double Nelbo(PlannedRun r) => results.Run(r.Name)?.FinalValidNelbo ?? double.NaN;
                Func<PlannedRun, double> Eval(string benchmark, Func<EvalResult, double?> figure) => r =>
                    results.Eval(r.Name, benchmark, config.EvalSteps) is { } e ? figure(e) ?? double.NaN : double.NaN;
                Func<EvalResult, double?> syntax = e => e.SyntaxValidity, nonTrivial = e => e.NonTrivialValidity, lines = e => e.ValidLines;
                md.AppendLine($"| {N(variant)} − {N(baseline)} | {PairedDifference(a, b, Nelbo).Format(1, 4)} | {PairedDifference(a, b, Eval("humaneval", syntax)).Format(100)} "
                              + $"| {PairedDifference(a, b, Eval("humaneval", nonTrivial)).Format(100)} | {PairedDifference(a, b, Eval("mbpp", syntax)).Format(100)} "
                              + $"| {PairedDifference(a, b, Eval("mbpp", nonTrivial)).Format(100)} | {PairedDifference(a, b, Eval("humaneval", lines)).Format(100)} | {PairedDifference(a, b, Eval("mbpp", lines)).Format(100)} |");
            }
        md.AppendLine();
    }

    /// <summary>Validation NELBO against step, one curve per variant (mean over its seeds, at the steps every seed has), seeds faint.</summary>
    private static FigureModel? ValidNelboByVariant(ReproConfig config, ReproPlan plan, string output)
    {
        var series = new List<SeriesModel>();
        for (int v = 0; v < config.Variants.Length; v++)
        {
            var seeds = new List<Dictionary<long, double>>();
            foreach (var run in plan.MainRuns(config.Variants[v]))
            {
                string directory = Path.Combine(output, ReproRunner.RunsFolder, run.Name);
                if (!File.Exists(Path.Combine(directory, MetricsRecord.FileName))) continue;
                try
                {
                    var points = RunData.Load(directory).Records.Where(r => r.ValidNelbo is { } v && double.IsFinite(v))
                        .GroupBy(r => r.Step).ToDictionary(g => g.Key, g => g.Last().ValidNelbo!.Value);
                    if (points.Count == 0) continue;
                    seeds.Add(points);
                    var ordered = points.OrderBy(p => p.Key).ToList();
                    series.Add(new SeriesModel(v, "valid_nelbo", null, ordered.Select(p => (double)p.Key).ToArray(), ordered.Select(p => p.Value).ToArray(), LineStyle.Solid, true, false));
                }
                catch (PlotException)
                {
                    // unreadable metrics: the run is left out of the figure (the training table shows dashes)
                }
            }
            if (seeds.Count == 0) continue;
            var common = seeds.Skip(1).Aggregate(seeds[0].Keys.ToHashSet(), (set, s) => { set.IntersectWith(s.Keys); return set; }).Order().ToList();
            if (common.Count == 0) continue;
            series.Add(new SeriesModel(v, "valid_nelbo", $"{N(config.Variants[v])} (mean of {seeds.Count})", common.Select(x => (double)x).ToArray(),
                common.Select(step => seeds.Average(s => s[step])).ToArray(), LineStyle.Solid, false, true));
        }
        return series.Count == 0 ? null : new FigureModel("valid_nelbo_by_variant", "Validation NELBO by variant (mean over seeds; seeds faint)", "step", "NELBO (nats/token)", false, series);
    }

    /// <summary>
    /// The probe's claims (§4.2): in-out beats out-in, and out-in beats random. Per model, the mean paired difference over
    /// t and k (k &lt; K for the chain orders, which reveal the same set at k = K); then mean ± standard error over seeds.
    /// </summary>
    public static List<ClaimCheck> ProbeClaims(IReadOnlyList<ProbeResult> probes, int k)
    {
        var claims = new List<ClaimCheck>();
        foreach (var variant in probes.Select(p => p.Strategy).Distinct())
            foreach (var (better, worse, maxHints) in new[] { ("in-out", "out-in", k - 1), ("out-in", "random", k) })
            {
                var perSeed = probes.Where(p => p.Strategy == variant).Select(p =>
                {
                    var gaps = p.Gaps.Where(g => g.Better == better && g.Worse == worse && g.Hints >= 1 && g.Hints <= maxHints && double.IsFinite(g.Mean)).ToList();
                    return gaps.Count == 0 ? double.NaN : gaps.Average(g => g.Mean);
                }).ToList();
                var m = SampleStatistics.Summarize(perSeed);
                if (m.Count == 0) continue;
                double se = m.StandardError;
                string note = double.IsFinite(se)
                    ? Inv($"{1000 * m.Mean:+0.000;-0.000;0.000} ± {1000 * se:0.000} × 10⁻³ in p(target) over {m.Count} seeds, {(Math.Abs(m.Mean) > 2 * se ? "beyond" : "within")} 2 standard errors")
                    : Inv($"{1000 * m.Mean:+0.000;-0.000;0.000} × 10⁻³ in p(target), one seed: no error bar");
                claims.Add(new ClaimCheck($"probe: revealing hints {better} helps {variant} more than {worse}",
                    "in-out > out-in > random (Figure 5)", note, m.Mean == 0 ? null : m.Mean > 0));
            }
        return claims;
    }

    /// <summary>The paper's λ for a strategy (docs/algorithms.md §5).</summary>
    private static double PaperLambda(AnchorStrategy strategy) =>
        AnchorWeightOptions.Defaults(strategy).Lambda;

    /// <summary>The λ rows of a strategy: the ablation's values plus the paper's default when the main runs train it.</summary>
    internal static List<double> LambdaValues(ReproConfig config, ReproPlan plan, AnchorStrategy strategy)
    {
        double paperLambda = PaperLambda(strategy);
        var values = config.LambdaAblation.ToList();
        if (plan.Find(strategy, 0, paperLambda, null, null) is not null) values.Add(paperLambda);
        return values.Distinct().OrderBy(l => l).ToList();
    }

    /// <summary>The λ values ranked first: highest syntax validity, ties broken by the higher valid-line fraction (NaN ranks last).</summary>
    public static IReadOnlyList<double> Best(IReadOnlyList<(double Lambda, double Syntax, double Lines)> rows)
    {
        if (rows.Count == 0) return [];
        double topSyntax = rows.Max(r => r.Syntax);
        var tied = rows.Where(r => r.Syntax == topSyntax).ToList();
        var finite = tied.Where(r => double.IsFinite(r.Lines)).ToList();
        if (finite.Count == 0) return tied.Select(r => r.Lambda).ToList();
        double topLines = finite.Max(r => r.Lines);
        return finite.Where(r => r.Lines == topLines).Select(r => r.Lambda).ToList();
    }

    private static string P(double? paper) => paper is { } p ? p.ToString("0.00", CultureInfo.InvariantCulture) : "–";

    private static string F(double value) => double.IsFinite(value) ? value.ToString("F4", CultureInfo.InvariantCulture) : "–";

    /// <summary>
    /// ", syntax repair R round(s), repetition penalty θ = …, frequency penalty α = …, viable-prefix guard" for the
    /// diffusion evaluations' options past the paper's sampler that are on (both reports; empty when none is).
    /// </summary>
    internal static string DecodingExtras(ReproConfig config) =>
        (config.EvalRepair > 0 ? Inv($", syntax repair {config.EvalRepair} round(s)") : "")
        + Penalties(config.EvalRepetitionPenalty, config.EvalFrequencyPenalty, config.EvalGuard);

    /// <summary>θ, α and the guard as a clause (docs/algorithms.md §7, docs/decoding.md); empty when all are off.</summary>
    internal static string Penalties(double repetition, double frequency, AnCoder.Diffusion.Sampling.DecodingGuard guard) =>
        (repetition != 1 ? Inv($", repetition penalty θ = {repetition}") : "")
        + (frequency != 0 ? Inv($", frequency penalty α = {frequency}") : "")
        + (guard != AnCoder.Diffusion.Sampling.DecodingGuard.None ? ", viable-prefix guard" : "");

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>One example sample as a list item: its verdict (with the non-trivial rule it broke) and its text, fenced
    /// (cut at 600 characters). Shared by the from-scratch and the recipe report.</summary>
    internal static void AppendExample(StringBuilder md, SampleExample example)
    {
        string verdict = example.NonTrivial == true ? "non-trivially valid"
            : example.SyntaxValid == true ? $"syntax-valid, trivial ({(example.Reason ?? "not judged").Replace('_', ' ')})"
            : "not syntax-valid";
        md.AppendLine($"- `{example.TaskId}` sample {example.SampleIndex}: {verdict}{(example.Passed ? ", passed" : "")}").AppendLine();
        string text = example.Completion.Length > 600 ? example.Completion[..600] + "\n…" : example.Completion;
        string fence = text.Contains("```", StringComparison.Ordinal) ? "~~~~" : "```";
        md.AppendLine($"  {fence}python");
        foreach (var line in (text.Length == 0 ? "(empty)" : text).TrimEnd('\n').Split('\n')) md.AppendLine("  " + line);
        md.AppendLine($"  {fence}").AppendLine();
    }

}
