using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Checkpoints;

/// <summary>
/// Reads and writes the safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
/// header length N, N bytes of JSON (<c>{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
/// "__metadata__": {string: string}}</c>, offsets relative to the data section), then the raw little-endian data.
/// Reading memory-maps the file; writing is atomic (temp file, fsync, rename).
/// </summary>
/// <remarks>
/// Ours rather than TorchSharp.PyBridge 1.4.4's <c>Safetensors</c>: PyBridge reads through a stream into managed
/// buffers (one tensor at most 2 GB), neither writes nor returns <c>__metadata__</c>, does not validate offsets
/// (overlaps, ranges past the end) and its errors name neither file nor tensor; it also writes in place, not
/// atomically. The format is small enough to own: this file plus <see cref="TensorMemory"/>.
/// </remarks>
public static class Safetensors
{
    /// <summary>Every tensor of the file, as new CPU tensors owned by the caller.</summary>
    /// <exception cref="CheckpointException">Missing, truncated or malformed file; the message names file and tensor.</exception>
    public static Dictionary<string, Tensor> Read(string path)
    {
        using var file = SafetensorsFile.Open(path);
        return file.LoadAll();
    }

    /// <summary>The <c>__metadata__</c> of a file (empty when it has none), without reading any tensor data.</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        using var file = SafetensorsFile.Open(path);
        return file.Metadata;
    }

    /// <summary>
    /// Writes the tensors (any device, any layout; dtypes F64/F32/F16/BF16/I64/I32/I16/I8/U8/BOOL) atomically:
    /// a reader sees either the previous file or the complete new one. Tensors are stored by decreasing element size,
    /// then name (as Hugging Face's writer does), so every tensor starts at a multiple of its element size.
    /// </summary>
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        foreach (var (name, tensor) in tensors)
        {
            if (string.IsNullOrEmpty(name) || name == SafetensorsFile.MetadataKey)
                throw new CheckpointException($"{path}: '{name}' cannot be a tensor name");
            if (!SafetensorsDtypes.TryGetName(tensor.dtype, out _))
                throw new CheckpointException($"{path}: tensor '{name}' has dtype {tensor.dtype}, which safetensors cannot store here (supported: {string.Join(", ", SafetensorsDtypes.Names)})");
        }
        var names = tensors.Keys
            .OrderByDescending(name => SafetensorsDtypes.ElementSize(tensors[name].dtype))
            .ThenBy(name => name, StringComparer.Ordinal)
            .ToList();

        byte[] header = BuildHeader(names, tensors, metadata);
        AtomicFiles.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (var name in names)
            {
                using var scope = NewDisposeScope();
                var tensor = tensors[name].detach();
                if (tensor.device_type != DeviceType.CPU) tensor = tensor.cpu();
                if (!tensor.is_contiguous()) tensor = tensor.contiguous();
                TensorMemory.WriteTo(tensor, stream);
            }
        });
    }

    /// <summary>The JSON header, padded with spaces to a multiple of 8 bytes so the data section stays aligned.</summary>
    private static byte[] BuildHeader(IReadOnlyList<string> names, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(SafetensorsFile.MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(pair => pair.Key, StringComparer.Ordinal)) json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var name in names)
            {
                var tensor = tensors[name];
                long bytes = checked(tensor.numel() * SafetensorsDtypes.ElementSize(tensor.dtype));
                json.WriteStartObject(name);
                json.WriteString("dtype", SafetensorsDtypes.NameOf(tensor.dtype));
                json.WriteStartArray("shape");
                foreach (long dimension in tensor.shape) json.WriteNumberValue(dimension);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        int padding = (int)((8 - buffer.Length % 8) % 8);
        for (int i = 0; i < padding; i++) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }
}

