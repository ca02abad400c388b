using System.Globalization;
using System.Text;
using AnCoder.Anchoring.Settings;
using AnCoder.Evaluation.Scoring;
using AnCoder.Reporting.Plotting;

using AnCoder.Experiments.Statistics;

namespace AnCoder.Experiments.Repro;

/// <summary>A Table 1 row's cells: fractions in [0, 1], mean ± standard error over the row's seeds.</summary>
public sealed record RecipeRowScores(MeanWithError HumanEvalSyntax, MeanWithError HumanEvalNonTrivial, MeanWithError HumanEvalPass1,
    MeanWithError MbppSyntax, MeanWithError MbppNonTrivial, MeanWithError MbppPass1);

/// <summary>
/// OUT/REPORT.md of a recipe experiment (docs/recipe.md §4): the stages with steps, tokens and FLOPs; Table 1 with
/// every row of the paper's (AR base gray row, MDLM one-network, MDLM two-stage, Null, Keyword, Identifier,
/// AnchorTree) as mean ± SE over seeds beside the paper's numbers; paired differences within a seed; the equal-steps
/// and equal-FLOPs readings; which of the paper's orderings hold; validation NLL against training tokens per stage;
/// a handful of samples per row; the command and config.
/// </summary>
public static class RecipeReport
{
    /// <summary>The metrics of a row member's evaluation, by name (fractions; NaN when missing).</summary>
    public static double Metric(RecipeResults results, RecipeRowMember member, string benchmark, string metric)
    {
        var eval = results.Eval(benchmark == "humaneval" ? member.HumanEval : member.Mbpp);
        if (eval is null) return double.NaN;
        double? value = metric switch
        {
            "syntax" => eval.SyntaxValidity,
            "non_trivial" => eval.NonTrivialValidity,
            _ => eval.Problems.Count == 0 ? null : PassAtK.Mean(eval.Problems.Select(p => (p.N, p.C)), 1),
        };
        return value ?? double.NaN;
    }

    public static RecipeRowScores Scores(RecipeRow row, RecipeResults results)
    {
        MeanWithError S(string benchmark, string metric) => SampleStatistics.Summarize(row.Members.Select(m => Metric(results, m, benchmark, metric)));
        return new RecipeRowScores(S("humaneval", "syntax"), S("humaneval", "non_trivial"), S("humaneval", "pass1"),
            S("mbpp", "syntax"), S("mbpp", "non_trivial"), S("mbpp", "pass1"));
    }

    /// <summary>Row A − row B per seed (members with the same seed: same initialisation, data order and sampling seed), mean ± SE over seeds.</summary>
    public static MeanWithError Paired(RecipeRow a, RecipeRow b, RecipeResults results, string benchmark, string metric) =>
        SampleStatistics.Summarize(a.Members.Join(b.Members, m => m.Seed, m => m.Seed,
            (x, y) => Metric(results, x, benchmark, metric) - Metric(results, y, benchmark, metric)));

    /// <summary>The comparisons of the paired-difference table (first minus second), where both rows exist.</summary>
    public static readonly (string A, string B)[] PairedComparisons =
    [
        ("anchortree", "null"), ("anchortree", "mdlm-two-stage"), ("anchortree", "mdlm-one-network"), ("null", "mdlm-two-stage"),
        ("keyword", "null"), ("identifier", "null"), ("keyword", "mdlm-two-stage"), ("identifier", "mdlm-two-stage"),
        ("mdlm-two-stage", "mdlm-one-network"),
    ];

    private static readonly (string Benchmark, string Metric, string Title)[] Metrics =
    [
        ("humaneval", "syntax", "HumanEval syntax"), ("humaneval", "non_trivial", "HumanEval non-trivial"), ("humaneval", "pass1", "HumanEval pass@1"),
        ("mbpp", "syntax", "MBPP syntax"), ("mbpp", "non_trivial", "MBPP non-trivial"), ("mbpp", "pass1", "MBPP pass@1"),
    ];

    /// <summary>One ordering of the paper checked here: "A above B on the metric".</summary>
    public sealed record Ordering(string A, string B, string Benchmark, string Metric, double? PaperA, double? PaperB);

    /// <summary>The orderings the paper's Table 1 shows (its syntax validity and pass@1; AnCoder rows above MDLM two-stage, AnchorTree on top, the AR model above all).</summary>
    public static IReadOnlyList<Ordering> PaperOrderings()
    {
        var list = new List<Ordering>();
        foreach (var metric in new[] { "syntax", "pass1" })
        {
            double? P(string key, string benchmark) { var c = RecipePlan.PaperFor(key); return benchmark == "humaneval" ? metric == "syntax" ? c.HumanEvalSyntax : c.HumanEvalPass1 : metric == "syntax" ? c.MbppSyntax : c.MbppPass1; }
            foreach (var x in new[] { "null", "keyword", "identifier", "anchortree" })
                list.Add(new Ordering(x, "mdlm-two-stage", "humaneval", metric, P(x, "humaneval"), P("mdlm-two-stage", "humaneval")));
            foreach (var x in new[] { "null", "keyword", "identifier" })
                list.Add(new Ordering("anchortree", x, "humaneval", metric, P("anchortree", "humaneval"), P(x, "humaneval")));
            list.Add(new Ordering("anchortree", "mdlm-two-stage", "mbpp", metric, P("anchortree", "mbpp"), P("mdlm-two-stage", "mbpp")));
            list.Add(new Ordering("ar-sft", "anchortree", "humaneval", metric, P("ar-sft", "humaneval"), P("anchortree", "humaneval")));
        }
        return list;
    }

