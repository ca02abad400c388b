using AnCoder.Anchoring.Runs;
using System.Diagnostics;
using System.Text;
using AnCoder.Anchoring.Corpus;
using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Shards;
using AnCoder.Diffusion.Checkpoints;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Losses;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Runtime;
using AnCoder.Diffusion.Schedules;
using TorchSharp;
using AdamW = TorchSharp.Modules.AdamW;
using Parameter = TorchSharp.Modules.Parameter;
using DataLoader = AnCoder.Anchoring.Shards.DataLoader;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Training;

/// <summary>
/// Trains a diffusion model (docs/algorithms.md §1, §5, §10): AdamW, warm-up + cosine LR, gradient accumulation, grad
/// clipping, fp32 or bf16 compute with fp32 master weights, optional EMA, periodic validation NELBO, atomic
/// checkpoints with exact resume. One call = one run (or the rest of one, with <c>resume</c>).
/// </summary>
public static class TrainingRun
{
    public const string ConfigFileName = "config.json";
    public const string FinalModelDirectory = "model";
    public const string EmaModelDirectory = "model-ema";

    /// <summary>
    /// Runs training to <see cref="TrainingConfig.TotalSteps"/> or until <paramref name="cancellation"/> fires (then
    /// the current step finishes and is checkpointed). <paramref name="resume"/>: continue from the newest valid
    /// checkpoint in the output folder (fresh start when there is none).
    /// </summary>
    /// <exception cref="ConfigException">The config is invalid (message names the field).</exception>
    /// <exception cref="TrainingException">Data, checkpoint or disk problems (one clear line).</exception>
    public static TrainingSummary Run(TrainingConfig config, ITrainingObserver? observer = null,
        CancellationToken cancellation = default, bool resume = false)
    {
        config.Validated();
        TorchRuntime.Initialize();
        observer ??= new NullObserver();
        int threads = config.Threads > 0 ? config.Threads : Environment.ProcessorCount;
        torch.set_num_threads(threads);
        string output = Path.GetFullPath(config.Output!);
        Guard(() => Directory.CreateDirectory(output), $"cannot create the output folder {output}");

        (long Step, string Path)? checkpoint = null;
        if (resume)
        {
            // Converting PyTorch's AdamW state is not implemented: say how to go on rather than restart from step 0.
            if (TrainingCheckpoints.NewestWrittenByTorchEngine(output) is { } torchCheckpoint)
                throw new TrainingException($"{output}: written by the torch engine ({torchCheckpoint} holds PyTorch optimizer state, which the C# engine " +
                                            $"does not read): continue it with `ancoder train --engine torch --out {output} --resume`, or start a C# run from its weights with --init {torchCheckpoint}");
            checkpoint = TrainingCheckpoints.FindLatestValid(output, observer.OnMessage);
            if (checkpoint is null) observer.OnMessage($"no valid checkpoint in {output}: starting from step 0");
        }
        else if (TrainingCheckpoints.List(output).Count > 0)
        {
            throw new TrainingException($"{output} already holds checkpoints of a run: continue it with --resume, or choose another output folder");
        }
        TrainingCheckpoints.RemoveStaging(output);

        var manifest = CorpusBuilder.TryReadManifest(config.Data!)
                       ?? throw new TrainingException($"{config.Data}: no readable {CorpusBuilder.ManifestFile} (run `ancoder prepare`)");
        if (config.Sft && manifest.Kind != CorpusKinds.Sft)
            throw new TrainingException($"{config.Data}: holds a pre-training corpus; --sft trains on fine-tuning pairs (run `ancoder prepare --sft`)");
        if (!config.Sft && manifest.Kind == CorpusKinds.Sft)
            throw new TrainingException($"{config.Data}: holds fine-tuning pairs; train on them with --sft");
        var settings = Settings(config);
        using var model = BuildModel(config, settings, manifest.Config);
        model.ComputeType = config.Precision.ScalarType();
        CheckCompatible(config, model.Config, manifest.Config);

        var trainShards = OpenSplit(config.Data!, config.TrainSplit);
        var validShards = OpenSplit(config.Data!, config.ValidSplit, optional: true);
        try
        {
            var mode = config.Sft ? PackingMode.Sft : config.Packing;
            var weights = config.AnchorWeights;
            var trainLoader = new DataLoader(trainShards, config.ContextLength, config.MicroBatch, config.Seed, weights,
                manifest.Config.EosId, manifest.Config.PadId, mode);
            DataLoader? validLoader = validShards.Sum(s => s.TokenCount) > 0 && config.ValidationBatches > 0
                ? new DataLoader(validShards, config.ContextLength, config.MicroBatch, Trainer.ValidationSeed, weights, manifest.Config.EosId, manifest.Config.PadId, mode)
                : null;
            if (validLoader is null) observer.OnMessage($"no validation: split `{config.ValidSplit}` is empty or validation_batches is 0");

            Guard(() => AtomicFiles.Write(Path.Combine(output, ConfigFileName), s => s.Write(Encoding.UTF8.GetBytes(config.ToJson() + "\n"))),
                $"cannot write {Path.Combine(output, ConfigFileName)}");
            var trainer = new Trainer(config, model, trainLoader, validLoader, output, observer, TokenizerSource(manifest.Config));
            return trainer.Run(checkpoint, threads, cancellation);
        }
        finally
        {
            foreach (var shard in trainShards.Concat(validShards)) shard.Dispose();
        }
    }

