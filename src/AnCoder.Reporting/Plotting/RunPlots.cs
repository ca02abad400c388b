namespace AnCoder.Reporting.Plotting;

/// <summary>What <see cref="RunPlots.Write"/> produced.</summary>
public sealed record PlotResult(IReadOnlyList<RunData> Runs, IReadOnlyList<FigureModel> Figures, IReadOnlyList<string> Files, IReadOnlyList<string> Warnings);

/// <summary>
/// The plots of one or more training runs: loss (with its denoiser and anchor parts), validation NELBO, learning rate and
/// gradient norm, as one PNG per metric with every run overlaid, plus metrics.csv. Used by <c>ancoder plot</c> and by
/// the trainer at the end of a run: <c>RunPlots.WriteIntoRun(runDir)</c> (= <c>Write([runDir], runDir/plots, PlotOptions.Default)</c>).
/// </summary>
public static class RunPlots
{
    /// <summary>Folder inside a run where <see cref="WriteIntoRun"/> (and <c>ancoder plot RUN_DIR</c>) put the plots.</summary>
    public const string RunPlotsFolder = "plots";

    /// <summary>The end-of-training call: the default plots of one run into RUN_DIR/plots.</summary>
    public static PlotResult WriteIntoRun(string runDir, PlotOptions? options = null) =>
        Write([runDir], Path.Combine(runDir, RunPlotsFolder), options ?? PlotOptions.Default);

    /// <summary>Loads every run (see <see cref="RunData.Load"/>); runs whose folder names collide are named by the
    /// path as given so the legend tells them apart.</summary>
    public static IReadOnlyList<RunData> LoadRuns(IReadOnlyList<string> runDirs)
    {
        if (runDirs.Count == 0) throw new PlotException("give at least one run folder");
        var runs = runDirs.Select(RunData.Load).ToList();
        var collisions = runs.GroupBy(r => r.Name).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet();
        return runs.Select(r => collisions.Contains(r.Name) ? r with { Name = r.Directory } : r).ToList();
    }

    /// <summary>Writes loss.png, valid_nelbo.png, lr.png, grad_norm.png (those with data) and metrics.csv into
    /// <paramref name="outDir"/> (created if needed; each file replaced atomically). Throws <see cref="PlotException"/>
    /// for unusable runs or options; warnings (unfinished last line, repeated steps, missing config, no fonts) are
    /// returned, not printed.</summary>
    public static PlotResult Write(IReadOnlyList<string> runDirs, string outDir, PlotOptions options)
    {
        options.Validate();
        var runs = LoadRuns(runDirs);
        var figures = FigureBuilder.Build(runs, options);
        var warnings = runs.SelectMany(r => r.Warnings).ToList();
        if (figures.Count == 0)
            warnings.Add($"nothing to plot: no record has both a finite {options.X.ToString().ToLowerInvariant()} value and a metric value");
        if (!FontsAvailable())
            warnings.Add("no fonts found (SkiaSharp looks in /usr/share/fonts): the plots will have no text; install fonts-dejavu-core");
        try
        {
            Directory.CreateDirectory(outDir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PlotException($"cannot create the output folder {outDir}: {e.Message}");
        }
        var files = new List<string>();
        foreach (var figure in figures)
        {
            string path = Path.Combine(outDir, figure.Name + ".png");
            WriteAtomically(path, FigureRenderer.RenderPng(figure, options.Width, options.Height));
            files.Add(path);
        }
        string csvPath = Path.Combine(outDir, MetricsCsv.FileName);
        WriteAtomically(csvPath, System.Text.Encoding.UTF8.GetBytes(MetricsCsv.Format(runs)));
        files.Add(csvPath);
        return new PlotResult(runs, figures, files, warnings);
    }

    public static void WriteAtomically(string path, byte[] bytes)
    {
        string temporary = path + ".tmp";
        try
        {
            File.WriteAllBytes(temporary, bytes);
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(temporary); } catch (IOException) { }
            throw new PlotException($"cannot write {path}: {e.Message}");
        }
    }

    private static bool FontsAvailable()
    {
        try
        {
            // Without any font file SkiaSharp still lists one (empty) family; its default typeface then has no glyphs.
            return SkiaSharp.SKTypeface.Default.GlyphCount > 0;
        }
        catch (Exception)
        {
            return true; // cannot tell: do not warn
        }
    }
}