    /// <summary>
    /// One sentence per ordering: holds / does not hold / not measured here, with our difference (paired within seeds
    /// when both rows are diffusion rows with common seeds, else the two rows' independent standard errors).
    /// </summary>
    public static List<(string Sentence, bool? Holds)> CheckOrderings(RecipePlan plan, RecipeResults results)
    {
        var rows = plan.Rows.ToDictionary(r => r.Key);
        var sentences = new List<(string, bool?)>();
        foreach (var o in PaperOrderings())
        {
            if (!rows.TryGetValue(o.A, out var a) || !rows.TryGetValue(o.B, out var b)) continue;
            string metricName = (o.Benchmark == "humaneval" ? "HumanEval " : "MBPP ") + (o.Metric == "syntax" ? "syntax validity" : "pass@1");
            string paper = o.PaperA is { } pa && o.PaperB is { } pb ? Inv($"paper {pa:0.00} vs {pb:0.00}") : "paper: a gap in its table, the ordering is ours";
            string head = $"{a.Label} above {b.Label} on {metricName} ({paper})";
            var sa = Scores(a, results);
            var sb = Scores(b, results);
            MeanWithError Pick(RecipeRowScores s) => (o.Benchmark, o.Metric) switch
            {
                ("humaneval", "syntax") => s.HumanEvalSyntax,
                ("humaneval", _) => s.HumanEvalPass1,
                ("mbpp", "syntax") => s.MbppSyntax,
                _ => s.MbppPass1,
            };
            var (ma, mb) = (Pick(sa), Pick(sb));
            if (ma.Count == 0 || mb.Count == 0)
            {
                sentences.Add(($"{head}: not measured here.", null));
                continue;
            }
            bool paired = !a.Autoregressive && !b.Autoregressive;
            var difference = paired ? Paired(a, b, results, o.Benchmark, o.Metric) : new MeanWithError(ma.Mean - mb.Mean, SampleStatistics.DifferenceError(ma, mb), Math.Min(ma.Count, mb.Count));
            double se = difference.StandardError;
            string error = double.IsFinite(se)
                ? Inv($" ± {100 * se:0.00}") + (paired ? " (paired within seeds)" : " (independent)") + (Math.Abs(difference.Mean) > 2 * se ? ", beyond 2 SE" : ", within 2 SE")
                : " (one seed: no error bar)";
            bool? holds = difference.Mean == 0 ? null : difference.Mean > 0;
            string verdict = holds switch { true => "holds here", false => "does not hold here", null => "a tie here" };
            sentences.Add((Inv($"{head}: {verdict}, {100 * ma.Mean:0.00} vs {100 * mb.Mean:0.00} %, difference {100 * difference.Mean:+0.00;-0.00;0.00}") + error + ".", holds));
        }
        return sentences;
    }

    /// <summary>Writes OUT/REPORT.md; returns warnings.</summary>
    public static IReadOnlyList<string> Write(string output, ReproConfig config, RecipePlan plan, RecipeResults results, string commandLine)
    {
        var warnings = new List<string>();
        string plots = Path.Combine(output, ReproReport.PlotsFolder);
        foreach (var figure in new[] { ValidationFigure(results) }.OfType<FigureModel>())
        {
            try
            {
                Directory.CreateDirectory(plots);
                RunPlots.WriteAtomically(Path.Combine(plots, figure.Name + ".png"), FigureRenderer.RenderPng(figure, 900, 560));
            }
            catch (Exception e) when (e is PlotException or ArgumentException or InvalidOperationException)
            {
                // A figure that cannot be drawn must not cost the report.
                warnings.Add($"{figure.Name}.png not drawn: {e.Message}");
            }
        }
        string path = Path.Combine(output, ReproReport.FileName);
        RunPlots.WriteAtomically(path, Encoding.UTF8.GetBytes(Markdown(config, plan, results, commandLine)));
        return warnings;
    }

    public const string ValidationFigureName = "validation_by_stage";

