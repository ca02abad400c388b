using AnCoder.Anchoring.Tokenization;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Checkpoints;

/// <summary>How <see cref="ModelCheckpoint.Save(DiffusionModel, string, string?, CheckpointSaveOptions)"/> stores weights.</summary>
public sealed record CheckpointSaveOptions
{
    /// <summary>Store floating tensors in this dtype (e.g. BFloat16 halves the file); null keeps each parameter's dtype.</summary>
    public ScalarType? StoreAs { get; init; }

    /// <summary>
    /// Writes further files (optimizer or trainer state, ...) into the staging folder, whose path it receives, before
    /// the folder is renamed into place: they are saved atomically together with the model.
    /// </summary>
    public Action<string>? WriteExtraFiles { get; init; }
}

/// <summary>How <see cref="ModelCheckpoint.Load(string, CheckpointLoadOptions)"/> builds the model.</summary>
public sealed record CheckpointLoadOptions
{
    /// <summary>Dtype of the loaded model's parameters: Float32 (default, fp32 master weights) or BFloat16.</summary>
    public ScalarType ParameterType { get; init; } = ScalarType.Float32;

    /// <summary>Convert stored floating tensors to <see cref="ParameterType"/> (bf16 stored → fp32). Off: dtypes must match.</summary>
    public bool ConvertFloatingTypes { get; init; } = true;
}

/// <summary>
/// A model folder in the Hugging Face style: <c>config.json</c> (<see cref="ModelConfig.ToJson"/>),
/// <c>model.safetensors</c> (the state dict under its parameter names) and the tokenizer files.
/// The folder is written whole and atomically: built in a temporary sibling, then renamed into place.
/// </summary>
public static class ModelCheckpoint
{
    public const string ConfigFileName = "config.json";
    public const string WeightsFileName = "model.safetensors";
    public const string TokenizerFileName = "tokenizer.json";

    /// <summary>Tokenizer files copied along when a tokenizer folder is given (those that exist; tokenizer.json first).</summary>
    public static readonly string[] TokenizerFileNames =
        [TokenizerFileName, "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.json", "merges.txt"];

    /// <summary>
    /// Saves <paramref name="model"/> into <paramref name="directory"/>, replacing an existing folder only once the new
    /// one is complete. <paramref name="tokenizerDirectoryOrFile"/>: a tokenizer.json file, or a folder holding
    /// Hugging Face tokenizer files; null copies our default tokenizer.
    /// </summary>
    public static void Save(DiffusionModel model, string directory, string? tokenizerDirectoryOrFile = null) =>
        Save(model, directory, tokenizerDirectoryOrFile, new CheckpointSaveOptions());

    public static void Save(DiffusionModel model, string directory, string? tokenizerDirectoryOrFile, CheckpointSaveOptions options) =>
        Save(model, directory, tokenizerDirectoryOrFile, options, afterFileWritten: null);

