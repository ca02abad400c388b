using System;
using System.Globalization;
using System.Numerics;

namespace AnCoder.Syntax.Parsing;

/// <summary>The value of a NUMBER token (CPython 3.11 Parser/pegen.c parsenumber): int (long or BigInteger),
/// float (double) or complex (imaginary part only, like CPython's <c>1j</c>).</summary>
internal static class NumberLiteral
{
    /// <summary>CPython's default sys.int_info.default_max_str_digits (3.11.7).</summary>
    private const int MaxStrDigits = 4300;

    /// <summary>Boxes of the ints 0..255, shared by every Constant that holds one (as CPython shares its small
    /// ints): most literals are small, and a box per literal was 24 bytes of tree each.</summary>
    private static readonly object[] SmallInts = Enumerable.Range(0, 256).Select(i => (object)(long)i).ToArray();

    /// <summary>The boxed int, shared for 0..255 as in a parsed tree.</summary>
    public static object Box(long value) => (ulong)value < (ulong)SmallInts.Length ? SmallInts[value] : value;

    public static object Parse(byte[] source, int offset, int length, out string? error)
    {
        error = null;
        if (length <= 18)
        {
            // Plain decimal digits (the common case): no buffer, no culture-aware parse.
            long value = 0;
            int i = 0;
            for (; i < length; i++)
            {
                uint digit = (uint)(source[offset + i] - '0');
                if (digit > 9) break;
                value = value * 10 + digit;
            }
            if (i == length && length > 0) return value < SmallInts.Length ? SmallInts[value] : value;
        }
        Span<char> buffer = length <= 256 ? stackalloc char[length] : new char[length];
        int n = 0;
        for (int i = 0; i < length; i++)
        {
            byte b = source[offset + i];
            if (b == (byte)'_') continue;
            if (b < (byte)'+' || b > (byte)'z') break; // defensive: never read past the literal (e.g. a CR)
            buffer[n++] = (char)b;
        }
        var text = buffer[..n];
        if (n == 0) return 0L;
        char last = (char)(text[n - 1] | 0x20);
        if (last == 'j')
        {
            double imag = ParseDouble(text[..(n - 1)]);
            return new Complex(0, imag);
        }
        if (n > 1 && text[0] == '0' && (text[1] | 0x20) is 'x' or 'o' or 'b')
        {
            int radix = (text[1] | 0x20) switch { 'x' => 16, 'o' => 8, _ => 2 };
            return ParseRadix(text[2..], radix);
        }
        bool isFloat = false;
        foreach (char c in text)
        {
            if (c == '.' || c == 'e' || c == 'E')
            {
                isFloat = true;
                break;
            }
        }
        if (isFloat) return ParseDouble(text);
        if (n > MaxStrDigits)
        {
            error = $"Exceeds the limit ({MaxStrDigits} digits) for integer string conversion: value has {n} digits; "
                + "use sys.set_int_max_str_digits() to increase the limit - Consider hexadecimal for huge integer "
                + "literals to avoid decimal conversion limits.";
            return 0L;
        }
        if (n <= 18 && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long small)) return small;
        if (!BigInteger.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var big)) return 0L;
        return big <= long.MaxValue ? (object)(long)big : big;
    }

    private static double ParseDouble(ReadOnlySpan<char> text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : double.PositiveInfinity;

    private static object ParseRadix(ReadOnlySpan<char> digits, int radix)
    {
        BigInteger value = BigInteger.Zero;
        ulong small = 0;
        bool useBig = false;
        int bitsPerDigit = radix == 16 ? 4 : radix == 8 ? 3 : 1;
        int bits = 0;
        foreach (char c in digits)
        {
            int d = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
            if (!useBig)
            {
                bits += bitsPerDigit;
                if (bits <= 63)
                {
                    small = small * (ulong)radix + (ulong)d;
                    continue;
                }
                useBig = true;
                value = small;
            }
            value = value * radix + d;
        }
        return useBig ? (value <= long.MaxValue ? (object)(long)value : value) : (long)small;
    }
}