    /// <summary>
    /// Validation loss against the stage's training tokens: the AR stages, and per variant its adaptation (solid) and SFT
    /// (dashed, as are the longer stages) stages, one colour per variant, seeds after the first faint. Null when no stage has a validation point.
    /// </summary>
    public static FigureModel? ValidationFigure(RecipeResults results)
    {
        var series = new List<SeriesModel>();
        var colours = results.Stages.Select(s => s.Variant).Distinct().ToList();
        var labelled = new HashSet<string>();
        foreach (var stage in results.Stages.Where(s => s.Validation.Count > 0))
        {
            bool firstSeed = !results.Stages.Any(o => o.Variant == stage.Variant && o.Kind == stage.Kind && o.Seed < stage.Seed && o.Validation.Count > 0);
            string label = stage.Variant == "ar" ? stage.Name : $"{stage.Variant} {stage.Kind}";
            // One legend entry per label: a seed's chain of longer stages shares one ("mdlm longer" once, not per stage).
            bool legend = firstSeed && labelled.Add(label);
            series.Add(new SeriesModel(colours.IndexOf(stage.Variant), "valid_nll", legend ? label : null, stage.Validation.Select(p => p.Tokens).ToArray(),
                stage.Validation.Select(p => p.ValidNll).ToArray(), stage.Kind is "sft" or "ar_sft" or "longer" ? LineStyle.Dashed : LineStyle.Solid, !firstSeed, true));
        }
        return series.Count == 0 ? null : new FigureModel(ValidationFigureName, "Validation loss by stage (dashed: SFT and longer training; faint: later seeds)", "training tokens of the stage", "valid NLL (nats/token)", false, series);
    }

    /// <summary>The diffusion rows' decoding options beyond the paper's sampler, as a clause (empty when all are off).</summary>
    internal static string DiffusionDecoding(ReproConfig config) =>
        (config.EvalParallel is { } tau ? Inv($", confidence-parallel τ_p = {tau} (network calls adapt; 1 = one token per call)") : "")
        + ReproReport.DecodingExtras(config);

    /// <summary>Where stage 1 starts and what it trains on, when the config departs from the paper's layout.</summary>
    internal static string StageSources(RecipeConfig recipe) =>
        recipe.AdaptFrom == RecipeAdaptSource.Base && !recipe.AdaptOnPairs ? ""
        : "Stage 1 here departs from the paper's layout (docs/recipe.md §10): it starts from "
          + (recipe.AdaptFrom == RecipeAdaptSource.Sft ? "the fine-tuned AR model (ar-sft)" : "the AR base")
          + (recipe.AdaptOnPairs ? " and trains on the SFT pairs with the prompt never masked. " : " and trains on the pre-training corpus. ");

    /// <summary>The arithmetic and torch threads of the run (a stage section may set threads of its own).</summary>
    internal static string PrecisionAndThreads(ReproConfig config)
    {
        var own = Enum.GetValues<RecipeStageKind>().Where(kind => kind != RecipeStageKind.Longer) // its section is sft's
            .Select(kind => (Name: RecipeTraining.SectionName(kind), Threads: RecipeTraining.SectionThreads(config.Recipe!, kind)))
            .Where(s => s.Threads is not null).Select(s => Inv($"{s.Name} {s.Threads}")).ToList();
        return Inv($"Training precision {config.Training.Precision.ToString().ToLowerInvariant()}, evaluation precision ")
               + config.EvalPrecision.ToString().ToLowerInvariant()
               + "; torch threads per process: " + (config.Training.Threads > 0 ? Inv($"{config.Training.Threads}") : "torch's default")
               + (own.Count > 0 ? " (stage sections: " + string.Join(", ", own) + ")" : "") + ". ";
    }

