using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AnCoder.Anchoring.Tokenization;

/// <summary>
/// Reads and writes byte-level BPE tokenizers in the Hugging Face layout used by Qwen2/Qwen2.5: <c>tokenizer.json</c>
/// (model BPE, Split(regex, Isolated) + ByteLevel pre-tokenizer, ByteLevel decoder, added special tokens) and the
/// classic pair <c>vocab.json</c> + <c>merges.txt</c> (special tokens then come from <c>tokenizer_config.json</c>'s
/// <c>added_tokens_decoder</c> when present). Normalizers (Qwen2's NFC) are not applied: they would break the
/// byte-exact tiling that the labels need.
/// </summary>
public static class HfTokenizerFiles
{
    public const string TokenizerJson = "tokenizer.json", VocabJson = "vocab.json", MergesTxt = "merges.txt";

    /// <summary>The parts of a tokenizer as stored on disk.</summary>
    public sealed record Contents(
        IReadOnlyDictionary<string, int> Vocab,
        IReadOnlyList<(string Left, string Right)> Merges,
        IReadOnlyDictionary<string, int> SpecialTokens,
        string Pattern);

    public static ByteLevelBpe Load(string directory) => Build(Read(directory));

    public static Contents Read(string directory)
    {
        string tokenizerJson = Path.Combine(directory, TokenizerJson);
        if (File.Exists(tokenizerJson)) return ReadTokenizerJson(tokenizerJson);
        string vocabPath = Path.Combine(directory, VocabJson), mergesPath = Path.Combine(directory, MergesTxt);
        if (!File.Exists(vocabPath) || !File.Exists(mergesPath))
            throw new FileNotFoundException($"{directory} holds neither {TokenizerJson} nor {VocabJson} + {MergesTxt}");
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(vocabPath))
                    ?? throw new InvalidDataException($"{vocabPath}: not a JSON object");
        var merges = ReadMergesTxt(File.ReadAllLines(mergesPath, Encoding.UTF8));
        var specials = ReadAddedTokensFromConfig(Path.Combine(directory, "tokenizer_config.json"));
        return new Contents(vocab, merges, specials, PreTokenizer.Qwen2Pattern);
    }

    public static ByteLevelBpe Build(Contents contents)
    {
        int size = 0;
        foreach (int id in contents.Vocab.Values) size = Math.Max(size, id + 1);
        foreach (int id in contents.SpecialTokens.Values) size = Math.Max(size, id + 1);
        var tokenBytes = new byte[]?[size];
        foreach (var (token, id) in contents.Vocab)
        {
            if (contents.SpecialTokens.ContainsKey(token)) continue;
            if (ByteLevelAlphabet.TryDecode(token, out byte[] bytes)) tokenBytes[id] = bytes;
        }
        foreach (var (token, id) in contents.SpecialTokens) tokenBytes[id] = Encoding.UTF8.GetBytes(token);
        var idOf = contents.Vocab;
        var merges = new List<(int, int)>(contents.Merges.Count);
        foreach (var (left, right) in contents.Merges)
        {
            if (!idOf.TryGetValue(left, out int l) || !idOf.TryGetValue(right, out int r))
                throw new InvalidDataException($"merge `{left} {right}` uses a token that is not in the vocabulary");
            merges.Add((l, r));
        }
        return new ByteLevelBpe(tokenBytes, merges, contents.SpecialTokens, new PreTokenizer(contents.Pattern));
    }

    /// <summary>Writes tokenizer.json, vocab.json and merges.txt (atomically, each through a temp file).</summary>
    public static void Save(string directory, Contents contents)
    {
        Directory.CreateDirectory(directory);
        var orderedVocab = contents.Vocab.OrderBy(kv => kv.Value).ToList();

        var vocabObject = new JsonObject();
        foreach (var (token, id) in orderedVocab) vocabObject[token] = id;
        var mergeArray = new JsonArray();
        foreach (var (left, right) in contents.Merges) mergeArray.Add($"{left} {right}");
        var addedTokens = new JsonArray();
        foreach (var (token, id) in contents.SpecialTokens.OrderBy(kv => kv.Value))
        {
            addedTokens.Add(new JsonObject
            {
                ["id"] = id, ["content"] = token, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
                ["normalized"] = false, ["special"] = true,
            });
        }
        var byteLevel = new JsonObject
        {
            ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false,
        };
        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = addedTokens,
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray
                {
                    new JsonObject
                    {
                        ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = contents.Pattern },
                        ["behavior"] = "Isolated", ["invert"] = false,
                    },
                    byteLevel.DeepClone(),
                },
            },
            ["post_processor"] = null,
            ["decoder"] = byteLevel.DeepClone(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false,
                ["vocab"] = vocabObject, ["merges"] = mergeArray,
            },
        };
        var options = new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        AtomicFile.WriteAllText(Path.Combine(directory, TokenizerJson), root.ToJsonString(options));
        AtomicFile.WriteAllText(Path.Combine(directory, VocabJson), vocabObject.DeepClone().ToJsonString(options));
        var merges = new StringBuilder("#version: 0.2\n");
        foreach (var (left, right) in contents.Merges) merges.Append(left).Append(' ').Append(right).Append('\n');
        AtomicFile.WriteAllText(Path.Combine(directory, MergesTxt), merges.ToString());
    }

    private static Contents ReadTokenizerJson(string path)
    {
        JsonNode root = JsonNode.Parse(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty");
        JsonNode model = root["model"] ?? throw new InvalidDataException($"{path}: no model");
        if ((string?)model["type"] is string type && type != "BPE")
            throw new InvalidDataException($"{path}: model type {type}, expected BPE");
        var vocab = new Dictionary<string, int>();
        foreach (var (token, id) in model["vocab"]!.AsObject()) vocab[token] = (int)id!;
        var merges = new List<(string, string)>();
        foreach (JsonNode? merge in model["merges"]!.AsArray())
        {
            if (merge is JsonArray pair) merges.Add(((string)pair[0]!, (string)pair[1]!));
            else merges.Add(SplitMerge((string)merge!));
        }
        var specials = new Dictionary<string, int>();
        if (root["added_tokens"] is JsonArray added)
        {
            foreach (JsonNode? token in added) specials[(string)token!["content"]!] = (int)token["id"]!;
        }
        return new Contents(vocab, merges, specials, FindSplitPattern(root["pre_tokenizer"]) ?? PreTokenizer.Qwen2Pattern);
    }

    private static string? FindSplitPattern(JsonNode? node)
    {
        if (node is null) return null;
        if ((string?)node["type"] == "Split") return (string?)node["pattern"]?["Regex"];
        if (node["pretokenizers"] is JsonArray list)
        {
            foreach (JsonNode? child in list)
            {
                if (FindSplitPattern(child) is string pattern) return pattern;
            }
        }
        return null;
    }

    private static List<(string, string)> ReadMergesTxt(string[] lines)
    {
        var merges = new List<(string, string)>(lines.Length);
        foreach (string line in lines)
        {
            if (line.Length == 0 || line.StartsWith("#version")) continue;
            merges.Add(SplitMerge(line));
        }
        return merges;
    }

    private static (string, string) SplitMerge(string merge)
    {
        int space = merge.IndexOf(' ');
        if (space <= 0) throw new InvalidDataException($"malformed merge `{merge}`");
        return (merge[..space], merge[(space + 1)..]);
    }

    private static Dictionary<string, int> ReadAddedTokensFromConfig(string path)
    {
        var specials = new Dictionary<string, int>();
        if (!File.Exists(path)) return specials;
        if (JsonNode.Parse(File.ReadAllText(path))?["added_tokens_decoder"] is JsonObject decoder)
        {
            foreach (var (id, token) in decoder) specials[(string)token!["content"]!] = int.Parse(id);
        }
        return specials;
    }
}

/// <summary>Writes files so that a reader never sees a partial file: write to a temp file beside it, then rename.</summary>
public static class AtomicFile
{
    public static void WriteAllText(string path, string text) => Write(path, stream =>
    {
        var bytes = new UTF8Encoding(false).GetBytes(text);
        stream.Write(bytes);
    });

    public static void Write(string path, Action<Stream> writer)
    {
        string temp = path + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                writer(stream);
                stream.Flush(true);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
