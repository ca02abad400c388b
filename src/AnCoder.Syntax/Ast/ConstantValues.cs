using System;
using System.Numerics;

namespace AnCoder.Syntax.Ast;

/// <summary>Python's <c>...</c> (the <c>Ellipsis</c> singleton) as a constant value.</summary>
public sealed class EllipsisValue
{
    public static readonly EllipsisValue Instance = new();
    private EllipsisValue() { }
    public override string ToString() => "Ellipsis";
}

/// <summary>
/// The values a <see cref="Constant"/> holds, mapped to Python types:
/// null → NoneType, bool → bool, int/long/BigInteger → int, double → float, Complex → complex,
/// string → str, byte[] → bytes, <see cref="EllipsisValue"/> → ellipsis.
/// </summary>
public static class ConstantValues
{
    public static string PythonTypeName(object? value) => value switch
    {
        null => "NoneType",
        bool => "bool",
        int or long or BigInteger => "int",
        double => "float",
        Complex => "complex",
        string => "str",
        byte[] => "bytes",
        EllipsisValue => "ellipsis",
        _ => throw new ArgumentException($"not a Python constant: {value.GetType()}"),
    };
}
