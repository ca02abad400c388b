using System.Diagnostics;

namespace AnCoder.Anchoring.Corpus;

/// <summary>
/// One tree of .py files the corpus is built from: <see cref="Name"/> (what the manifest calls it: <c>stdlib</c> or
/// the folder path) and its <see cref="Root"/>. A file's package is its top-level folder under the root (or the
/// module name of a top-level file): the unit the split assigns (docs/corpus.md).
/// </summary>
public sealed record CorpusSource(string Name, string Root)
{
    public const string StdlibName = "stdlib";

    public static CorpusSource Directory(string path) => new(Path.GetFullPath(path), Path.GetFullPath(path));

    /// <summary>The package of a path relative to a source root: the first folder, or the file's module name.</summary>
    public static string PackageOf(string relativePath)
    {
        string normal = relativePath.Replace('\\', '/');
        int slash = normal.IndexOf('/');
        if (slash >= 0) return normal[..slash];
        return normal.EndsWith(".py", StringComparison.Ordinal) ? normal[..^3] : normal;
    }
}

/// <summary>One input file of the corpus: its source, path relative to the source root, package and absolute path.</summary>
public sealed record CorpusFile(CorpusSource Source, string RelativePath, string Package, string FullPath)
{
    /// <summary>"source:relative path", how removals and the manifest name a file.</summary>
    public string Id => $"{Source.Name}:{RelativePath}";
}

/// <summary>Finds the python trees of the machine and the .py files of sources.</summary>
public static class CorpusSources
{
    private static readonly HashSet<string> Skipped = ["site-packages", "dist-packages", "__pycache__"];

    /// <summary>
    /// Every .py file of the sources, in source order then ordinal path order. Nested site-/dist-packages and
    /// __pycache__ folders under a root are skipped (python3's stdlib folder holds its site-packages).
    /// </summary>
    public static List<CorpusFile> Enumerate(IReadOnlyList<CorpusSource> sources)
    {
        var files = new List<CorpusFile>();
        foreach (var source in sources)
        {
            var paths = new List<string>();
            var pending = new Stack<string>([source.Root]);
            while (pending.Count > 0)
            {
                string dir = pending.Pop();
                try
                {
                    paths.AddRange(System.IO.Directory.EnumerateFiles(dir, "*.py"));
                    foreach (string sub in System.IO.Directory.EnumerateDirectories(dir))
                        if (!Skipped.Contains(Path.GetFileName(sub)) && (new FileInfo(sub).Attributes & FileAttributes.ReparsePoint) == 0) pending.Push(sub);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // An unreadable folder contributes nothing.
                }
            }
            paths.Sort(StringComparer.Ordinal);
            foreach (string path in paths)
            {
                string relative = Path.GetRelativePath(source.Root, path).Replace('\\', '/');
                files.Add(new CorpusFile(source, relative, CorpusSource.PackageOf(relative), path));
            }
        }
        return files;
    }

    /// <summary>
    /// <c>--source site</c>: the site-packages and dist-packages folders of every python3 on this machine (the
    /// <c>python3</c> on PATH, /usr/bin and /usr/local/bin python3.X, pyenv versions), as each reports them with
    /// <c>site.getsitepackages()</c>; existing, distinct folders in a stable order.
    /// </summary>
    public static List<CorpusSource> SitePackages()
    {
        var interpreters = new List<string> { "python3" };
        foreach (string dir in new[] { "/usr/bin", "/usr/local/bin" })
            if (System.IO.Directory.Exists(dir))
                interpreters.AddRange(System.IO.Directory.EnumerateFiles(dir, "python3*").Where(p => System.Text.RegularExpressions.Regex.IsMatch(Path.GetFileName(p), @"^python3(\.\d+)?$")).Order(StringComparer.Ordinal));
        string pyenv = Path.Combine(Environment.GetEnvironmentVariable("PYENV_ROOT") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".pyenv"), "versions");
        if (System.IO.Directory.Exists(pyenv))
            foreach (string version in System.IO.Directory.EnumerateDirectories(pyenv).Order(StringComparer.Ordinal))
                if (File.Exists(Path.Combine(version, "bin", "python3"))) interpreters.Add(Path.Combine(version, "bin", "python3"));
        var folders = new List<string>();
        foreach (string interpreter in interpreters)
        {
            foreach (string line in Run(interpreter, "import site\nfor p in site.getsitepackages(): print(p)"))
            {
                string full = Path.GetFullPath(line.Trim());
                if (full.Length > 0 && System.IO.Directory.Exists(full) && !folders.Contains(full)) folders.Add(full);
            }
        }
        return folders.Select(f => new CorpusSource(f, f)).ToList();
    }

    private static IEnumerable<string> Run(string interpreter, string code)
    {
        try
        {
            var info = new ProcessStartInfo(interpreter, ["-c", code]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var process = Process.Start(info);
            if (process is null) return [];
            string output = process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? output.Split('\n', StringSplitOptions.RemoveEmptyEntries) : [];
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return [];
        }
    }

    /// <summary>python3's standard library folder (<c>sysconfig.get_paths()['stdlib']</c>), or null.</summary>
    public static string? Stdlib()
    {
        var lines = Run("python3", "import sysconfig; print(sysconfig.get_paths()['stdlib'])").ToList();
        return lines.Count == 1 && System.IO.Directory.Exists(lines[0].Trim()) ? lines[0].Trim() : null;
    }
}

/// <summary>Turns <c>--source</c> values into sources: <c>stdlib</c>, <c>site</c> (every site-/dist-packages tree), or a folder.</summary>
public static class SourceSpecs
{
    public const string Stdlib = "stdlib", Site = "site";

    /// <summary>The sources in the given order (duplicated roots once); throws <see cref="ArgumentException"/> with a
    /// one-line message for a folder that does not exist or a python3 that cannot be found.</summary>
    public static List<CorpusSource> Resolve(IEnumerable<string> specs)
    {
        var sources = new List<CorpusSource>();
        void Add(CorpusSource source)
        {
            if (!sources.Any(s => s.Root == source.Root)) sources.Add(source);
        }
        foreach (string spec in specs)
        {
            if (spec == Stdlib)
                Add(new CorpusSource(CorpusSource.StdlibName, CorpusSources.Stdlib() ?? throw new ArgumentException("python3's standard library was not found (is python3 on PATH?)")));
            else if (spec == Site)
            {
                var site = CorpusSources.SitePackages();
                if (site.Count == 0) throw new ArgumentException("no site-packages or dist-packages folder found for any python3 on this machine");
                site.ForEach(Add);
            }
            else if (Directory.Exists(spec)) Add(CorpusSource.Directory(spec));
            else throw new ArgumentException($"{spec}: source folder not found (give a folder, `stdlib` or `site`)");
        }
        return sources;
    }
}