    public static string Markdown(ReproConfig config, RecipePlan plan, RecipeResults results, string commandLine)
    {
        var recipe = config.Recipe!;
        var md = new StringBuilder();
        md.AppendLine("# The paper's recipe at CPU scale: Table 1").AppendLine();
        md.AppendLine(Inv($"Generated {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC by `ancoder repro` from the experiment folder (docs/recipe.md §4). "))
          .AppendLine("Stage 0a trains one autoregressive base (our stand-in for Qwen2.5-Coder, a Hugging Face Qwen2 folder), stage 0b fine-tunes it on the "
                      + "docstring→body pairs (the gray AR row); per variant and seed, stage 1 adapts the AR base to diffusion (φ = the AR model made "
                      + "bidirectional, ψ = its first layers; MDLM one-network = the whole AR model) and stage 3 fine-tunes on the same pairs (prompt never masked).")
          .AppendLine(Inv($"{config.Seeds} training seed(s) per diffusion row (seed s: the same initialisation seed and data order for every variant; the AR base is shared); "))
          .AppendLine(Inv($"the AR rows are one model each, sampled with {recipe.EffectiveArSeeds} sampling seed(s)."))
          .AppendLine().AppendLine(Inv($"Evaluation: HumanEval, the first {config.HumanevalProblems} problems (all 164 when ≥ 164) × {config.HumanevalN} sample(s) per seed; MBPP, the first "))
          .AppendLine(Inv($"{config.MbppProblems} problems of its test split (a fixed subset) × {config.MbppN} sample(s) per seed. Diffusion rows: T = {config.EvalSteps}, G = {config.EvalLength} tokens, "))
          .AppendLine(Inv($"τ = {config.Temperature}, unmask order `{SettingNames.Name(config.EvalOrder)}`{DiffusionDecoding(config)}, ")
                      + (config.EvalParallel is null ? Inv($"remasking `{config.AnchoredRemask}` for Null/Keyword/Identifier/AnchorTree and none for both MDLM rows ") : "no remasking in any row, so the Null row is the MDLM two-stage row's evaluation (the same models, the same sampler) "))
          .AppendLine(Inv($"(MDLM two-stage is the Null model sampled without remasking, as the paper's 809M MDLM). AR rows: at most {recipe.ArEvalLength ?? config.EvalLength} new tokens, "))
          .AppendLine(Inv($"τ = {recipe.ArTemperature}{(recipe.ArTemperature == 0 ? " (greedy)" : "")}, top-p {recipe.ArTopP}{ReproReport.Penalties(recipe.ArRepetitionPenalty, recipe.ArFrequencyPenalty, recipe.ArGuard)}, KV cache, HumanEval's stop sequences. "))
          .AppendLine(StageSources(recipe))
          .AppendLine(PrecisionAndThreads(config))
          .AppendLine("Percentages are mean ± standard error over seeds (n − 1 standard deviation / √seeds). The paper's numbers are GPU-scale models "
                      + "(Qwen2.5-Coder-0.5B start): compare orderings, not absolute values.").AppendLine();

        AppendTable1(md, plan, results);
        AppendPaired(md, plan, results);
        AppendStages(md, plan, results);
        AppendOrderings(md, plan, results);
        AppendCurve(md, results);
        AppendLonger(md, config, plan, results);
        AppendValidation(md, results);
        AppendExamples(md, plan, results);

        md.AppendLine("## Reproduce").AppendLine();
        md.AppendLine("Command:").AppendLine().AppendLine("```").AppendLine(commandLine).AppendLine("```").AppendLine();
        md.AppendLine("Config (`config.json` in the experiment folder; the same command resumes an interrupted experiment, and `--workers 2` runs two single-thread workers side by side):").AppendLine();
        md.AppendLine("```json").AppendLine(config.ToJson()).AppendLine("```").AppendLine();
        md.AppendLine("Folders: `runs/ar-base/`, `runs/ar-sft/`, `runs/<variant>-s<seed>/adapt/`, `runs/<variant>-s<seed>/sft/` (each a training run: `config.json`, "
                      + "`metrics.jsonl`, `model/`), evaluations in `runs/<stage>/eval/<benchmark>-T<T>[-remask-none]/` and `runs/ar-*/eval/<benchmark>-seed<k>/` "
                      + "(`results.jsonl`, `summary.json`, `generation.json`); all numbers in `results.json`.");
        return md.ToString();
    }