    /// <summary>The model's diffusion settings from the training config (strategy, λ ρ d0, schedule, switches).</summary>
    public static DiffusionSettings Settings(TrainingConfig config)
    {
        var weights = config.AnchorWeights;
        return new DiffusionSettings
        {
            Schedule = config.Schedule, Strategy = config.Strategy, AnchorLambda = weights.Lambda, AnchorRho = weights.Rho,
            AnchorD0 = weights.D0, AnchorLossOn = config.AnchorLossOn, AnchorWarmup = config.AnchorWarmup,
            LeftToRightFraction = config.LeftToRightFraction, LeftToRightBlock = config.LeftToRightBlock,
        };
    }

    public static Architecture ArchitectureOf(AnchorStrategy strategy) => strategy == AnchorStrategy.Mdlm ? Architecture.Mdlm : Architecture.Anchored;

    /// <summary>Causal for the <c>ar</c> objective, else by strategy (MDLM one network, anchored otherwise).</summary>
    public static Architecture ArchitectureOf(TrainingConfig config) => config.Autoregressive ? Architecture.Causal : ArchitectureOf(config.Strategy);

    /// <summary>
    /// From scratch (seeded), from our checkpoint (<c>init</c>) or from a Hugging Face Qwen2 folder (<c>init_qwen</c>,
    /// or an <c>init</c> folder whose config.json is Hugging Face's, such as an <c>ar</c> run's model). Then the
    /// adaptation switches: ψ's depth, shift, denoiser input, and ψ's identity initialisation (docs/recipe.md §3).
    /// </summary>
    internal static DiffusionModel BuildModel(TrainingConfig config, DiffusionSettings settings, ManifestConfig data)
    {
        var architecture = ArchitectureOf(config);
        var denoiserInput = config.DenoiserInput;
        try
        {
            // Every path seeds first, not only the from-scratch one: an import leaves fresh parameters (the linear ψ
            // input has no Qwen source), and they must come from the run's seed, so that a run is reproducible from its
            // config and the torch engine's RUN/initial-model (TorchEngine.Prepare) is the model this trainer starts from.
            torch.manual_seed(config.Seed);
            DiffusionModel model;
            string? huggingFace = config.InitQwen ?? (config.Init is { } candidate && IsHuggingFaceFolder(candidate) ? candidate : null);
            if (huggingFace is not null)
            {
                model = Qwen2Import.FromHuggingFace(huggingFace, new Qwen2ImportOptions
                {
                    Architecture = architecture, Diffusion = settings,
                    MaskTokenId = data.MaskId, PadTokenId = data.PadId, EosTokenId = data.EosId,
                    DenoiserLayers = config.DenoiserLayers, DenoiserInput = denoiserInput, Shift = config.Shift,
                });
            }
            else if (config.Init is { } init)
            {
                var initConfig = ModelConfig.Load(Path.Combine(init, ModelCheckpoint.ConfigFileName));
                if (initConfig.Architecture != architecture)
                    throw new TrainingException($"{init}: an {initConfig.Architecture} model cannot train with strategy `{AnchorWeightOptions.Name(config.Strategy)}`");
                model = DiffusionModel.Create(initConfig with { Diffusion = settings });
                ModelCheckpoint.LoadFolderWeights(model, init);
            }
            else
            {
                var shape = config.ModelConfigFile is { } file ? ModelConfig.Load(file) : ModelPresets.Get(config.Model);
                model = DiffusionModel.Create(shape with
                {
                    Architecture = architecture, Diffusion = settings,
                    DenoiserLayers = config.DenoiserLayers ?? shape.DenoiserLayers,
                    Shift = config.Shift || shape.Shift,
                    DenoiserInput = denoiserInput == DenoiserInput.Softmax ? shape.DenoiserInput : denoiserInput,
                });
            }
            if (config.DenoiserInit == DenoiserInit.Identity && model is AnchoredModel anchored) Adaptation.ZeroResidualOutputs(anchored.Denoiser);
            return model;
        }
        catch (Exception e) when (e is CheckpointException or IOException or UnauthorizedAccessException)
        {
            throw new TrainingException($"cannot initialise the model: {e.Message}", e);
        }
    }

