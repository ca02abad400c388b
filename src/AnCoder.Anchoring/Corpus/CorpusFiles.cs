namespace AnCoder.Anchoring.Corpus;

/// <summary>Finds a corpus's .py files: recursively, in ordinal path order, skipping site-/dist-packages.</summary>
public static class CorpusFiles
{
    public static List<string> Enumerate(string directory)
    {
        return Directory.EnumerateFiles(directory, "*.py", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true })
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}site-packages{Path.DirectorySeparatorChar}")
                     && !p.Contains($"{Path.DirectorySeparatorChar}dist-packages{Path.DirectorySeparatorChar}"))
            .OrderBy(p => p, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Reads a file; null (with the reason) if it cannot be read.</summary>
    public static byte[]? TryRead(string path, out string? problem)
    {
        try
        {
            problem = null;
            return File.ReadAllBytes(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            problem = exception.Message;
            return null;
        }
    }
}