    /// <param name="afterFileWritten">Test seam: called with each file name once written into the staging folder.</param>
    internal static void Save(DiffusionModel model, string directory, string? tokenizerDirectoryOrFile,
        CheckpointSaveOptions options, Action<string>? afterFileWritten)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var tokenizerFiles = TokenizerFiles(tokenizerDirectoryOrFile);
        string target = Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar);
        string parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);

        string staging = AtomicFiles.TemporarySibling(target);
        Directory.CreateDirectory(staging);
        try
        {
            AtomicFiles.Write(Path.Combine(staging, ConfigFileName), stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(ConfigJson(model, options) + "\n")));
            afterFileWritten?.Invoke(ConfigFileName);

            using (var scope = NewDisposeScope())
            {
                var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
                foreach (var (name, tensor) in model.state_dict())
                    tensors[name] = options.StoreAs is { } storeAs && StateDictLoader.IsFloating(tensor.dtype) && tensor.dtype != storeAs
                        ? tensor.detach().to(storeAs)
                        : tensor;
                Safetensors.Write(Path.Combine(staging, WeightsFileName), tensors, Metadata(model));
            }
            afterFileWritten?.Invoke(WeightsFileName);

            foreach (var (source, name) in tokenizerFiles)
            {
                File.Copy(source, Path.Combine(staging, name));
                afterFileWritten?.Invoke(name);
            }
            options.WriteExtraFiles?.Invoke(staging);
            AtomicFiles.ReplaceDirectory(staging, target);
        }
        catch
        {
            AtomicFiles.TryDeleteDirectory(staging);
            throw;
        }
    }

    /// <summary>
    /// config.json's text: ours (<see cref="ModelConfig.ToJson"/>), or for an autoregressive model Hugging Face's
    /// Qwen2ForCausalLM config (docs/recipe.md §1), so the folder is a Hugging Face model folder.
    /// </summary>
    private static string ConfigJson(DiffusionModel model, CheckpointSaveOptions options)
    {
        if (model.Config.Architecture != Architecture.Causal) return model.Config.ToJson();
        var stored = options.StoreAs ?? model.parameters().First().dtype;
        return HuggingFaceQwen2Config.FromModelConfig(model.Config, stored == ScalarType.BFloat16 ? "bfloat16" : "float32").ToJson();
    }

    /// <summary>Loads a folder written by <see cref="Save(DiffusionModel, string, string?)"/> into fp32 parameters.</summary>
    /// <exception cref="CheckpointException">Missing files, a bad config, or weights that do not fit it (all mismatches listed).</exception>
    public static DiffusionModel Load(string directory) => Load(directory, new CheckpointLoadOptions());

    public static DiffusionModel Load(string directory, CheckpointLoadOptions options)
    {
        if (!Directory.Exists(directory)) throw new CheckpointException($"{directory}: checkpoint folder not found");
        string configPath = Path.Combine(directory, ConfigFileName);
        if (!File.Exists(configPath)) throw new CheckpointException($"{directory}: no {ConfigFileName} (not a checkpoint folder?)");
        if (!File.Exists(Path.Combine(directory, WeightsFileName)) && !File.Exists(Path.Combine(directory, Qwen2Import.IndexFileName)))
            throw new CheckpointException($"{directory}: no {WeightsFileName} (not a checkpoint folder?)");
        if (HuggingFaceQwen2Config.IsHuggingFaceConfig(File.ReadAllText(configPath)))
        {
            // A Hugging Face Qwen2ForCausalLM folder (our autoregressive models write one): the causal model itself.
            return Qwen2Import.FromHuggingFace(directory, new Qwen2ImportOptions { Architecture = Architecture.Causal, ParameterType = options.ParameterType });
        }
        ModelConfig config;
        try
        {
            config = ModelConfig.Load(configPath);
        }
        catch (ConfigException e)
        {
            throw new CheckpointException(e.Message, e);
        }
        var model = DiffusionModel.Create(config);
        try
        {
            if (options.ParameterType != ScalarType.Float32) model.to(options.ParameterType);
            LoadFolderWeights(model, directory, options);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies the tensors of a safetensors file into <paramref name="module"/>'s state dict after checking every
    /// name, shape and dtype against it (all mismatches in one <see cref="CheckpointException"/>).
    /// </summary>
    public static void LoadWeights(nn.Module module, string weightsPath, CheckpointLoadOptions? options = null)
    {
        options ??= new CheckpointLoadOptions();
        using var file = SafetensorsFile.Open(weightsPath);
        var expected = module.state_dict();
        var problems = StateDictLoader.Mismatches(expected,
            file.Entries.Select(entry => new StoredTensor(entry.Name, entry.Type, entry.Shape)), options.ConvertFloatingTypes);
        StateDictLoader.ThrowIfAny($"{weightsPath} does not fit the model", problems);
        foreach (var (name, target) in expected)
        {
            using var source = file.Load(name);
            StateDictLoader.CopyInto(target, source);
        }
    }

    /// <summary>
    /// Loads a folder's weights: <c>model.safetensors</c>, or the shards its <c>model.safetensors.index.json</c> lists
    /// (Hugging Face's layout, which the PyTorch trainer writes when asked for files under a size limit). Every name,
    /// shape and dtype is checked across all shards together; a tensor stored twice is an error.
    /// </summary>
    public static void LoadFolderWeights(nn.Module module, string directory, CheckpointLoadOptions? options = null)
    {
        var files = Qwen2Import.WeightFiles(directory);
        if (files.Count == 1)
        {
            LoadWeights(module, files[0], options);
            return;
        }
        options ??= new CheckpointLoadOptions();
        var opened = new List<SafetensorsFile>();
        try
        {
            var location = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (string path in files)
            {
                var file = SafetensorsFile.Open(path);
                opened.Add(file);
                foreach (var entry in file.Entries)
                    if (!location.TryAdd(entry.Name, file))
                        throw new CheckpointException($"{directory}: tensor '{entry.Name}' is stored twice");
            }
            var expected = module.state_dict();
            var stored = opened.SelectMany(file => file.Entries.Select(entry => new StoredTensor(entry.Name, entry.Type, entry.Shape)));
            StateDictLoader.ThrowIfAny($"{directory} does not fit the model", StateDictLoader.Mismatches(expected, stored, options.ConvertFloatingTypes));
            foreach (var (name, target) in expected)
            {
                using var source = location[name].Load(name);
                StateDictLoader.CopyInto(target, source);
            }
        }
        finally
        {
            foreach (var file in opened) file.Dispose();
        }
    }

    private static Dictionary<string, string> Metadata(DiffusionModel model) => new()
    {
        ["format"] = "pt",
        ["ancoder.architecture"] = model.Config.Architecture.ToString().ToLowerInvariant(),
    };

    /// <summary>
    /// The tokenizer files <see cref="Save(DiffusionModel, string, string?)"/> would copy: (source path, file name in the
    /// checkpoint). Call it early to fail before long work when the tokenizer is missing.
    /// </summary>
    /// <exception cref="CheckpointException">No such file or folder, or a folder without tokenizer files.</exception>
    public static IReadOnlyList<(string Source, string Name)> TokenizerFiles(string? tokenizerDirectoryOrFile)
    {
        string source = tokenizerDirectoryOrFile ?? DefaultTokenizer.Directory;
        if (File.Exists(source)) return [(source, TokenizerFileName)];
        if (!Directory.Exists(source))
            throw new CheckpointException($"{source}: tokenizer file or folder not found");
        var files = TokenizerFileNames.Select(name => (Path.Combine(source, name), name)).Where(pair => File.Exists(pair.Item1)).ToList();
        if (files.Count == 0)
            throw new CheckpointException($"{source}: no tokenizer files in this folder (looked for {string.Join(", ", TokenizerFileNames)})");
        return files;
    }
}
