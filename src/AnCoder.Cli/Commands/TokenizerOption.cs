using System.CommandLine;
using System.Text.Json;
using AnCoder.Anchoring.Tokenization;

namespace AnCoder.Cli.Commands;

/// <summary><c>--tokenizer DIR</c> of the verbs that tokenize source (prepare, anchors): the option and its loading.</summary>
internal static class TokenizerOption
{
    public static Option<string?> Create() =>
        new("--tokenizer") { Description = "Tokenizer folder (Hugging Face tokenizer.json or vocab.json + merges.txt). Default: the shipped stdlib BPE." };

    /// <summary>The tokenizer of DIR, or the shipped one without DIR; null after one error line naming the verb.</summary>
    public static ByteLevelBpe? Load(string? directory, string verb)
    {
        try
        {
            return directory is null ? DefaultTokenizer.Load() : HfTokenizerFiles.Load(directory);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or JsonException)
        {
            Console.Error.WriteLine($"ancoder {verb}: cannot load the tokenizer: {e.Message}");
            return null;
        }
    }
}
