using static TorchSharp.torch;

namespace AnCoder.Diffusion.Checkpoints;

/// <summary>The safetensors dtype names we read and write, and their torch types.</summary>
public static class SafetensorsDtypes
{
    private static readonly (string Name, ScalarType Type)[] Table =
    [
        ("F64", ScalarType.Float64), ("F32", ScalarType.Float32), ("F16", ScalarType.Float16),
        ("BF16", ScalarType.BFloat16), ("I64", ScalarType.Int64), ("I32", ScalarType.Int32),
        ("I16", ScalarType.Int16), ("I8", ScalarType.Int8), ("U8", ScalarType.Byte), ("BOOL", ScalarType.Bool),
    ];

    public static IEnumerable<string> Names => Table.Select(entry => entry.Name);

    public static bool TryGetScalarType(string name, out ScalarType type)
    {
        foreach (var entry in Table)
            if (entry.Name == name) { type = entry.Type; return true; }
        type = default;
        return false;
    }

    public static bool TryGetName(ScalarType type, out string name)
    {
        foreach (var entry in Table)
            if (entry.Type == type) { name = entry.Name; return true; }
        name = "";
        return false;
    }

    public static string NameOf(ScalarType type) =>
        TryGetName(type, out string name) ? name : throw new ArgumentException($"torch dtype {type} has no safetensors name we support");

    public static int ElementSize(ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.Int8 or ScalarType.Byte or ScalarType.Bool => 1,
        _ => throw new ArgumentException($"torch dtype {type} has no safetensors name we support"),
    };
}