    private static bool IsHuggingFaceFolder(string folder)
    {
        string path = Path.Combine(folder, ModelCheckpoint.ConfigFileName);
        return File.Exists(path) && HuggingFaceQwen2Config.IsHuggingFaceConfig(File.ReadAllText(path));
    }

    private static void CheckCompatible(TrainingConfig config, ModelConfig model, ManifestConfig data)
    {
        var problems = new List<string>();
        if (data.VocabSize > model.VocabSize) problems.Add($"the data's vocabulary ({data.VocabSize}) is larger than the model's vocab_size ({model.VocabSize})");
        if (data.MaskId != model.MaskTokenId) problems.Add($"mask id: data {data.MaskId}, model {model.MaskTokenId}");
        if (data.PadId != model.PadTokenId) problems.Add($"pad id: data {data.PadId}, model {model.PadTokenId}");
        if (config.ContextLength > model.MaxPositionEmbeddings)
            problems.Add($"context_length {config.ContextLength} exceeds the model's max_position_embeddings {model.MaxPositionEmbeddings}");
        if (problems.Count > 0) throw new TrainingException($"{config.Data}: data and model do not fit: {string.Join("; ", problems)}");
    }

    private static string? TokenizerSource(ManifestConfig data) =>
        Directory.Exists(data.Tokenizer) || File.Exists(data.Tokenizer) ? data.Tokenizer : null;

    private static List<ShardReader> OpenSplit(string directory, string split, bool optional = false)
    {
        try
        {
            var manifest = CorpusBuilder.TryReadManifest(directory);
            if (optional && manifest is not null && !manifest.Splits.ContainsKey(split)) return [];
            return ShardSet.Open(directory, split);
        }
        catch (Exception e) when (e is ShardFormatException or IOException or UnauthorizedAccessException)
        {
            throw new TrainingException($"unreadable training data: {e.Message}", e);
        }
    }

    internal static void Guard(Action action, string what)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TrainingException($"{what}: {e.Message}{(IsDiskFull(e) ? " (disk full)" : "")}", e);
        }
    }

    internal static bool IsDiskFull(Exception e) => e is IOException && (e.HResult & 0xFFFF) == 28 /* ENOSPC */
                                                   || e.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase);

    private sealed class NullObserver : ITrainingObserver;
}

