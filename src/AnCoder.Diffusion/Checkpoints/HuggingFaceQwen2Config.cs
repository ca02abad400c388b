using System.Text.Json;

namespace AnCoder.Diffusion.Checkpoints;

/// <summary>
/// The fields of a Hugging Face <c>Qwen2ForCausalLM</c> <c>config.json</c> that the import uses, with Qwen2Config's
/// defaults for the optional ones. Features our blocks do not implement (rope scaling, sliding window, another
/// activation) are refused with a message rather than imported wrongly.
/// </summary>
public sealed record HuggingFaceQwen2Config
{
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int NumAttentionHeads { get; init; }
    public required int NumKeyValueHeads { get; init; }
    public required int VocabSize { get; init; }
    /// <summary>Null when absent: hidden_size / num_attention_heads.</summary>
    public int? HeadDim { get; init; }
    public double RopeTheta { get; init; } = 10000.0;
    public double RmsNormEps { get; init; } = 1e-6;
    /// <summary>Qwen2Config's default is false; Qwen2.5-Coder-0.5B sets true.</summary>
    public bool TieWordEmbeddings { get; init; }
    public int MaxPositionEmbeddings { get; init; } = 32768;
    public string? TorchDtype { get; init; }
    public int? EosTokenId { get; init; }
    public int? BosTokenId { get; init; }
    public int? PadTokenId { get; init; }
    /// <summary>
    /// Not a Hugging Face field: the mask token our diffusion models use, written by <see cref="FromModelConfig"/> so
    /// that <c>import-qwen</c> / <c>train --init-qwen</c> of our autoregressive models need no <c>--mask-id</c>.
    /// Transformers keeps unknown config keys as attributes, so the folder still loads there.
    /// </summary>
    public int? MaskTokenId { get; init; }

    /// <summary>
    /// The config.json of an autoregressive model of ours (<see cref="Configuration.Architecture.Causal"/>) as
    /// Hugging Face's <c>Qwen2ForCausalLM</c> writes it (the fields of Qwen2.5-Coder's config.json; tied embeddings,
    /// no sliding window, no rope scaling). <paramref name="torchDtype"/>: the dtype the weights are stored in.
    /// </summary>
    public static HuggingFaceQwen2Config FromModelConfig(Configuration.ModelConfig config, string torchDtype = "float32") => new()
    {
        HiddenSize = config.HiddenSize,
        IntermediateSize = config.IntermediateSize,
        NumHiddenLayers = config.NumHiddenLayers,
        NumAttentionHeads = config.NumAttentionHeads,
        NumKeyValueHeads = config.NumKeyValueHeads,
        VocabSize = config.VocabSize,
        HeadDim = config.HeadDim > 0 && config.HeadDim != config.HiddenSize / config.NumAttentionHeads ? config.HeadDim : null,
        RopeTheta = config.RopeTheta,
        RmsNormEps = config.RmsNormEps,
        TieWordEmbeddings = true,
        MaxPositionEmbeddings = config.MaxPositionEmbeddings,
        TorchDtype = torchDtype,
        EosTokenId = config.EosTokenId,
        BosTokenId = config.EosTokenId,
        PadTokenId = config.PadTokenId,
        MaskTokenId = config.MaskTokenId,
    };

