namespace AnCoder.Evaluation.Benchmarks;

/// <summary>
/// Finds the shared benchmark data (<c>shared/datasets</c>, kept beside the repository and never inside it):
/// an explicit directory, else <c>$ANCODER_DATA</c>, else the first <c>shared/datasets</c> found walking up from the
/// start directory (the repository root's parent in a normal checkout; further up from a worktree).
/// </summary>
public static class DatasetLocator
{
    public const string EnvironmentVariable = "ANCODER_DATA";

    public static string? Find(string? explicitDirectory = null, params string[] startDirectories)
    {
        if (!string.IsNullOrEmpty(explicitDirectory))
            return Directory.Exists(explicitDirectory) ? Path.GetFullPath(explicitDirectory) : null;
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(fromEnvironment))
            return Directory.Exists(fromEnvironment) ? Path.GetFullPath(fromEnvironment) : null;
        var starts = startDirectories.Length > 0 ? startDirectories : [Directory.GetCurrentDirectory(), AppContext.BaseDirectory];
        foreach (var start in starts)
        {
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "shared", "datasets");
                if (Directory.Exists(candidate))
                    return candidate;
            }
        }
        return null;
    }

    public static string Require(string? explicitDirectory = null, params string[] startDirectories) =>
        Find(explicitDirectory, startDirectories) ?? throw new BenchmarkDataException(
            $"benchmark data not found: pass --data DIR or set {EnvironmentVariable}, or place shared/datasets beside the repository");
}