    private static void AppendTable1(StringBuilder md, RecipePlan plan, RecipeResults results)
    {
        md.AppendLine("## Table 1").AppendLine();
        md.AppendLine("| row | seeds | HumanEval syntax % | paper | HumanEval non-trivial % | HumanEval pass@1 % | paper | MBPP syntax % | paper | MBPP non-trivial % | MBPP pass@1 % | paper | HumanEval reference NLL |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in plan.Rows)
        {
            var s = Scores(row, results);
            string label = row.Autoregressive ? $"*{row.Label}* (gray)" : row.Label;
            md.AppendLine($"| {label} | {s.HumanEvalSyntax.Count} | {s.HumanEvalSyntax.Format(100)} | {P(row.Paper.HumanEvalSyntax)} | {s.HumanEvalNonTrivial.Format(100)} | {s.HumanEvalPass1.Format(100)} | {P(row.Paper.HumanEvalPass1)} "
                          + $"| {s.MbppSyntax.Format(100)} | {P(row.Paper.MbppSyntax)} | {s.MbppNonTrivial.Format(100)} | {s.MbppPass1.Format(100)} | {P(row.Paper.MbppPass1)} | {ReferenceNllCell(row, results)} |");
        }
        md.AppendLine();
        md.AppendLine("*HumanEval reference NLL* (ours): nats per token of the reference solutions of the first HumanEval problems (`recipe.reference_nll_problems`), "
                      + "as left-to-right decoding meets them: the AR models by their causal forward, the diffusion models on the canvas of one-token-per-call "
                      + "decoding (prompt, the reference so far, the rest of G masked; docs/recipe.md §9); mean ± SE over the row's models (one model: its value). "
                      + "Lower is better; it does not depend on the sampler, so the two rows of the null model share it.").AppendLine();
        md.AppendLine("*Paper* columns: the paper's Table 1 — the AnCoder rows and the 809M MDLM (the same two-stage φ→ψ architecture trained without "
                      + "an anchor loss, sampled without remasking; our \"MDLM two-stage\") as in docs/algorithms.md §10; the gray AR row (Qwen2.5-Coder-0.5B, "
                      + "HumanEval 93.9 % syntax, 26.8 % pass@1) as quoted in issue 16. The one-network MDLM (494M) row's numbers and the AR row's MBPP numbers "
                      + "are not in this repository (–). The AR row here is our AR base after SFT; \"AR base, no SFT\" is stage 0a alone.").AppendLine();
        md.AppendLine("*Syntax* is the paper's measure (the program parses). *Non-trivial* (ours, stricter): a completion that hit the length cap is cut "
                      + "at its last complete line; then it must parse, add a statement to the task's function body that is not `pass`, `...` or a docstring, "
                      + "read one of the function's parameters, and repeat no line three or more times in a row.").AppendLine();
    }

    /// <summary>The row's models' reference NLLs (each stage once: the AR rows' sampling seeds share one model).</summary>
    internal static string ReferenceNllCell(RecipeRow row, RecipeResults results)
    {
        var values = row.Members.Select(m => m.HumanEval?.Stage).Where(s => s is not null).Distinct()
            .Select(s => results.Stage(s!)?.ReferenceNll).Where(v => v is not null).Select(v => v!.Value).ToList();
        if (values.Count == 0) return "–";
        if (values.Count == 1) return values[0].ToString("F3", CultureInfo.InvariantCulture);
        double mean = values.Average(), sd = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
        return string.Create(CultureInfo.InvariantCulture, $"{mean:F3} ± {sd / Math.Sqrt(values.Count):F3}");
    }

    private static void AppendPaired(StringBuilder md, RecipePlan plan, RecipeResults results)
    {
        var rows = plan.Rows.ToDictionary(r => r.Key);
        var pairs = PairedComparisons.Where(p => rows.ContainsKey(p.A) && rows.ContainsKey(p.B)).ToList();
        if (pairs.Count == 0) return;
        md.AppendLine("## Paired differences within a seed").AppendLine();
        md.AppendLine("Row A − row B on the same training seed (same initialisation seed, data order and sampling seed), then mean ± standard error "
                      + "over seeds, in points: the seed-to-seed spread both rows share cancels, unlike in Table 1's errors.").AppendLine();
        md.AppendLine("| A − B | " + string.Join(" | ", Metrics.Select(m => m.Title)) + " |");
        md.AppendLine("|---|" + string.Concat(Metrics.Select(_ => "---:|")));
        foreach (var (a, b) in pairs)
            md.AppendLine($"| {rows[a].Label} − {rows[b].Label} | " + string.Join(" | ", Metrics.Select(m => Paired(rows[a], rows[b], results, m.Benchmark, m.Metric).Format(100))) + " |");
        md.AppendLine();
    }

    private static void AppendStages(StringBuilder md, RecipePlan plan, RecipeResults results)
    {
        md.AppendLine("## Training stages: steps, tokens and FLOPs").AppendLine();
        md.AppendLine("FLOPs = 6 · N · tokens + attention (`TrainingFlops`: N = the matmul weights that take part in the forward pass — both networks "
                      + "of an anchored model and its softmax(a)·E_ψ product — and 12 · L · heads · head_dim per token per layer for attention); tokens as "
                      + "`metrics.jsonl` counts them (rows × context per step). NLL: the stage's validation loss in nats per token (NELBO for diffusion stages, "
                      + "next-token NLL for AR ones), final and minimum.").AppendLine();
        md.AppendLine("| stage | status | steps | tokens | MFLOPs/token | training TFLOPs | wall | final valid NLL | min valid NLL |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var stage in plan.Stages)
        {
            var r = results.Stage(stage.Name);
            if (r is null) continue;
            md.AppendLine(Inv($"| {r.Name} | {r.Status.ToString().ToLowerInvariant()} | {r.Steps} | {N0(r.Tokens)} | {(r.FlopsPerToken is { } f ? (f / 1e6).ToString("0.00", CultureInfo.InvariantCulture) : "–")} | {F(r.Flops / 1e12, "0.000")} | {Minutes(r.WallSeconds)} | {F(r.FinalValidNll, "0.0000")} | {F(r.MinValidNll, "0.0000")} |"));
        }
        md.AppendLine();

        // Equal steps vs equal FLOPs: the diffusion rows train the same steps and tokens; their cost per step differs.
        var perVariant = plan.Stages.Where(s => s.Kind is RecipeStageKind.Adapt or RecipeStageKind.Sft).GroupBy(s => s.Variant!.Value)
            .Select(g => (Variant: g.Key, PerToken: SampleStatistics.Summarize(g.Where(s => s.Kind == RecipeStageKind.Adapt).Select(s => results.Stage(s.Name)?.FlopsPerToken ?? double.NaN)).Mean,
                Total: SampleStatistics.Summarize(g.GroupBy(s => s.Seed).Select(seed => seed.Sum(s => results.Stage(s.Name)?.Flops ?? double.NaN))).Mean))
            .ToList();
        var mdlm = perVariant.FirstOrDefault(v => v.Variant == AnCoder.Anchoring.Labels.AnchorStrategy.Mdlm);
        var anchored = perVariant.Where(v => v.Variant != AnCoder.Anchoring.Labels.AnchorStrategy.Mdlm && double.IsFinite(v.PerToken)).ToList();
        if (anchored.Count > 0)
        {
            md.AppendLine("Compute per diffusion row (stages 1 + 3 of one seed, mean over seeds; the shared AR base comes on top of every row):").AppendLine();
            foreach (var v in perVariant)
                md.AppendLine(Inv($"- {AnCoder.Anchoring.Labels.AnchorWeightOptions.Name(v.Variant)}: {F(v.PerToken / 1e6, "0.00")} MFLOPs per token, {F(v.Total / 1e12, "0.000")} TFLOPs per seed"));
            md.AppendLine();
            if (mdlm.PerToken is > 0 && double.IsFinite(mdlm.PerToken))
            {
                double ratio = anchored.Average(v => v.PerToken) / mdlm.PerToken;
                md.AppendLine(Inv($"**Equal steps** (how Table 1 compares): every diffusion row trains the same steps on the same tokens in the same order. "))
                  .AppendLine(Inv($"An anchored step (φ + ψ) costs {ratio:0.00}× an MDLM one-network step. **Equal FLOPs**: MDLM one-network would get {ratio:0.00}× "))
                  .AppendLine((plan.Rows.Any(r => r.LongerOf is not null) ? "the steps for the same compute, which Table 1's equal-steps rows do not run (the longer rows below train one row on)"
                              : "the steps for the same compute, which this experiment did not run") + " — so any lead of the two-stage rows over MDLM one-network "
                              + "is at that much more compute, while MDLM two-stage, Null, Keyword, Identifier and AnchorTree share one architecture and cost the "
                              + "same per step (the anchor loss adds no forward pass): among them equal steps is equal FLOPs.").AppendLine();
            }
        }
    }

    private static void AppendOrderings(StringBuilder md, RecipePlan plan, RecipeResults results)
    {
        var sentences = CheckOrderings(plan, results);
        if (sentences.Count == 0) return;
        md.AppendLine("## The paper's orderings here").AppendLine();
        md.AppendLine(Inv($"{sentences.Count(s => s.Holds == true)} hold, {sentences.Count(s => s.Holds == false)} do not, {sentences.Count(s => s.Holds is null)} not measured or tied:")).AppendLine();
        foreach (var (sentence, _) in sentences) md.AppendLine("- " + sentence);
        md.AppendLine();
    }

    /// <summary>The target of issue 16 for the AR base: non-trivial HumanEval validity of at least 50 %.</summary>
    public const double ArValidityTarget = 0.5;

    private static void AppendCurve(StringBuilder md, RecipeResults results)
    {
        var points = results.Curve ?? [];
        if (points.Count == 0) return;
        md.AppendLine("## HumanEval validity against training tokens (AR stages)").AppendLine();
        md.AppendLine("Saved checkpoints of the AR stages (the experiment's `curve/` folder, `ar-base-STEP` / `ar-sft-STEP`) and each stage's final "
                      + "model, sampled as the AR rows (first sampling seed); tokens are the stage's own (the SFT stage starts from the base's last step).").AppendLine();
        md.AppendLine("| stage | step | tokens | valid NLL | HumanEval syntax % | HumanEval non-trivial % |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var p in points)
            md.AppendLine(Inv($"| {p.Stage} | {p.Step} | {N0(p.Tokens)} | {(p.ValidNll is { } v ? v.ToString("0.0000", CultureInfo.InvariantCulture) : "–")} | {F(100 * (p.Syntax ?? double.NaN), "0.0")} | {F(100 * (p.NonTrivial ?? double.NaN), "0.0")} |"));
        md.AppendLine();
        foreach (var stage in points.Select(p => p.Stage).Distinct())
        {
            var series = points.Where(p => p.Stage == stage && p.NonTrivial is not null).Select(p => (p.Tokens, Value: p.NonTrivial!.Value)).ToList();
            if (series.Count < 2) continue;
            double best = series.Max(p => p.Value);
            if (best >= ArValidityTarget)
            {
                md.AppendLine(Inv($"- {stage}: reaches {100 * ArValidityTarget:0} % non-trivial validity ({100 * best:0.0} % at best)."));
                continue;
            }
            md.AppendLine(CurveSentence(stage, series));
        }
        md.AppendLine();
    }

    /// <summary>A log-linear fit is not trusted further than this many times the tokens its points cover (10 doublings).</summary>
    public const double ExtrapolationLimit = 1024;

    /// <summary>What the validity-against-tokens points of one stage predict for <paramref name="target"/> (default
    /// <see cref="ArValidityTarget"/>): the fit's rise per doubling of tokens, and the tokens it needs when that is within
    /// <see cref="ExtrapolationLimit"/> times the tokens trained; otherwise it says the points cannot predict it (a nearly
    /// flat fit gives absurd figures).</summary>
    public static string CurveSentence(string stage, IReadOnlyList<(double Tokens, double Value)> series, double target = ArValidityTarget)
    {
        double trained = series.Max(p => p.Tokens);
        double slope = SampleStatistics.Slope(series.Select(p => Math.Log2(p.Tokens)).ToList(), series.Select(p => p.Value).ToList());
        double needed = SampleStatistics.TokensToReach(series, target);
        string fit = Inv($"a log-linear fit of non-trivial validity against log2(tokens) through {series.Count} points rises {100 * slope:+0.00;-0.00} points per doubling of tokens");
        if (!double.IsFinite(needed))
            return Inv($"- {stage}: {fit}: it does not rise, so no extrapolation to {100 * target:0} %.");
        if (needed > ExtrapolationLimit * trained)
            return Inv($"- {stage}: {fit}: at that rate {100 * target:0} % lies more than {ExtrapolationLimit:N0}× beyond the {trained:N0} tokens trained, too far for these points to predict.");
        return Inv($"- {stage}: {fit}, and predicts {100 * target:0} % at about {needed:N0} tokens ({needed / trained:0.0}× the {trained:N0} trained); an extrapolation, not a measurement.");
    }

    /// <summary>The target of issue 16 for the best diffusion row: non-trivial HumanEval validity of at least 25 %.</summary>
    public const double DiffusionValidityTarget = 0.25;

    /// <summary>One point of a longer-trained row: its total diffusion steps, and per seed the whole diffusion training's tokens and FLOPs.</summary>
    public sealed record LongerPoint(RecipeRow Row, long TotalSteps, MeanWithError Tokens, MeanWithError Flops);

    /// <summary>
    /// The equal-steps row that recipe.longer_steps continues and each longer row, with the diffusion tokens and FLOPs
    /// of their models (stage 1 + stage 3 + the continuations up to the point, per seed); empty without longer rows.
    /// </summary>
    public static IReadOnlyList<LongerPoint> LongerPoints(RecipePlan plan, RecipeResults results)
    {
        var longer = plan.Rows.Where(r => r.LongerOf is not null).ToList();
        if (longer.Count == 0 || plan.Rows.FirstOrDefault(r => r.Key == longer[0].LongerOf) is not { } shorter) return [];
        var variant = plan.Config.Recipe!.LongerVariant;
        LongerPoint Point(RecipeRow row, long total)
        {
            IEnumerable<StageResult?> Chain(int seed) => plan.Stages
                .Where(s => s.Variant == variant && s.Seed == seed && (s.Kind is RecipeStageKind.Adapt or RecipeStageKind.Sft || s.Kind == RecipeStageKind.Longer && s.TotalSteps <= total))
                .Select(s => results.Stage(s.Name));
            var seeds = row.Members.Select(m => m.Seed).ToList();
            return new LongerPoint(row, total, SampleStatistics.Summarize(seeds.Select(seed => Chain(seed).Sum(r => r?.Tokens ?? double.NaN))),
                SampleStatistics.Summarize(seeds.Select(seed => Chain(seed).Sum(r => r?.Flops ?? double.NaN))));
        }
        return [Point(shorter, plan.TableSteps ?? 0), .. longer.Select(r => Point(r, r.TotalSteps!.Value))];
    }

    private static void AppendLonger(StringBuilder md, ReproConfig config, RecipePlan plan, RecipeResults results)
    {
        var points = LongerPoints(plan, results);
        if (points.Count == 0) return;
        var shorter = points[0].Row;
        string variant = AnCoder.Anchoring.Labels.AnchorWeightOptions.Name(config.Recipe!.LongerVariant);
        md.AppendLine($"## Longer training: {shorter.Label} against diffusion training tokens").AppendLine();
        md.AppendLine($"Beyond Table 1's equal steps, each seed's {shorter.Label} model was trained on (`recipe.longer_steps`: `runs/{variant}-s<seed>/longer-<N>`, "
                      + "each continuing the previous model with the `sft` section's settings for the steps up to N, its pairs and masks drawn with seed s + N) "
                      + "and evaluated like its row. Steps, tokens and FLOPs count the model's whole diffusion training (stage 1 + stage 3 + continuations; "
                      + "mean over seeds; the shared AR stages come on top). These rows are not equal-steps rows: the other rows of Table 1 stop at the first line's steps.").AppendLine();
        // An anchored row's compute at Table 1's steps, for the equal-FLOPs reading.
        var anchoredFlops = SampleStatistics.Summarize(plan.Stages
            .Where(s => s.Kind is RecipeStageKind.Adapt or RecipeStageKind.Sft && s.Variant is { } v && v != AnCoder.Anchoring.Labels.AnchorStrategy.Mdlm)
            .GroupBy(s => (s.Variant, s.Seed)).Select(g => g.Sum(s => results.Stage(s.Name)?.Flops ?? double.NaN))).Mean;
        bool anchored = double.IsFinite(anchoredFlops) && anchoredFlops > 0;
        md.AppendLine("| row | diffusion steps | tokens | TFLOPs per seed |" + (anchored ? " × an anchored row's |" : "") + " HumanEval syntax % | HumanEval non-trivial % | MBPP syntax % | MBPP non-trivial % | pass@1 % (HumanEval) | HumanEval reference NLL |");
        md.AppendLine("|---|---:|---:|---:|" + (anchored ? "---:|" : "") + "---:|---:|---:|---:|---:|---:|");
        var scores = points.ToDictionary(p => p, p => Scores(p.Row, results));
        foreach (var p in points)
        {
            var s = scores[p];
            md.AppendLine(Inv($"| {p.Row.Label} | {p.TotalSteps} | {N0(p.Tokens.Mean)} | {F(p.Flops.Mean / 1e12, "0.000")} |")
                          + (anchored ? Inv($" {F(p.Flops.Mean / anchoredFlops, "0.00")} |") : "")
                          + $" {s.HumanEvalSyntax.Format(100)} | {s.HumanEvalNonTrivial.Format(100)} | {s.MbppSyntax.Format(100)} | {s.MbppNonTrivial.Format(100)} | {s.HumanEvalPass1.Format(100)} | {ReferenceNllCell(p.Row, results)} |");
        }
        md.AppendLine();
        var longest = points[^1];
        var gain = Paired(longest.Row, shorter, results, "humaneval", "non_trivial");
        if (gain.Count > 0)
            md.AppendLine(Inv($"- {longest.TotalSteps} against {points[0].TotalSteps} steps, paired within seeds: HumanEval non-trivial validity {100 * gain.Mean:+0.00;-0.00;0.00} ± {(double.IsFinite(gain.StandardError) ? 100 * gain.StandardError : double.NaN):0.00} points."));
        var measured = points.Where(p => scores[p].HumanEvalNonTrivial.Count > 0 && double.IsFinite(p.Tokens.Mean)).ToList();
        var reached = measured.FirstOrDefault(p => scores[p].HumanEvalNonTrivial.Mean >= DiffusionValidityTarget);
        if (reached is not null)
            md.AppendLine(Inv($"- Reaches {100 * DiffusionValidityTarget:0} % non-trivial validity on HumanEval (issue 16's target for the best diffusion row) at {reached.TotalSteps} diffusion steps, ")
                          + $"{scores[reached].HumanEvalNonTrivial.Format(100)} % over {reached.Row.Members.Count} seeds, after {N0(reached.Tokens.Mean)} diffusion tokens"
                          + (anchored ? Inv($" ({reached.Flops.Mean / anchoredFlops:0.00}× the training FLOPs of an anchored row at Table 1's steps).") : "."));
        else if (measured.Count >= 2)
            md.AppendLine(CurveSentence(shorter.Label, measured.Select(p => (p.Tokens.Mean, scores[p].HumanEvalNonTrivial.Mean)).ToList(), DiffusionValidityTarget));
        md.AppendLine();
    }

    private static void AppendValidation(StringBuilder md, RecipeResults results)
    {
        var withCurves = results.Stages.Where(s => s.Validation.Count > 0).ToList();
        if (withCurves.Count == 0) return;
        md.AppendLine("## Validation loss against training tokens").AppendLine();
        md.AppendLine("Each stage's validation NLL (nats per token) at its validation steps, from `metrics.jsonl`: how far training had got, and where "
                      + "the curves still fall, what more tokens would buy.").AppendLine();
        md.AppendLine($"![validation loss by stage](plots/{ValidationFigureName}.png)").AppendLine();
        md.AppendLine("| stage | step: tokens → valid NLL |");
        md.AppendLine("|---|---|");
        foreach (var s in withCurves)
            md.AppendLine($"| {s.Name} | " + string.Join("; ", s.Validation.Select(p => Inv($"{p.Step}: {N0(p.Tokens)} → {p.ValidNll:0.0000}"))) + " |");
        md.AppendLine();
    }

    private static void AppendExamples(StringBuilder md, RecipePlan plan, RecipeResults results)
    {
        var shown = plan.Rows.Where(r => r.Members.Count > 0)
            .SelectMany(r => new[] { ("humaneval", r.Members[0].HumanEval), ("mbpp", r.Members[0].Mbpp) }.Select(x => (Row: r, Benchmark: x.Item1, Eval: results.Eval(x.Item2))))
            .Where(x => x.Eval?.Examples is { Count: > 0 }).ToList();
        if (shown.Count == 0) return;
        md.AppendLine("## Example samples").AppendLine();
        md.AppendLine("First seed of each row: up to two samples of each verdict (non-trivially valid; syntax-valid but trivial, with the rule it broke; "
                      + "invalid), as judged (cut at the last complete line when the sample hit the length cap). HumanEval completions continue the prompt (not shown).").AppendLine();
        foreach (var (row, benchmark, eval) in shown)
        {
            md.AppendLine($"### {row.Label}, {benchmark}").AppendLine();
            foreach (var example in eval!.Examples!) ReproReport.AppendExample(md, example);
        }
    }

    private static string P(double? paper) => paper is { } p ? p.ToString("0.00", CultureInfo.InvariantCulture) : "–";

    private static string F(double value, string format) => double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "–";

    private static string N0(double value) => double.IsFinite(value) ? value.ToString("N0", CultureInfo.InvariantCulture) : "–";

    private static string Minutes(double seconds) => double.IsFinite(seconds) ? Inv($"{seconds / 60:0.0} min") : "–";

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