/// <summary>One tensor's header entry; offsets are relative to the data section.</summary>
public sealed record SafetensorsEntry(string Name, string Dtype, ScalarType Type, long[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>
/// An open, validated, memory-mapped safetensors file: the header is checked completely on open (dtypes, shapes vs
/// byte ranges, ranges inside the file, no overlaps), tensors are copied out one at a time with <see cref="Load"/>.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    public const string MetadataKey = "__metadata__";

    /// <summary>The format's own limit on header size (100 MB), which also catches files that are not safetensors.</summary>
    public const long MaxHeaderLength = 100_000_000;

    private readonly Dictionary<string, SafetensorsEntry> byName;
    private MemoryMappedFile? map;
    private MemoryMappedViewAccessor? view;
    private byte* data;

    private SafetensorsFile(string path, long dataStart, List<SafetensorsEntry> entries, Dictionary<string, string> metadata)
    {
        Path = path;
        DataStart = dataStart;
        Entries = entries;
        Metadata = metadata;
        byName = entries.ToDictionary(entry => entry.Name, StringComparer.Ordinal);
    }

    public string Path { get; }
    /// <summary>Byte offset of the data section in the file (8 + header length).</summary>
    public long DataStart { get; }
    /// <summary>Entries in header order.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public IEnumerable<string> Names => Entries.Select(entry => entry.Name);

    public bool Contains(string name) => byName.ContainsKey(name);

    public SafetensorsEntry Entry(string name) =>
        byName.TryGetValue(name, out var entry) ? entry : throw new CheckpointException($"{Path}: no tensor '{name}'");

    /// <summary>Opens and validates a file.</summary>
    /// <exception cref="CheckpointException">The file is missing, truncated or malformed (the message says where).</exception>
    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"{path}: file not found");
        long fileLength = new FileInfo(path).Length;
        if (fileLength < 8)
            throw new CheckpointException($"{path}: {fileLength} bytes is too short for a safetensors file (needs an 8-byte header length): truncated?");
        byte[] header;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            Span<byte> lengthBytes = stackalloc byte[8];
            stream.ReadExactly(lengthBytes);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
            if (headerLength > MaxHeaderLength)
                throw new CheckpointException($"{path}: header length {headerLength} exceeds the format's limit of {MaxHeaderLength} bytes: not a safetensors file or corrupted");
            if ((long)headerLength > fileLength - 8)
                throw new CheckpointException($"{path}: header length {headerLength} runs past the end of the file ({fileLength} bytes): truncated or not a safetensors file");
            header = new byte[headerLength];
            stream.ReadExactly(header);
        }
        long dataStart = 8 + header.Length;
        var (entries, metadata) = ParseHeader(path, header, fileLength - dataStart);
        var file = new SafetensorsFile(path, dataStart, entries, metadata);
        file.MapData(fileLength);
        return file;
    }

    private void MapData(long fileLength)
    {
        if (fileLength == DataStart) return; // nothing to map (only empty tensors)
        map = MemoryMappedFile.CreateFromFile(Path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* start = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
        data = start + view.PointerOffset + DataStart;
    }

    /// <summary>A new CPU tensor with the stored dtype, shape and bytes.</summary>
    public Tensor Load(string name)
    {
        var entry = Entry(name);
        ObjectDisposedException.ThrowIf(map is null && entry.ByteLength > 0, this);
        var tensor = empty(entry.Shape, entry.Type);
        TensorMemory.CopyInto(tensor, data + entry.Begin, entry.ByteLength);
        return tensor;
    }

    public Dictionary<string, Tensor> LoadAll() => Entries.ToDictionary(entry => entry.Name, entry => Load(entry.Name), StringComparer.Ordinal);

    public void Dispose()
    {
        if (view is not null)
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
            view.Dispose();
            view = null;
        }
        map?.Dispose();
        map = null;
        data = null;
    }

    private static (List<SafetensorsEntry>, Dictionary<string, string>) ParseHeader(string path, byte[] header, long dataLength)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            string start = Encoding.UTF8.GetString(header, 0, Math.Min(header.Length, 40));
            throw new CheckpointException($"{path}: the header is not valid JSON ({e.Message}); it starts with \"{start}\": corrupted or not a safetensors file");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointException($"{path}: the header must be a JSON object, found {document.RootElement.ValueKind}");
            var entries = new List<SafetensorsEntry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name)) throw new CheckpointException($"{path}: tensor '{property.Name}' appears twice in the header");
                if (property.Name == MetadataKey)
                    ReadMetadata(path, property.Value, metadata);
                else
                    entries.Add(ParseEntry(path, property.Name, property.Value, dataLength));
            }
            CheckNoOverlap(path, entries);
            return (entries, metadata);
        }
    }

    private static void ReadMetadata(string path, JsonElement element, Dictionary<string, string> metadata)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new CheckpointException($"{path}: {MetadataKey} must be an object of strings, found {element.ValueKind}");
        foreach (var item in element.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new CheckpointException($"{path}: {MetadataKey}['{item.Name}'] must be a string, found {item.Value.ValueKind}");
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static SafetensorsEntry ParseEntry(string path, string name, JsonElement element, long dataLength)
    {
        string where = $"{path}: tensor '{name}'";
        if (element.ValueKind != JsonValueKind.Object) throw new CheckpointException($"{where}: header entry must be an object");
        if (!element.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new CheckpointException($"{where}: header entry has no \"dtype\" string");
        string dtype = dtypeElement.GetString()!;
        if (!SafetensorsDtypes.TryGetScalarType(dtype, out var type))
            throw new CheckpointException($"{where}: unknown or unsupported dtype '{dtype}' (supported: {string.Join(", ", SafetensorsDtypes.Names)})");
        if (!element.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new CheckpointException($"{where}: header entry has no \"shape\" array");
        var shape = new List<long>();
        foreach (var dimension in shapeElement.EnumerateArray())
        {
            if (!TryGetInteger(dimension, out long size) || size < 0)
                throw new CheckpointException($"{where}: shape {shapeElement.GetRawText()} must hold non-negative integers");
            shape.Add(size);
        }
        if (!element.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
            throw new CheckpointException($"{where}: header entry has no \"data_offsets\" [begin, end]");
        if (!TryGetInteger(offsets[0], out long begin) || !TryGetInteger(offsets[1], out long end) || begin < 0 || end < begin)
            throw new CheckpointException($"{where}: data_offsets {offsets.GetRawText()} must be integers with 0 <= begin <= end");
        if (end > dataLength)
            throw new CheckpointException($"{where}: data_offsets [{begin}, {end}] point outside the file (its data section has {dataLength} bytes): truncated or corrupted");
        long expected;
        try
        {
            expected = checked(shape.Aggregate(1L, (product, size) => product * size) * SafetensorsDtypes.ElementSize(type));
        }
        catch (OverflowException)
        {
            throw new CheckpointException($"{where}: shape [{string.Join(", ", shape)}] is too large");
        }
        if (expected != end - begin)
            throw new CheckpointException($"{where}: shape [{string.Join(", ", shape)}] of {dtype} needs {expected} bytes but data_offsets [{begin}, {end}] hold {end - begin}");
        return new SafetensorsEntry(name, dtype, type, shape.ToArray(), begin, end);
    }

    private static bool TryGetInteger(JsonElement element, out long value)
    {
        value = 0;
        return element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out value);
    }

    private static void CheckNoOverlap(string path, List<SafetensorsEntry> entries)
    {
        SafetensorsEntry? previous = null;
        foreach (var entry in entries.Where(e => e.ByteLength > 0).OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (previous is not null && entry.Begin < previous.End)
                throw new CheckpointException($"{path}: tensors '{previous.Name}' [{previous.Begin}, {previous.End}) and '{entry.Name}' [{entry.Begin}, {entry.End}) overlap: corrupted header");
            if (previous is null || entry.End > previous.End) previous = entry;
        }
    }
}