/// <summary>The state and loop of one run.</summary>
internal sealed class Trainer(TrainingConfig config, DiffusionModel model, DataLoader trainLoader, DataLoader? validLoader,
    string output, ITrainingObserver observer, string? tokenizer)
{
    private readonly long _totalSteps = config.TotalSteps;
    private long _step, _tokens;
    private double _wallBefore;
    private string? _lastCheckpoint;

    public TrainingSummary Run((long Step, string Path)? checkpoint, int threads, CancellationToken cancellation)
    {
        var parameters = model.parameters().ToList();
        var (groups, peakRates) = ParameterGroups();
        using var optimizer = groups is null
            ? new AdamW(parameters, config.LearningRate, config.Beta1, config.Beta2, config.AdamEpsilon, config.WeightDecay)
            : new AdamW(groups, config.LearningRate, config.Beta1, config.Beta2, config.AdamEpsilon, config.WeightDecay);
        using var generator = new Generator((ulong)config.Seed);
        var ema = config.EmaDecay is null ? null : model.named_parameters()
            .Select(p => (p.name, p.parameter, Copy: EmaCopy(p.parameter))).ToList();
        var schedule = NoiseSchedules.From(model.Config.Diffusion);
        try
        {
            if (checkpoint is { } from) Restore(from.Path, optimizer, generator, ema);
            observer.OnStart(new TrainingStart(_step, _totalSteps, model.ParameterCount(), config.RunLabel, checkpoint?.Path,
                trainLoader.RowCount, validLoader?.RowCount ?? 0, threads));
            using var metrics = Open(() => new MetricsLog(output, _step), $"cannot open {MetricsRecord.FileName} in {output}");
            using var prefetcher = new BatchPrefetcher(trainLoader);
            var clock = Stopwatch.StartNew();
            var window = new Window();
            double lastLoss = double.NaN;
            double? lastValid = null;
            double smoothedRate = 0;
            while (_step < _totalSteps)
            {
                if (cancellation.IsCancellationRequested) break;
                double lr = LearningRateSchedule.At(_step, _totalSteps, config.LearningRate, config.WarmupRatio, config.MinLrRatio);
                int groupIndex = 0;
                foreach (var group in optimizer.ParamGroups) group.LearningRate = lr * peakRates[groupIndex++] / config.LearningRate;
                var stepClock = Stopwatch.StartNew();
                var (loss, denoiser, anchor, tokens) = AccumulateGradients(prefetcher, generator);
                double gradNorm = ClipGradients(parameters);
                if (!double.IsFinite(loss) || !double.IsFinite(gradNorm))
                {
                    string what = !double.IsFinite(loss) ? $"loss is {loss}" : $"gradient norm is {gradNorm}";
                    return Summary(TrainingStatus.Diverged, clock, loss, lastValid, null,
                        $"stopped at step {_step + 1}: {what} (try a lower learning_rate or fp32); last good checkpoint: {_lastCheckpoint ?? "none"}");
                }
                using (var scope = NewDisposeScope())
                using (no_grad())
                {
                    // Inside a scope: TorchSharp's managed AdamW and zero_grad create a grad wrapper per parameter.
                    optimizer.step();
                    optimizer.zero_grad();
                }
                if (ema is not null) UpdateEma(ema, config.EmaDecay!.Value);
                _step++;
                _tokens += tokens;
                lastLoss = loss;
                window.Add(loss, denoiser, anchor, gradNorm, tokens);

                double stepRate = tokens / Math.Max(1e-9, stepClock.Elapsed.TotalSeconds);
                smoothedRate = smoothedRate == 0 ? stepRate : 0.9 * smoothedRate + 0.1 * stepRate;
                double secondsPerStep = clock.Elapsed.TotalSeconds / Math.Max(1, _step - (checkpoint?.Step ?? 0));
                observer.OnStep(new TrainingProgress(_step, _totalSteps, _tokens, loss, denoiser, anchor, lr, gradNorm, smoothedRate,
                    TimeSpan.FromSeconds(_wallBefore + clock.Elapsed.TotalSeconds), TimeSpan.FromSeconds(secondsPerStep * (_totalSteps - _step))));

                bool last = _step == _totalSteps;
                double? valid = null;
                if (validLoader is not null && (last || (config.ValidationInterval > 0 && _step % config.ValidationInterval == 0)))
                    lastValid = valid = Validate(validLoader, schedule);
                if (last || _step % config.LogInterval == 0 || valid is not null)
                {
                    var record = window.Record(_step, _tokens, _wallBefore + clock.Elapsed.TotalSeconds, lr, valid, config.RunLabel);
                    Open(() => { metrics.Append(record); return 0; }, $"cannot append to {MetricsRecord.FileName}");
                    observer.OnMetrics(record);
                }
                bool stopping = cancellation.IsCancellationRequested;
                if (last || stopping || (config.CheckpointInterval > 0 && _step % config.CheckpointInterval == 0))
                    SaveCheckpoint(optimizer, generator, ema, prefetcher.ConsumedPosition, _wallBefore + clock.Elapsed.TotalSeconds);
            }
            if (_step < _totalSteps)
            {
                if (_lastCheckpoint is null || !_lastCheckpoint.EndsWith(TrainingCheckpoints.FolderName(_step), StringComparison.Ordinal))
                    SaveCheckpoint(optimizer, generator, ema, prefetcher.ConsumedPosition, _wallBefore + clock.Elapsed.TotalSeconds);
                return Summary(TrainingStatus.Interrupted, clock, lastLoss, lastValid, _lastCheckpoint,
                    $"interrupted after step {_step} of {_totalSteps}; checkpoint {_lastCheckpoint}; continue with --resume");
            }
            string modelDirectory = Path.Combine(output, TrainingRun.FinalModelDirectory);
            TrainingRun.Guard(() => ModelCheckpoint.Save(model, modelDirectory, tokenizer), $"cannot save the final model to {modelDirectory}");
            if (ema is not null) SaveEmaModel(ema);
            return Summary(TrainingStatus.Completed, clock, lastLoss, lastValid, modelDirectory,
                $"trained {_step} steps, {_tokens:N0} tokens; model: {modelDirectory}");
        }
        finally
        {
            if (ema is not null) foreach (var (_, _, copy) in ema) copy.Dispose();
        }
    }

    /// <summary>
    /// With <c>pretrained_learning_rate</c> and a pretrained start: two AdamW groups, the parameters copied from the
    /// pretrained model (peak <c>pretrained_learning_rate</c>) and the fresh ones (ψ's zeroed residual outputs under
    /// <c>denoiser_init identity</c>, the linear denoiser input; peak <c>learning_rate</c>); both follow the same
    /// warm-up and cosine. Otherwise one group (null) at <c>learning_rate</c>.
    /// </summary>
    private (List<AdamW.ParamGroup>? Groups, double[] PeakRates) ParameterGroups()
    {
        bool pretrainedStart = config.Init is not null || config.InitQwen is not null;
        if (config.PretrainedLearningRate is not { } pretrainedRate || !pretrainedStart) return (null, [config.LearningRate]);
        var fresh = new HashSet<string>(StringComparer.Ordinal);
        if (config.DenoiserInit == DenoiserInit.Identity && model is AnchoredModel anchored)
            fresh.UnionWith(Adaptation.ResidualOutputNames("denoiser", anchored.Denoiser.LayerCount));
        var named = model.named_parameters().ToList();
        fresh.UnionWith(named.Where(p => p.name.StartsWith("denoiser_input.", StringComparison.Ordinal)).Select(p => p.name));
        var pretrained = named.Where(p => !fresh.Contains(p.name)).Select(p => p.parameter).ToList();
        var freshParameters = named.Where(p => fresh.Contains(p.name)).Select(p => p.parameter).ToList();
        AdamW.ParamGroup Group(List<Parameter> members, double rate) =>
            new(members, new AdamW.Options { LearningRate = rate, beta1 = config.Beta1, beta2 = config.Beta2, eps = config.AdamEpsilon, weight_decay = config.WeightDecay });
        return ([Group(pretrained, pretrainedRate), Group(freshParameters, config.LearningRate)], [pretrainedRate, config.LearningRate]);
    }

    private TrainingSummary Summary(TrainingStatus status, Stopwatch clock, double loss, double? valid, string? modelDirectory, string message) =>
        new(status, _step, _totalSteps, _tokens, _wallBefore + clock.Elapsed.TotalSeconds, loss, valid, output, _lastCheckpoint, modelDirectory, message);

    /// <summary>Forward + backward over the step's micro-batches; returns the mean loss parts and the valid tokens seen.</summary>
    private (double Loss, double Denoiser, double Anchor, long Tokens) AccumulateGradients(BatchPrefetcher prefetcher, Generator generator)
    {
        int accumulation = config.GradientAccumulation;
        var options = LossOptions.From(model.Config.Diffusion, _step, _totalSteps);
        double loss = 0, denoiser = 0, anchor = 0;
        long tokens = 0;
        for (int micro = 0; micro < accumulation; micro++)
        {
            Batch batch;
            try
            {
                batch = prefetcher.Take();
            }
            catch (Exception e) when (e is ShardFormatException or IOException or ArgumentOutOfRangeException)
            {
                throw new TrainingException($"unreadable training data: {e.Message}", e);
            }
            foreach (bool valid in batch.Valid) if (valid) tokens++;
            using var scope = NewDisposeScope();
            using var tensors = DiffusionBatch.FromLoaderBatch(batch);
            var parts = model is CausalLmModel ? NextTokenLoss.Compute(model, tensors) : DiffusionLoss.Compute(model, tensors, options, generator);
            double value = parts.Loss.item<float>();
            (accumulation == 1 ? parts.Loss : parts.Loss / accumulation).backward();
            loss += value / accumulation;
            denoiser += parts.DenoiserNll / accumulation;
            anchor += parts.AnchorNll / accumulation;
        }
        return (loss, denoiser, anchor, tokens);
    }

    /// <summary>Global L2 norm of the gradients, clipped to grad_clip when that is positive.</summary>
    private double ClipGradients(List<Parameter> parameters)
    {
        using var scope = NewDisposeScope();
        return nn.utils.clip_grad_norm_(parameters, config.GradClip > 0 ? config.GradClip : double.PositiveInfinity);
    }

    private static Tensor EmaCopy(Parameter parameter)
    {
        using var scope = NewDisposeScope();
        return parameter.detach().clone().DetachFromDisposeScope();
    }

    private static void UpdateEma(List<(string Name, Parameter Parameter, Tensor Copy)> ema, double decay)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (_, parameter, copy) in ema) copy.mul_(decay).add_(parameter, alpha: 1 - decay);
    }

    /// <summary>
    /// Seed of the validation subset (row order of the validation loader) and of its noise draws. Not the run's seed:
    /// every run of an experiment is validated on the same rows with the same masks, so a difference between seeds
    /// or variants is the models' and not subset noise (issue 16: seeds vary initialisation, data order and training
    /// masks only).
    /// </summary>
    public const int ValidationSeed = 0;

    /// <summary>Mean plain NELBO over the first validation batches, with a fixed generator (same masks every time, every run).</summary>
    private double Validate(DataLoader loader, INoiseSchedule schedule)
    {
        loader.Position = (-1, 0);
        long batches = Math.Min(config.ValidationBatches, (loader.RowCount + loader.BatchSize - 1) / loader.BatchSize);
        using var generator = new Generator((ulong)ValidationSeed + 7919);
        double sum = 0;
        long targets = 0;
        for (long k = 0; k < batches; k++)
        {
            using var scope = NewDisposeScope();
            using var batch = DiffusionBatch.FromLoaderBatch(loader.NextBatch());
            if (model is CausalLmModel)
            {
                // The AR objective: next-token NLL per target token over all the batches (docs/recipe.md §1).
                var (nll, count) = NextTokenLoss.ValidationSums(model, batch);
                sum += nll;
                targets += count;
            }
            else sum += DiffusionLoss.ValidationNelbo(model, batch, schedule, generator);
        }
        return model is CausalLmModel ? sum / Math.Max(1, targets) : sum / batches;
    }

    private void SaveCheckpoint(AdamW optimizer, Generator generator, List<(string Name, Parameter Parameter, Tensor Copy)>? ema,
        (int Epoch, long Cursor) loaderPosition, double wallSeconds)
    {
        string directory = Path.Combine(TrainingCheckpoints.Root(output), TrainingCheckpoints.FolderName(_step));
        var state = new TrainerState
        {
            Step = _step, TotalSteps = _totalSteps, Tokens = _tokens, WallSeconds = wallSeconds,
            LoaderEpoch = loaderPosition.Epoch, LoaderCursor = loaderPosition.Cursor, Strategy = config.Strategy,
            LearningRate = LearningRateSchedule.At(Math.Max(0, _step - 1), _totalSteps, config.LearningRate, config.WarmupRatio, config.MinLrRatio),
        };
        var options = new CheckpointSaveOptions
        {
            WriteExtraFiles = staging =>
            {
                AtomicFiles.Write(Path.Combine(staging, TrainingCheckpoints.OptimizerFile), stream =>
                {
                    using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
                    optimizer.save_state_dict(writer);
                });
                using (var scope = NewDisposeScope())
                {
                    var bytes = generator.get_state().data<byte>().ToArray();
                    AtomicFiles.Write(Path.Combine(staging, TrainingCheckpoints.GeneratorFile), stream => stream.Write(bytes));
                }
                if (ema is not null)
                    Safetensors.Write(Path.Combine(staging, TrainingCheckpoints.EmaFile), ema.ToDictionary(e => e.Name, e => e.Copy));
                TrainingCheckpoints.WriteState(staging, state);
                TrainingCheckpoints.WriteChecksums(staging);
            },
        };
        TrainingRun.Guard(() => ModelCheckpoint.Save(model, directory, tokenizer, options),
            $"cannot write checkpoint {directory} (last good checkpoint: {_lastCheckpoint ?? "none"})");
        _lastCheckpoint = directory;
        TrainingCheckpoints.Prune(output, config.KeepLast);
        observer.OnMessage($"checkpoint {directory}");
    }

    private void Restore(string directory, AdamW optimizer, Generator generator, List<(string Name, Parameter Parameter, Tensor Copy)>? ema)
    {
        try
        {
            var state = TrainingCheckpoints.ReadState(directory);
            if (state.TotalSteps != _totalSteps)
                throw new TrainingException($"{directory}: the checkpoint belongs to a {state.TotalSteps}-step schedule, the config asks for {_totalSteps} steps");
            if (state.Strategy != config.Strategy)
                throw new TrainingException($"{directory}: checkpoint strategy `{AnchorWeightOptions.Name(state.Strategy)}`, config strategy `{AnchorWeightOptions.Name(config.Strategy)}`");
            ModelCheckpoint.LoadWeights(model, Path.Combine(directory, ModelCheckpoint.WeightsFileName));
            using (var stream = File.OpenRead(Path.Combine(directory, TrainingCheckpoints.OptimizerFile)))
            using (var reader = new BinaryReader(stream))
                optimizer.load_state_dict(reader);
            using (var scope = NewDisposeScope())
                generator.set_state(tensor(File.ReadAllBytes(Path.Combine(directory, TrainingCheckpoints.GeneratorFile)), ScalarType.Byte));
            if (ema is not null)
            {
                string emaPath = Path.Combine(directory, TrainingCheckpoints.EmaFile);
                if (File.Exists(emaPath))
                {
                    using var scope = NewDisposeScope();
                    var stored = Safetensors.Read(emaPath);
                    using var noGrad = no_grad();
                    foreach (var (name, _, copy) in ema)
                        copy.copy_(stored.TryGetValue(name, out var value) ? value : throw new TrainingException($"{emaPath}: no `{name}`"));
                }
                else observer.OnMessage($"{directory}: no EMA weights stored; the EMA restarts from the current weights");
            }
            trainLoader.Position = (state.LoaderEpoch, state.LoaderCursor);
            _step = state.Step;
            _tokens = state.Tokens;
            _wallBefore = state.WallSeconds;
            _lastCheckpoint = directory;
        }
        catch (Exception e) when (e is CheckpointException or IOException or InvalidDataException or ArgumentException or System.Text.Json.JsonException)
        {
            throw new TrainingException($"cannot resume from {directory}: {e.Message}", e);
        }
    }

    private void SaveEmaModel(List<(string Name, Parameter Parameter, Tensor Copy)> ema)
    {
        string directory = Path.Combine(output, TrainingRun.EmaModelDirectory);
        using var copy = DiffusionModel.Create(model.Config);
        using (no_grad())
        {
            var target = copy.state_dict();
            foreach (var (name, _, value) in ema) target[name].copy_(value);
        }
        TrainingRun.Guard(() => ModelCheckpoint.Save(copy, directory, tokenizer), $"cannot save the EMA model to {directory}");
    }

    private static T Open<T>(Func<T> action, string what)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TrainingException($"{what}: {e.Message}{(TrainingRun.IsDiskFull(e) ? " (disk full)" : "")}", e);
        }
    }

    /// <summary>Means over the steps since the last metrics line.</summary>
    private sealed class Window
    {
        private double _loss, _denoiser, _anchor, _gradNorm;
        private long _tokens;
        private int _steps;
        private readonly Stopwatch _clock = Stopwatch.StartNew();

        public void Add(double loss, double denoiser, double anchor, double gradNorm, long tokens)
        {
            _loss += loss; _denoiser += denoiser; _anchor += anchor; _gradNorm += gradNorm; _tokens += tokens; _steps++;
        }

        public MetricsRecord Record(long step, long tokens, double wallSeconds, double lr, double? valid, string strategy)
        {
            int n = Math.Max(1, _steps);
            var record = new MetricsRecord(step, tokens, wallSeconds, lr, _loss / n, _denoiser / n, _anchor / n, _gradNorm / n,
                _tokens / Math.Max(1e-9, _clock.Elapsed.TotalSeconds), valid, strategy);
            _loss = _denoiser = _anchor = _gradNorm = 0;
            _tokens = 0;
            _steps = 0;
            _clock.Restart();
            return record;
        }
    }
}
