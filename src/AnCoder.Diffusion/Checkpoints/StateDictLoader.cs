using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Checkpoints;

/// <summary>What a stored tensor looks like, before its data is read.</summary>
internal readonly record struct StoredTensor(string Name, ScalarType Type, long[] Shape);

/// <summary>
/// Checks stored tensors against a module's state dict (names, shapes, dtypes: every problem, not just the first)
/// and copies them in. Floating dtypes convert to the parameter's dtype when allowed (bf16 stored → fp32 params).
/// </summary>
internal static class StateDictLoader
{
    public static bool IsFloating(ScalarType type) =>
        type is ScalarType.Float64 or ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16;

    /// <summary>All mismatches between the stored tensors and <paramref name="expected"/>, one line each; empty when they fit.</summary>
    public static List<string> Mismatches(IReadOnlyDictionary<string, Tensor> expected, IEnumerable<StoredTensor> stored, bool convertFloatingTypes)
    {
        var storedByName = stored.ToDictionary(tensor => tensor.Name, StringComparer.Ordinal);
        var problems = new List<string>();
        var missing = expected.Keys.Where(name => !storedByName.ContainsKey(name)).Order(StringComparer.Ordinal).ToList();
        var unexpected = storedByName.Keys.Where(name => !expected.ContainsKey(name)).Order(StringComparer.Ordinal).ToList();
        if (missing.Count > 0) problems.Add($"missing tensors ({missing.Count}): {string.Join(", ", missing)}");
        if (unexpected.Count > 0) problems.Add($"unexpected tensors ({unexpected.Count}): {string.Join(", ", unexpected)}");
        foreach (var name in expected.Keys.Where(storedByName.ContainsKey).Order(StringComparer.Ordinal))
        {
            var target = expected[name];
            var source = storedByName[name];
            if (!source.Shape.SequenceEqual(target.shape))
                problems.Add($"shape of '{name}': stored {ShapeText(source.Shape)} vs model {ShapeText(target.shape)}");
            bool convertible = convertFloatingTypes && IsFloating(source.Type) && IsFloating(target.dtype);
            if (source.Type != target.dtype && !convertible)
                problems.Add($"dtype of '{name}': stored {source.Type} vs model {target.dtype}");
        }
        return problems;
    }

    /// <summary>Throws one <see cref="CheckpointException"/> listing every problem, if there are any.</summary>
    public static void ThrowIfAny(string context, List<string> problems)
    {
        if (problems.Count == 0) return;
        var message = new StringBuilder(context).Append(": ").Append(string.Join("; ", problems));
        throw new CheckpointException(message.ToString());
    }

    /// <summary>Copies <paramref name="source"/> into the parameter or buffer <paramref name="target"/> (dtype converted).</summary>
    public static void CopyInto(Tensor target, Tensor source)
    {
        using var noGrad = no_grad();
        target.copy_(source);
    }

    public static string ShapeText(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";
}
