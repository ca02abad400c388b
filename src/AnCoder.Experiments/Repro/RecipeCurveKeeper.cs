using System.Globalization;
using AnCoder.Diffusion.Training;

namespace AnCoder.Experiments.Repro;

/// <summary>
/// Keeps the checkpoints of an AR stage at <see cref="RecipeConfig.CurveSteps"/>: each one that the trainer has written
/// (checkpoints/step-NNNNNNN, complete once its folder exists: it is renamed into place) is copied to
/// OUT/CURVE/STAGE-STEP before keep_last can prune it — through a hidden folder renamed into place, so a copy cut short
/// by a crash is never taken for a checkpoint. <see cref="RecipePlan.CurveCheckpoints"/> then finds and evaluates it.
/// </summary>
public sealed class RecipeCurveKeeper
{
    private readonly string _runDirectory;
    private readonly string _curveFolder;
    private readonly string _stage;
    private readonly HashSet<long> _pending;

    public RecipeCurveKeeper(string runDirectory, string curveFolder, string stage, IEnumerable<long> steps)
    {
        (_runDirectory, _curveFolder, _stage) = (runDirectory, curveFolder, stage);
        _pending = steps.Where(step => !Directory.Exists(Target(step))).ToHashSet();
    }

    /// <summary>The keeper of an AR stage, or null (a diffusion stage, no curve steps or no curve folder).</summary>
    public static RecipeCurveKeeper? For(ReproConfig config, PlannedStage stage, string output)
    {
        var recipe = config.Recipe!;
        if (stage.Kind is not (RecipeStageKind.ArBase or RecipeStageKind.ArSft) || recipe.CurveSteps.Count == 0 || recipe.CurveFolder.Length == 0) return null;
        return new RecipeCurveKeeper(Path.Combine(output, stage.Folder), Path.Combine(output, recipe.CurveFolder), stage.Name, recipe.CurveSteps);
    }

    /// <summary>OUT/CURVE/STAGE-STEP, the name <see cref="RecipePlan.CurveCheckpoints"/> reads.</summary>
    public string Target(long step) => Path.Combine(_curveFolder, string.Create(CultureInfo.InvariantCulture, $"{_stage}-{step}"));

    /// <summary>
    /// Copies every wanted checkpoint that exists now and was not copied yet; returns the folders written. Called after
    /// every training step with that step (<paramref name="reached"/>): it looks at the disk only once a wanted step has
    /// been reached, so the other steps cost no I/O.
    /// </summary>
    public IReadOnlyList<string> CopyNew(long reached = long.MaxValue)
    {
        if (_pending.Count == 0 || _pending.Min() > reached) return [];
        var copied = new List<string>();
        foreach (var (step, path) in TrainingCheckpoints.List(_runDirectory).Where(c => _pending.Contains(c.Step)))
        {
            string target = Target(step), staging = Path.Combine(_curveFolder, "." + Path.GetFileName(target) + ".tmp");
            try
            {
                if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
                Directory.CreateDirectory(staging);
                foreach (string file in Directory.EnumerateFiles(path)) File.Copy(file, Path.Combine(staging, Path.GetFileName(file)));
                Directory.Move(staging, target);
            }
            catch (IOException)
            {
                // Pruned under us (an engine in another process): this step's checkpoint is gone; the curve has one point fewer.
                try { Directory.Delete(staging, recursive: true); } catch (IOException) { }
                _pending.Remove(step);
                continue;
            }
            _pending.Remove(step);
            copied.Add(target);
        }
        return copied;
    }
}
