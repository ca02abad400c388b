using System.Text.Json;
using System.Text.RegularExpressions;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Checkpoints;

/// <summary>How <see cref="Qwen2Import.FromHuggingFace"/> builds our model from a Qwen2 checkpoint.</summary>
public sealed record Qwen2ImportOptions
{
    /// <summary>
    /// Anchored (default: φ = all Qwen layers, ψ = the first <see cref="DenoiserLayers"/>), MDLM (all layers, made
    /// bidirectional) or Causal (the autoregressive model itself, causal mask kept: how our AR folders load).
    /// </summary>
    public Architecture Architecture { get; init; } = Architecture.Anchored;

    /// <summary>ψ's depth N_d: Qwen layers 0..N_d−1 initialise ψ. Null: half of Qwen's layers, rounded up (the paper: 12 of 24).</summary>
    public int? DenoiserLayers { get; init; }

    /// <summary>
    /// The mask token: an unused row of Qwen's embedding. Null: config.json's <c>mask_token_id</c> (written into our
    /// autoregressive models' folders), else 151665 (docs/algorithms.md §4, Qwen2.5's vocabulary).
    /// </summary>
    public int? MaskTokenId { get; init; }


    /// <summary>Null: config.json's pad_token_id, else its eos_token_id (0 if the config has neither).</summary>
    public int? PadTokenId { get; init; }

    /// <summary>Null: Qwen's eos_token_id (0 if the config has none).</summary>
    public int? EosTokenId { get; init; }

    /// <summary>Parameter dtype: Float32 (default; bf16 weights are widened exactly) or BFloat16 (half the memory).</summary>
    public ScalarType ParameterType { get; init; } = ScalarType.Float32;

    /// <summary>ψ's input mode. With <see cref="Configuration.DenoiserInput.Linear"/> the V→d projection has no Qwen source and stays freshly initialised (from the global generator, which TrainingRun.BuildModel seeds with the run's seed).</summary>
    public DenoiserInput DenoiserInput { get; init; } = DenoiserInput.Softmax;

    /// <summary>Dream-style right shift of the outputs (for models adapted from autoregressive weights).</summary>
    public bool Shift { get; init; }

    /// <summary>Null: Qwen's max_position_embeddings.</summary>
    public int? MaxPositionEmbeddings { get; init; }

    public DiffusionSettings Diffusion { get; init; } = new();

    /// <summary>Reports (tensors copied, total) while weights are read.</summary>
    public IProgress<(int Done, int Total)>? Progress { get; init; }
}

/// <summary>
/// Builds our model from a Hugging Face <c>Qwen2ForCausalLM</c> folder (config.json + model.safetensors, or
/// model.safetensors.index.json + shards), as docs/algorithms.md §4 prescribes for the paper's model: every Qwen layer
/// goes to φ (<c>anchor.*</c>), layers 0..N_d−1 also to ψ (<c>denoiser.*</c>), the embedding to E_φ and E_ψ and the
/// final norm to both norms. The causal mask simply disappears: our attention is bidirectional.
/// </summary>
public static partial class Qwen2Import
{
    public const string ConfigFileName = "config.json";
    /// <summary>The paper's mask id in Qwen2.5's vocabulary (an unused embedding row).</summary>
    public const int QwenMaskTokenId = 151665;
    public const string SingleWeightsFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";
    public const string EmbeddingName = "model.embed_tokens.weight";
    public const string OutputName = "lm_head.weight";

    public static DiffusionModel FromHuggingFace(string qwenDirectory, Qwen2ImportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Directory.Exists(qwenDirectory)) throw new CheckpointException($"{qwenDirectory}: Hugging Face model folder not found");
        var qwen = HuggingFaceQwen2Config.Load(Path.Combine(qwenDirectory, ConfigFileName));
        var config = BuildConfig(qwen, options, Path.Combine(qwenDirectory, ConfigFileName));
        var shards = WeightFiles(qwenDirectory);

