using AnCoder.Diffusion.Configuration;
using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using AnCoder.Experiments;
using AnCoder.Experiments.Decoding;
using AnCoder.Experiments.Generation;
using AnCoder.Diffusion.Runtime;
using AnCoder.Diffusion.Sampling;
using AnCoder.Evaluation.Benchmarks;
using AnCoder.Evaluation.Execution;
using AnCoder.Evaluation.Scoring;
using Spectre.Console;

namespace AnCoder.Cli.Commands;

/// <summary>
/// <c>ancoder eval --benchmark humaneval|mbpp (--samples FILE.jsonl | --canonical | --model DIR)</c>: scores
/// completions in the sandbox, writes results.jsonl and summary.json, prints a summary table.
/// <c>ancoder eval throughput</c>: programs/s of the sandbox beside the plain reference runner.
/// </summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var benchmark = new Option<string>("--benchmark") { Description = "humaneval or mbpp.", Required = true };
        benchmark.AcceptOnlyFromAmong("humaneval", "mbpp");
        var samples = new Option<string?>("--samples") { Description = "JSON lines {\"task_id\", \"completion\"} to score (HumanEval: text after the prompt; MBPP: the full solution)." };
        var canonical = new Option<bool>("--canonical") { Description = "Score the benchmark's own reference solutions; with --model, the model's left-to-right NLL of them (G = --length tokens each, reference-nll.json)." };
        var model = new Option<string?>("--model") { Description = "Generate with our sampler from a model directory, then score (resumable)." };
        var n = new Option<int?>("--n") { Description = "Samples per problem when generating (default: HumanEval 20, MBPP 10)." };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature when generating.", DefaultValueFactory = _ => 0.8 };
        var data = new Option<string?>("--data") { Description = $"Benchmark data directory (default: ${DatasetLocator.EnvironmentVariable}, else shared/datasets beside the repository)." };
        var output = new Option<string?>("--out") { Description = "Output directory for results.jsonl and summary.json (default: eval-results/<benchmark>-<source>)." };
        var mbppTestSplit = new Option<bool>("--mbpp-test-split") { Description = "MBPP: only the standard test split (task ids 11-510) instead of all 974." };
        var postprocess = new Option<bool>("--postprocess") { Description = "Apply the docs/algorithms.md §9 EOS/stop-sequence cut to the completions of --samples (generation always does)." };
        var timeout = new Option<double>("--timeout") { Description = "Wall-clock seconds per program.", DefaultValueFactory = _ => 3.0 };
        var workers = new Option<int>("--workers") { Description = "Programs run in parallel.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var resume = new Option<bool>("--resume") { Description = "Keep the samples already in results.jsonl and score only the rest (--model always resumes)." };
        var steps = new Option<int>("--steps") { Description = "--model: reverse steps T.", DefaultValueFactory = _ => 128 };
        var length = new Option<int>("--length") { Description = "--model: generation length G (masked tokens appended to each prompt).", DefaultValueFactory = _ => 128 };
        var remask = new Option<string?>("--remask") { Description = "--model: none, cap:η, rescale:η, conf, loop:η[:t_on:t_off:α_on]. Default: cap:0.1 for anchored models, none for MDLM." };
        var limit = new Option<int?>("--limit") { Description = "--model: only the first K problems (quick runs)." };
        var seed = new Option<int>("--seed") { Description = "--model: sampling seed; sample j of problem p uses the stream derived from (seed, p, j).", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch") { Description = "--model: canvases per forward pass (a problem's samples are batched).", DefaultValueFactory = _ => 20 };
        var precision = SettingOption.Create("--precision", "--model: activation dtype:", Precision.Fp32);
        var threads = new Option<int>("--threads") { Description = "--model: torch threads (0 = torch's default).", DefaultValueFactory = _ => 0 };
        var order = SettingOption.Create("--order", "--model: which masked positions a step unmasks (random is the paper's; anchor: positions whose prediction is a keyword or identifier first; anchordepth: those weighted by estimated depth, outer levels first; lefttoright: the leftmost masked positions, semi-autoregressive):", UnmaskOrder.Random);
        var parallel = new Option<double?>("--parallel") { Description = "--model: " + LoadedModel.ParallelHelp };
        var repair = new Option<int>("--repair") { Description = "--model: " + LoadedModel.RepairHelp + " Judged on the text evaluation scores.", DefaultValueFactory = _ => 0 };
        var guard = SettingOption.Create("--guard", "--model: " + LoadedModel.GuardHelp, DecodingGuard.None);
        var repetitionPenalty = new Option<double>("--repetition-penalty") { Description = "--model: " + LoadedModel.RepetitionPenaltyHelp, DefaultValueFactory = _ => 1.0 };
        var frequencyPenalty = new Option<double>("--frequency-penalty") { Description = "--model: " + LoadedModel.FrequencyPenaltyHelp, DefaultValueFactory = _ => 0.0 };
        var decoding = new Option<bool>("--decoding") { Description = "--model: measure the plain sampler, --repair R (default 1), --guard prefix, --order anchor, --parallel τ (default 0.9) and their combination at equal network calls (docs/decoding.md); each sample index of --n (default 1) is a replicate; resumable; writes DECODING.md (all benchmarks in --out, default decoding)." };

        var command = new Command("eval", "Score HumanEval / MBPP completions: syntax validity and non-trivial syntax validity (our parser), execution in a sandbox, pass@k.");
        foreach (var option in new Option[] { benchmark, samples, canonical, model, n, temperature, data, output, mbppTestSplit, postprocess, timeout, workers, resume,
                     steps, length, remask, limit, seed, batch, precision, threads, order, parallel, repair, guard, repetitionPenalty, frequencyPenalty, decoding })
            command.Options.Add(option);
        command.SetAction(parse => Run(new Settings(
            parse.GetValue(benchmark)!, parse.GetValue(samples), parse.GetValue(canonical), parse.GetValue(model), parse.GetValue(n),
            parse.GetValue(data), parse.GetValue(output), parse.GetValue(mbppTestSplit), parse.GetValue(postprocess),
            parse.GetValue(timeout), parse.GetValue(workers), parse.GetValue(resume),
            new GenerationFlags(parse.GetValue(temperature), parse.GetValue(steps), parse.GetValue(length), parse.GetValue(remask), parse.GetValue(limit),
                parse.GetValue(seed), parse.GetValue(batch), parse.GetValue(precision), parse.GetValue(threads),
                parse.GetValue(order), parse.GetValue(parallel), parse.GetValue(repair), parse.GetValue(guard), parse.GetValue(repetitionPenalty), parse.GetValue(frequencyPenalty), parse.GetValue(decoding)))));
        command.Subcommands.Add(CreateThroughput());
        return command;
    }

    private sealed record Settings(string Benchmark, string? Samples, bool Canonical, string? Model, int? N, string? Data,
        string? Output, bool MbppTestSplit, bool Postprocess, double Timeout, int Workers, bool Resume, GenerationFlags Generation);

    private sealed record GenerationFlags(double Temperature, int Steps, int Length, string? Remask, int? Limit, int Seed, int Batch, Precision Precision, int Threads,
        UnmaskOrder Order, double? Parallel, int Repair, DecodingGuard Guard, double RepetitionPenalty, double FrequencyPenalty, bool Decoding);

    private static int Run(Settings settings)
    {
        var sources = (settings.Samples is null ? 0 : 1) + (settings.Canonical || settings.Model is not null ? 1 : 0);
        if (sources != 1)
        {
            Console.Error.WriteLine("ancoder eval: give exactly one of --samples FILE, --canonical, --model DIR (or --model DIR --canonical)");
            return 2;
        }
        try
        {
            var kind = settings.Benchmark == "humaneval" ? BenchmarkKind.HumanEval : BenchmarkKind.Mbpp;
            var dataDirectory = DatasetLocator.Require(settings.Data);
            var benchmark = BenchmarkLoader.Load(kind, dataDirectory, settings.MbppTestSplit);
            if (settings.Model is not null)
                return settings.Canonical ? RunReferenceNll(settings, benchmark) : settings.Generation.Decoding ? RunDecoding(settings, benchmark) : RunModel(settings, benchmark);
            List<Sample> samples;
            string sourceName;
            if (settings.Canonical)
            {
                samples = Evaluator.CanonicalSamples(benchmark);
                sourceName = "canonical";
            }
            else
            {
                samples = SampleFile.Read(settings.Samples!, benchmark);
                if (settings.Postprocess)
                    samples = samples.Select(s => s with
                    {
                        Completion = kind == BenchmarkKind.HumanEval ? CompletionPostProcessor.HumanEval(s.Completion) : CompletionPostProcessor.Mbpp(s.Completion),
                    }).ToList();
                sourceName = Path.GetFileNameWithoutExtension(settings.Samples!);
            }
            var outputDirectory = settings.Output ?? Path.Combine("eval-results", $"{benchmark.Name}-{sourceName}");
            Directory.CreateDirectory(outputDirectory);

            using var sandbox = PythonSandbox.Create(SandboxOptions.ForEvaluation(settings.Workers, settings.Timeout));
            Console.WriteLine(sandbox.Describe());
            var syntax = new AnCoderSyntaxChecker();
            var evaluator = new Evaluator(benchmark, sandbox, syntax);
            using var journal = ResultsJournal.Open(Path.Combine(outputDirectory, "results.jsonl"), settings.Resume);
            var pending = samples.Where(s => !journal.Contains(s.TaskId, s.Index)).ToList();
            var clock = Stopwatch.StartNew();
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(context =>
                {
                    var bar = context.AddTask($"{benchmark.Name}: {samples.Count} samples", maxValue: samples.Count);
                    bar.Increment(samples.Count - pending.Count);
                    evaluator.EvaluateAllAsync(pending, result =>
                    {
                        journal.Append(result);
                        bar.Increment(1);
                    }).GetAwaiter().GetResult();
                });
            var elapsed = clock.Elapsed;
            var wanted = samples.Select(s => (s.TaskId, s.Index)).ToHashSet();
            var summary = EvaluationSummary.From(benchmark.Name, benchmark.Problems.Count, journal.Results.Where(r => wanted.Contains((r.TaskId, r.SampleIndex))));
            var summaryPath = Path.Combine(outputDirectory, "summary.json");
            ResultsJournal.WritePrivate(summaryPath, JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }));
            PrintSummary(summary, elapsed, pending.Count);
            Console.WriteLine($"results: {journal.Path}\nsummary: {summaryPath}");
            return 0;
        }
        catch (Exception e) when (e is SampleFileException or BenchmarkDataException or SandboxUnavailableException or ModelEvalException)
        {
            Console.Error.WriteLine($"ancoder eval: {e.Message}");
            return 2;
        }
    }

    /// <summary>--model: generate with our sampler (resumable: results already in --out are kept), score, summarise.</summary>
    private static int RunModel(Settings settings, Benchmark benchmark)
    {
        var flags = settings.Generation;
        var evalSettings = new ModelEvalSettings
        {
            SamplesPerProblem = settings.N ?? benchmark.DefaultSamplesPerProblem, Steps = flags.Steps, Length = flags.Length,
            Temperature = flags.Temperature, Remask = flags.Remask, Limit = flags.Limit, Seed = flags.Seed, BatchSize = flags.Batch,
            Order = flags.Order, Parallel = flags.Parallel, Repair = flags.Repair, Guard = flags.Guard, RepetitionPenalty = flags.RepetitionPenalty, FrequencyPenalty = flags.FrequencyPenalty,
        };
        var invalid = evalSettings.Validate();
        if (invalid.Count > 0) throw new ModelEvalException(string.Join("; ", invalid));
        var (loaded, modelName, label) = LoadModel(settings);
        using var _ = loaded.Model;
        var outputDirectory = settings.Output ?? Path.Combine("eval-results", $"{benchmark.Name}-{label}");
        using var sandbox = PythonSandbox.Create(SandboxOptions.ForEvaluation(settings.Workers, settings.Timeout));
        Console.WriteLine(sandbox.Describe());
        int problems = ModelEvaluation.Limit(benchmark, flags.Limit).Problems.Count;
        int total = problems * evalSettings.SamplesPerProblem;
        var clock = Stopwatch.StartNew();
        EvaluationSummary? summary = null;
        int before = -1;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var bar = context.AddTask($"{benchmark.Name}: {problems} problems × {evalSettings.SamplesPerProblem} samples", maxValue: total);
                summary = ModelEvaluation.Run(loaded, modelName, benchmark, evalSettings, flags.Precision, outputDirectory, sandbox, done =>
                {
                    if (before < 0) before = done;
                    bar.Value = done;
                });
                bar.Value = total;
            });
        PrintSummary(summary!, clock.Elapsed, total - Math.Max(0, before));
        Console.WriteLine($"results: {Path.Combine(outputDirectory, ModelEvaluation.ResultsFileName)}\nsummary: {Path.Combine(outputDirectory, ModelEvaluation.SummaryFileName)}");
        return 0;
    }

    /// <summary>--model --canonical: the left-to-right NLL of the reference solutions, G = --length tokens each (ReferenceNll).</summary>
    private static int RunReferenceNll(Settings settings, Benchmark benchmark)
    {
        var (loaded, modelName, label) = LoadModel(settings);
        using var _ = loaded.Model;
        var result = ReferenceNll.Measure(loaded, modelName, ModelEvaluation.Limit(benchmark, settings.Generation.Limit), settings.Generation.Length, settings.Generation.Batch, (done, total) => Console.Error.Write($"\r{done} / {total} reference solutions"));
        string path = result.Write(settings.Output ?? Path.Combine("eval-results", $"{benchmark.Name}-{label}"));
        Console.WriteLine($"\n{result.Describe()}\nwritten: {path}");
        return 0;
    }

    private static (LoadedModel Model, string Name, string Label) LoadModel(Settings settings)
    {
        TorchRuntime.Initialize();
        if (settings.Generation.Threads > 0) TorchSharp.torch.set_num_threads(settings.Generation.Threads);
        if (!LoadedModel.TryLoad(settings.Model!, settings.Generation.Precision, out var loaded, out var error)) throw new ModelEvalException(error!);
        bool random = settings.Model!.StartsWith("random:", StringComparison.Ordinal);
        return (loaded!, random ? settings.Model! : Path.GetFullPath(settings.Model!),
            random ? settings.Model!.Replace(':', '-') : Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(settings.Model!))));
    }

    /// <summary>--model --decoding: every variant of <see cref="DecodingMeasurement"/> on this benchmark, then the table of every benchmark in --out.</summary>
    private static int RunDecoding(Settings settings, Benchmark benchmark)
    {
        var flags = settings.Generation;
        var measurement = new DecodingMeasurementSettings
        {
            Benchmarks = [new DecodingBenchmark(benchmark.Kind, flags.Limit)], Seeds = [flags.Seed], SamplesPerProblem = settings.N ?? 1, Steps = flags.Steps,
            Length = flags.Length, Temperature = flags.Temperature, Remask = flags.Remask, BatchSize = flags.Batch, RepairRounds = Math.Max(1, flags.Repair),
            ParallelThreshold = flags.Parallel ?? 0.9,
        };
        if (measurement.Validate() is { Count: > 0 } invalid) throw new ModelEvalException(string.Join("; ", invalid));
        var (loaded, modelName, _) = LoadModel(settings);
        using var _ = loaded.Model;
        using var sandbox = PythonSandbox.Create(SandboxOptions.ForEvaluation(settings.Workers, settings.Timeout));
        string output = settings.Output ?? "decoding";
        AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var bars = new Dictionary<string, ProgressTask>();
                DecodingMeasurement.Run(loaded, modelName, new Dictionary<BenchmarkKind, Benchmark> { [benchmark.Kind] = benchmark }, measurement, flags.Precision, output, sandbox, p =>
                    (bars.TryGetValue(p.Cell, out var bar) ? bar : bars[p.Cell] = context.AddTask($"cell {p.CellIndex}/{p.CellsPlanned}+ {p.Cell}{(p.Reused ? " (done before)" : "")}", maxValue: p.SamplesTotal)).Value = p.SamplesDone);
            });
        string table = DecodingReport.Markdown(DecodingMeasurement.ReadAll(output), measurement);
        File.WriteAllText(Path.Combine(output, DecodingMeasurement.ReportFileName), table);
        Console.WriteLine($"{table}\nwritten: {Path.Combine(output, DecodingMeasurement.ReportFileName)}");
        return 0;
    }

    private static void PrintSummary(EvaluationSummary summary, TimeSpan elapsed, int executed)
    {
        var table = new Table().AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
        foreach (var (metric, value) in summary.DisplayRows()) table.AddRow(metric, value);
        table.AddRow("samples scored now, seconds", $"{executed}, {elapsed.TotalSeconds:0.0}");
        AnsiConsole.Write(table);
    }

    private static Command CreateThroughput()
    {
        var n = new Option<int>("--n") { Description = "Samples per HumanEval problem.", DefaultValueFactory = _ => 20 };
        var data = new Option<string?>("--data") { Description = "Benchmark data directory." };
        var workers = new Option<int>("--workers") { Description = "Parallel programs for both runners.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var runner = new Option<string?>("--reference-runner") { Description = "The plain reference runner script (default: bench/reference_runner.py of the repository)." };
        var rounds = new Option<int>("--rounds") { Description = "Rounds of every harness (the median is reported).", DefaultValueFactory = _ => 3 };
        var problems = new Option<int?>("--problems") { Description = "Only the first K HumanEval problems (a quick run)." };
        var timeout = new Option<double>("--timeout") { Description = "Wall-clock seconds per program in every harness (raise it on a starved machine).", DefaultValueFactory = _ => 3.0 };
        var command = new Command("throughput", "Programs/s on HumanEval canonical solutions × n of the hardened sandbox, the same without the proxy and the plain reference runner (one python3 per program, openai/human-eval semantics), interleaved in the same run.");
        foreach (var option in new Option[] { n, data, workers, runner, rounds, problems, timeout }) command.Options.Add(option);
        command.SetAction(parse => RunThroughput(Math.Max(1, parse.GetValue(n)), parse.GetValue(data), Math.Max(1, parse.GetValue(workers)), parse.GetValue(runner),
            Math.Max(1, parse.GetValue(rounds)), parse.GetValue(problems), parse.GetValue(timeout)));
        return command;
    }

    private static int RunThroughput(int n, string? dataOption, int workers, string? runnerOption, int rounds, int? problems, double timeout)
    {
        try
        {
            var benchmark = BenchmarkLoader.Load(BenchmarkKind.HumanEval, DatasetLocator.Require(dataOption));
            var runner = runnerOption ?? RepositoryPaths.FindFile(Path.Combine("bench", "reference_runner.py"));
            if (runner is null || !File.Exists(runner))
            {
                Console.Error.WriteLine("ancoder eval throughput: reference runner not found; pass --reference-runner PATH");
                return 2;
            }
            Console.WriteLine($"{Math.Min(problems ?? int.MaxValue, benchmark.Problems.Count)} × {n} canonical programs, {workers} workers, {rounds} rounds (order rotates each round), {timeout:0.#} s per program");
            List<ThroughputRow> rows = [];
            AnsiConsole.Progress().Start(context =>
            {
                var bars = new Dictionary<string, ProgressTask>();
                rows = ThroughputBenchmark.Measure(benchmark, n, workers, runner, rounds, (name, done, total) =>
                {
                    lock (bars)
                    {
                        if (!bars.TryGetValue(name, out var bar))
                            bars[name] = bar = context.AddTask(name, maxValue: total);
                        bar.Value = Math.Max(bar.Value, done); // finishes of one round may be reported out of order
                    }
                }, problems, timeout);
            });
            var reference = rows.Single(r => r.Harness == ThroughputBenchmark.Reference);
            var table = new Table().AddColumns("harness", "programs", "passed", "seconds (each round)", "median s", "programs/s", "× reference");
            foreach (var row in rows)
                table.AddRow(row.Harness, row.Programs.ToString(), string.Join(" ", row.Passed), string.Join(" ", row.Seconds.Select(s => s.ToString("0.0"))),
                    $"{row.MedianSeconds:0.0}", $"{row.ProgramsPerSecond:0.0}", $"{reference.MedianSeconds / row.MedianSeconds:0.00}");
            AnsiConsole.Write(table);
            Console.WriteLine(ThroughputBenchmark.Summary(rows, rounds, workers));
            return 0;
        }
        catch (Exception e) when (e is BenchmarkDataException or SandboxUnavailableException)
        {
            Console.Error.WriteLine($"ancoder eval throughput: {e.Message}");
            return 2;
        }
    }
}