    /// <summary>config.json text with Hugging Face's keys (sorted, as <c>save_pretrained</c> writes them).</summary>
    public string ToJson()
    {
        var fields = new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["architectures"] = new[] { "Qwen2ForCausalLM" },
            ["attention_dropout"] = 0.0,
            ["bos_token_id"] = BosTokenId,
            ["eos_token_id"] = EosTokenId,
            ["hidden_act"] = "silu",
            ["hidden_size"] = HiddenSize,
            ["initializer_range"] = 0.02,
            ["intermediate_size"] = IntermediateSize,
            ["mask_token_id"] = MaskTokenId,
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["max_window_layers"] = NumHiddenLayers,
            ["model_type"] = "qwen2",
            ["num_attention_heads"] = NumAttentionHeads,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_key_value_heads"] = NumKeyValueHeads,
            ["pad_token_id"] = PadTokenId,
            ["rms_norm_eps"] = RmsNormEps,
            ["rope_scaling"] = null,
            ["rope_theta"] = RopeTheta,
            ["sliding_window"] = MaxPositionEmbeddings,
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["torch_dtype"] = TorchDtype,
            ["transformers_version"] = "4.44.0",
            ["use_cache"] = true,
            ["use_sliding_window"] = false,
            ["vocab_size"] = VocabSize,
        };
        if (HeadDim is { } headDim) fields["head_dim"] = headDim;
        return JsonSerializer.Serialize(fields, new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>True when the JSON text is a Hugging Face config (it has <c>model_type</c>), not one of our model configs.</summary>
    public static bool IsHuggingFaceConfig(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("model_type", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    public static HuggingFaceQwen2Config Load(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"{path}: not found (a Hugging Face model folder has a config.json)");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{path}: not valid JSON ({e.Message})");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new CheckpointException($"{path}: must be a JSON object");
            var fields = new Reader(path, root);
            string? modelType = fields.String("model_type");
            if (modelType is not null && modelType != "qwen2")
                throw new CheckpointException($"{path}: model_type is '{modelType}', expected 'qwen2' (Qwen2ForCausalLM)");
            string? activation = fields.String("hidden_act");
            if (activation is not null && activation != "silu")
                throw new CheckpointException($"{path}: hidden_act '{activation}' is not supported (our MLP is SwiGLU with silu)");
            if (root.TryGetProperty("rope_scaling", out var scaling) && scaling.ValueKind != JsonValueKind.Null)
                throw new CheckpointException($"{path}: rope_scaling {scaling.GetRawText()} is not supported (only plain RoPE)");
            if (fields.Bool("use_sliding_window") == true)
                throw new CheckpointException($"{path}: use_sliding_window = true is not supported (our attention is full and bidirectional)");
            int heads = fields.RequiredInt("num_attention_heads");
            return new HuggingFaceQwen2Config
            {
                HiddenSize = fields.RequiredInt("hidden_size"),
                IntermediateSize = fields.RequiredInt("intermediate_size"),
                NumHiddenLayers = fields.RequiredInt("num_hidden_layers"),
                NumAttentionHeads = heads,
                NumKeyValueHeads = fields.Int("num_key_value_heads") ?? heads,
                VocabSize = fields.RequiredInt("vocab_size"),
                HeadDim = fields.Int("head_dim"),
                RopeTheta = fields.Double("rope_theta") ?? 10000.0,
                RmsNormEps = fields.Double("rms_norm_eps") ?? 1e-6,
                TieWordEmbeddings = fields.Bool("tie_word_embeddings") ?? false,
                MaxPositionEmbeddings = fields.Int("max_position_embeddings") ?? 32768,
                TorchDtype = fields.String("torch_dtype"),
                EosTokenId = fields.FirstInt("eos_token_id"),
                BosTokenId = fields.FirstInt("bos_token_id"),
                PadTokenId = fields.FirstInt("pad_token_id"),
                MaskTokenId = fields.Int("mask_token_id"),
            };
        }
    }

    private readonly struct Reader(string path, JsonElement root)
    {
        private JsonElement? Get(string name) =>
            root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

        private CheckpointException Wrong(string name, string expected) =>
            new($"{path}: {name} must be {expected}, found {root.GetProperty(name).GetRawText()}");

        public int RequiredInt(string name) =>
            Int(name) ?? throw new CheckpointException($"{path}: missing {name} (is this a Qwen2 config.json?)");

        public int? Int(string name) => Get(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.Number } value when value.TryGetInt32(out int number) => number,
            _ => throw Wrong(name, "an integer"),
        };

        /// <summary>An int, or the first of a list of ints (Hugging Face allows both for token ids).</summary>
        public int? FirstInt(string name) => Get(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.Array } list => list.GetArrayLength() > 0 && list[0].TryGetInt32(out int first) ? first : throw Wrong(name, "an integer or a list of integers"),
            { ValueKind: JsonValueKind.Number } value when value.TryGetInt32(out int number) => number,
            _ => throw Wrong(name, "an integer or a list of integers"),
        };

        public double? Double(string name) => Get(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.Number } value => value.GetDouble(),
            _ => throw Wrong(name, "a number"),
        };

        public bool? Bool(string name) => Get(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.True } => true,
            { ValueKind: JsonValueKind.False } => false,
            _ => throw Wrong(name, "true or false"),
        };

        public string? String(string name) => Get(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.String } value => value.GetString(),
            _ => throw Wrong(name, "a string"),
        };
    }
}