        var files = new List<SafetensorsFile>();
        DiffusionModel? model = null;
        try
        {
            foreach (var shard in shards) files.Add(SafetensorsFile.Open(shard));
            var locations = LocateTensors(files, qwenDirectory);
            model = DiffusionModel.Create(config);
            if (options.ParameterType != ScalarType.Float32) model.to(options.ParameterType);
            CopyWeights(model, qwen, locations, qwenDirectory, options.Progress);
            return model;
        }
        catch
        {
            model?.Dispose();
            throw;
        }
        finally
        {
            foreach (var file in files) file.Dispose();
        }
    }

    /// <summary>Our config for the imported model: Qwen's shapes plus the diffusion choices of <paramref name="options"/>.</summary>
    public static ModelConfig BuildConfig(HuggingFaceQwen2Config qwen, Qwen2ImportOptions options, string source = ConfigFileName)
    {
        int denoiserLayers = options.DenoiserLayers ?? (qwen.NumHiddenLayers + 1) / 2;
        if (options.Architecture == Architecture.Anchored && (denoiserLayers < 1 || denoiserLayers > qwen.NumHiddenLayers))
            throw new CheckpointException($"{source}: denoiser layers must be in 1..{qwen.NumHiddenLayers} (Qwen's num_hidden_layers), got {denoiserLayers}");
        int eos = qwen.EosTokenId ?? 0;
        var config = new ModelConfig
        {
            Architecture = options.Architecture,
            VocabSize = qwen.VocabSize,
            MaskTokenId = options.MaskTokenId ?? qwen.MaskTokenId ?? QwenMaskTokenId,
            PadTokenId = options.PadTokenId ?? qwen.PadTokenId ?? eos,
            EosTokenId = options.EosTokenId ?? eos,
            HiddenSize = qwen.HiddenSize,
            IntermediateSize = qwen.IntermediateSize,
            NumHiddenLayers = qwen.NumHiddenLayers,
            DenoiserLayers = options.Architecture == Architecture.Anchored ? denoiserLayers : new ModelConfig().DenoiserLayers,
            NumAttentionHeads = qwen.NumAttentionHeads,
            NumKeyValueHeads = qwen.NumKeyValueHeads,
            HeadDim = qwen.HeadDim ?? 0,
            RopeTheta = qwen.RopeTheta,
            RmsNormEps = qwen.RmsNormEps,
            MaxPositionEmbeddings = options.MaxPositionEmbeddings ?? qwen.MaxPositionEmbeddings,
            DenoiserInput = options.DenoiserInput,
            Shift = options.Shift,
            Diffusion = options.Diffusion,
        };
        var problems = config.Validate();
        if (problems.Count > 0)
            throw new CheckpointException($"{source}: the imported model's config is not usable: {string.Join("; ", problems)}");
        return config;
    }

    /// <summary>The safetensors files of the folder: the single file, or the shards listed by the index.</summary>
    public static IReadOnlyList<string> WeightFiles(string qwenDirectory)
    {
        string single = Path.Combine(qwenDirectory, SingleWeightsFileName);
        string index = Path.Combine(qwenDirectory, IndexFileName);
        if (File.Exists(single)) return [single];
        if (!File.Exists(index))
        {
            bool pickle = Directory.EnumerateFiles(qwenDirectory, "pytorch_model*.bin").Any();
            throw new CheckpointException($"{qwenDirectory}: neither {SingleWeightsFileName} nor {IndexFileName}" +
                (pickle ? " (pytorch_model.bin is not supported: convert the checkpoint to safetensors)" : ""));
        }
        var shardNames = new SortedSet<string>(StringComparer.Ordinal);
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(index));
            if (!document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new CheckpointException($"{index}: no \"weight_map\" object");
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw new CheckpointException($"{index}: weight_map['{entry.Name}'] must be a file name");
                string shard = entry.Value.GetString()!;
                if (shard.Contains('/') || shard.Contains('\\') || shard is "." or "..")
                    throw new CheckpointException($"{index}: weight_map['{entry.Name}'] = '{shard}' must be a file in the same folder");
                shardNames.Add(shard);
            }
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{index}: not valid JSON ({e.Message})");
        }
        var missing = shardNames.Where(name => !File.Exists(Path.Combine(qwenDirectory, name))).ToList();
        if (missing.Count > 0)
            throw new CheckpointException($"{index}: shard files missing from the folder: {string.Join(", ", missing)}");
        if (shardNames.Count == 0) throw new CheckpointException($"{index}: weight_map is empty");
        return shardNames.Select(name => Path.Combine(qwenDirectory, name)).ToList();
    }

    private static Dictionary<string, SafetensorsFile> LocateTensors(List<SafetensorsFile> files, string qwenDirectory)
    {
        var locations = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        foreach (var file in files)
            foreach (var name in file.Names)
                if (!locations.TryAdd(name, file))
                    throw new CheckpointException($"{qwenDirectory}: tensor '{name}' is stored twice ({Path.GetFileName(locations[name].Path)} and {Path.GetFileName(file.Path)})");
        return locations;
    }

    [GeneratedRegex(@"^model\.layers\.(\d+)\.(.+)$")]
    private static partial Regex LayerName();

    /// <summary>
    /// Where a Qwen tensor goes in our model: φ and ψ names for the anchored model, <c>model.*</c> for MDLM. Empty
    /// for tensors that carry no weights of ours (rotary inverse frequencies, recomputed) and for <c>lm_head</c>
    /// (checked separately: it must equal the tied embedding).
    /// </summary>
    public static IReadOnlyList<string> TargetNames(string qwenName, Architecture architecture, int denoiserLayers)
    {
        if (qwenName == OutputName || qwenName.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal)) return [];
        if (!qwenName.StartsWith("model.", StringComparison.Ordinal)) return [qwenName]; // unknown: reported as unexpected
        string rest = qwenName["model.".Length..];
        if (architecture != Architecture.Anchored) return [qwenName]; // MDLM and causal: one network named as Qwen's
        var match = LayerName().Match(qwenName);
        if (match.Success)
        {
            int layer = int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            return layer < denoiserLayers ? ["anchor." + rest, "denoiser." + rest] : ["anchor." + rest];
        }
        return ["anchor." + rest, "denoiser." + rest];
    }

    private static void CopyWeights(DiffusionModel model, HuggingFaceQwen2Config qwen, Dictionary<string, SafetensorsFile> locations,
        string qwenDirectory, IProgress<(int Done, int Total)>? progress)
    {
        var config = model.Config;
        var expected = model.state_dict();
        // ψ's V→d projection (denoiser_input = linear) has no counterpart in Qwen: it keeps its fresh initialisation.
        var required = expected.Where(pair => !pair.Key.StartsWith("denoiser_input.", StringComparison.Ordinal))
            .ToDictionary(pair => pair.Key, pair => pair.Value, StringComparer.Ordinal);

        var sources = new Dictionary<string, string>(StringComparer.Ordinal); // our name → Qwen name
        var stored = new List<StoredTensor>();
        foreach (var (qwenName, file) in locations)
        {
            var entry = file.Entry(qwenName);
            foreach (var target in TargetNames(qwenName, config.Architecture, config.DenoiserLayers))
            {
                sources[target] = qwenName;
                stored.Add(new StoredTensor(target, entry.Type, entry.Shape));
            }
        }
        var problems = StateDictLoader.Mismatches(required, stored, convertFloatingTypes: true);
        problems.AddRange(CheckOutputLayer(qwen, locations));
        StateDictLoader.ThrowIfAny($"{qwenDirectory} does not fit a Qwen2 model of its config.json " +
            "(names are ours: anchor./denoiser. for model., model. for MDLM)", problems);
        if (locations.TryGetValue(OutputName, out var outputFile)) CheckOutputEqualsEmbedding(outputFile, locations[EmbeddingName]);

        // Read each Qwen tensor once and copy it into every parameter it initialises, shard by shard.
        var targetsBySource = sources.GroupBy(pair => pair.Value, pair => pair.Key).ToDictionary(group => group.Key, group => group.ToList());
        int total = required.Count, done = 0;
        foreach (var group in targetsBySource.OrderBy(pair => locations[pair.Key].Path, StringComparer.Ordinal).ThenBy(pair => pair.Key, StringComparer.Ordinal))
        {
            using var source = locations[group.Key].Load(group.Key);
            foreach (var target in group.Value)
            {
                StateDictLoader.CopyInto(required[target], source);
                progress?.Report((++done, total));
            }
        }
    }

    /// <summary>Our networks tie input and output embeddings: an untied Qwen must have no lm_head or an equal one.</summary>
    private static IEnumerable<string> CheckOutputLayer(HuggingFaceQwen2Config qwen, Dictionary<string, SafetensorsFile> locations)
    {
        if (!locations.ContainsKey(OutputName))
        {
            if (!qwen.TieWordEmbeddings)
                yield return $"config.json says tie_word_embeddings = false but there is no {OutputName}";
            yield break;
        }
        var output = locations[OutputName].Entry(OutputName);
        if (locations.TryGetValue(EmbeddingName, out var file) && !file.Entry(EmbeddingName).Shape.SequenceEqual(output.Shape))
            yield return $"shape of '{OutputName}': stored {output.ShapeText} vs {EmbeddingName} {file.Entry(EmbeddingName).ShapeText}";
    }

    private static void CheckOutputEqualsEmbedding(SafetensorsFile outputFile, SafetensorsFile embeddingFile)
    {
        using var scope = NewDisposeScope();
        var output = outputFile.Load(OutputName);
        var embedding = embeddingFile.Load(EmbeddingName);
        if (!output.to(embedding.dtype).eq(embedding).all().item<bool>())
            throw new CheckpointException($"{outputFile.Path}: '{OutputName}' differs from '{EmbeddingName}' (an untied output layer); " +
                "our networks tie the output to the input embedding, so this checkpoint cannot be imported faithfully");
    }
}
