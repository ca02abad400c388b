namespace AnCoder.Syntax.Text;

/// <summary>
/// A decoded Python source as UTF-8 bytes (what CPython's tokenizer works on). For a UTF-8 file this is the file's
/// bytes minus a leading BOM, so offsets here + <see cref="BomLength"/> are offsets into the file.
/// </summary>
public sealed partial class SourceText
{
    private SourceText(byte[] utf8, int bomLength)
    {
        Utf8 = utf8;
        BomLength = bomLength;
    }

    public byte[] Utf8 { get; }

    /// <summary>Bytes of a UTF-8 BOM that preceded the source in the file (0 or 3).</summary>
    public int BomLength { get; }
}
