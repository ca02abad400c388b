using AnCoder.Anchoring.Labels;
using AnCoder.Anchoring.Settings;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AnCoder.Diffusion.Checkpoints;

namespace AnCoder.Diffusion.Training;

/// <summary>
/// Everything besides tensors that a resumed run needs (trainer_state.json in a checkpoint), in the settings' JSON
/// conventions (<see cref="SettingsJson.Options"/>: snake_case, enum names in lower case, unknown fields refused).
/// </summary>
public sealed record TrainerState
{
    public int Version { get; init; } = 1;
    /// <summary>Optimizer steps completed (the LR schedule's position).</summary>
    public long Step { get; init; }
    public long TotalSteps { get; init; }
    public long Tokens { get; init; }
    public double WallSeconds { get; init; }
    /// <summary>The training loader's position after the last consumed batch.</summary>
    public int LoaderEpoch { get; init; }
    public long LoaderCursor { get; init; }
    public AnchorStrategy Strategy { get; init; }
    public double LearningRate { get; init; }
}

/// <summary>
/// Run checkpoints <c>checkpoints/step-NNNNNNN/</c>: the model folder of <see cref="ModelCheckpoint"/> plus
/// <c>optimizer.bin</c> (TorchSharp AdamW state), <c>generator.bin</c> (torch generator state),
/// <c>trainer_state.json</c>, optional <c>ema.safetensors</c>, and <c>checksums.sha256</c> written last. The whole
/// folder appears atomically (built in a hidden sibling, then renamed). A folder whose checksum file is missing or
/// does not match is never loaded: <see cref="FindLatestValid"/> skips it with a warning and takes the previous one.
/// </summary>
public static partial class TrainingCheckpoints
{
    public const string DirectoryName = "checkpoints";
    public const string ChecksumFile = "checksums.sha256";
    public const string StateFile = "trainer_state.json";
    public const string OptimizerFile = "optimizer.bin";
    public const string GeneratorFile = "generator.bin";
    public const string EmaFile = "ema.safetensors";

    /// <summary>Files a complete checkpoint must list in its checksum file.</summary>
    public static readonly string[] RequiredFiles =
        [ModelCheckpoint.ConfigFileName, ModelCheckpoint.WeightsFileName, OptimizerFile, GeneratorFile, StateFile];

    [GeneratedRegex(@"^step-(\d{7,})$")]
    private static partial Regex StepFolder();

    public static string FolderName(long step) => "step-" + step.ToString("D7", CultureInfo.InvariantCulture);

    public static string Root(string runDirectory) => Path.Combine(runDirectory, DirectoryName);

    /// <summary>Checkpoint folders of a run, newest first (complete or not).</summary>
    public static List<(long Step, string Path)> List(string runDirectory)
    {
        var result = new List<(long, string)>();
        string root = Root(runDirectory);
        if (!Directory.Exists(root)) return result;
        foreach (string directory in Directory.EnumerateDirectories(root))
        {
            var match = StepFolder().Match(Path.GetFileName(directory));
            if (match.Success && long.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out long step))
                result.Add((step, directory));
        }
        result.Sort((a, b) => b.Item1.CompareTo(a.Item1));
        return result;
    }

    /// <summary>Writes the checksum file (last) over every other file of a staged checkpoint folder.</summary>
    public static void WriteChecksums(string directory)
    {
        var text = new StringBuilder();
        foreach (string file in Directory.EnumerateFiles(directory).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal))
        {
            if (file == ChecksumFile || file.StartsWith('.')) continue;
            text.Append(Sha256(Path.Combine(directory, file))).Append("  ").Append(file).Append('\n');
        }
        AtomicFiles.Write(Path.Combine(directory, ChecksumFile), stream => stream.Write(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>Null when the folder is a complete checkpoint whose files all match its checksum file; else why not.</summary>
    public static string? Verify(string directory)
    {
        string checksumPath = Path.Combine(directory, ChecksumFile);
        if (!File.Exists(checksumPath)) return $"no {ChecksumFile} (incomplete: written by a process that was killed?)";
        var listed = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            foreach (string line in File.ReadAllLines(checksumPath))
            {
                if (line.Length == 0) continue;
                int split = line.IndexOf("  ", StringComparison.Ordinal);
                if (split != 64) return $"{ChecksumFile}: malformed line '{line}'";
                listed[line[(split + 2)..]] = line[..split];
            }
            foreach (string required in RequiredFiles)
                if (!listed.ContainsKey(required)) return $"{ChecksumFile} does not list {required}";
            foreach (var (file, expected) in listed)
            {
                string path = Path.Combine(directory, file);
                if (!File.Exists(path)) return $"{file} is missing";
                if (!string.Equals(Sha256(path), expected, StringComparison.OrdinalIgnoreCase)) return $"{file} does not match its checksum";
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"unreadable ({e.Message})";
        }
        return null;
    }

    /// <summary>The optimizer state file of a checkpoint written by the torch engine (python/ancoder_torch, PyTorch's format).</summary>
    public const string TorchOptimizerFile = "optimizer.pt";

    /// <summary>
    /// The newest checkpoint folder when the torch engine wrote it (its optimizer state is PyTorch's <c>optimizer.pt</c>,
    /// which this trainer does not read); null otherwise.
    /// </summary>
    public static string? NewestWrittenByTorchEngine(string runDirectory) =>
        List(runDirectory) is [var (_, newest), ..] && File.Exists(Path.Combine(newest, TorchOptimizerFile)) && !File.Exists(Path.Combine(newest, OptimizerFile))
            ? newest : null;

    /// <summary>The newest checkpoint that verifies; each newer one that does not is reported to <paramref name="warn"/>.</summary>
    public static (long Step, string Path)? FindLatestValid(string runDirectory, Action<string>? warn = null)
    {
        foreach (var (step, path) in List(runDirectory))
        {
            string? problem = Verify(path);
            if (problem is null) return (step, path);
            warn?.Invoke($"ignoring checkpoint {path}: {problem}");
        }
        return null;
    }

    /// <summary>Keeps the newest <paramref name="keep"/> checkpoint folders; removes older ones and stale staging folders.</summary>
    public static void Prune(string runDirectory, int keep)
    {
        foreach (var (_, path) in List(runDirectory).Skip(keep)) AtomicFiles.TryDeleteDirectory(path);
        RemoveStaging(runDirectory);
    }

    /// <summary>Removes hidden staging folders (<c>.step-….tmp-…</c>) left by a killed process.</summary>
    public static void RemoveStaging(string runDirectory)
    {
        string root = Root(runDirectory);
        if (!Directory.Exists(root)) return;
        foreach (string directory in Directory.EnumerateDirectories(root, ".step-*")) AtomicFiles.TryDeleteDirectory(directory);
    }

    public static TrainerState ReadState(string checkpoint) =>
        JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(Path.Combine(checkpoint, StateFile)), SettingsJson.Options)
        ?? throw new InvalidDataException($"{checkpoint}: empty {StateFile}");

    public static void WriteState(string directory, TrainerState state) =>
        AtomicFiles.Write(Path.Combine(directory, StateFile),
            stream => stream.Write(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(state, SettingsJson.Options) + "\n")));

    private static string Sha256(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
