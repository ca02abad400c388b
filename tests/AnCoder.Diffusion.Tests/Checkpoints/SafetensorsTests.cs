using System.Buffers.Binary;
using System.Text;
using AnCoder.Diffusion.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.Checkpoints;

[Collection(TorchCollection.Name)]
public sealed class SafetensorsTests
{
    [Fact]
    public void Round_trip_keeps_names_dtypes_shapes_values_and_metadata()
    {
        using var folder = new TemporaryFolder();
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>
        {
            ["a.f32"] = tensor(new float[] { 1.5f, -0f, float.MaxValue, float.Epsilon, float.NaN, 3f }).reshape(2, 3),
            ["b.bf16"] = tensor(new float[] { 1f, -2.5f, 3.140625f, 65280f }).to(ScalarType.BFloat16),
            ["c.i64"] = tensor(new long[] { long.MinValue, -1, 1L << 40, long.MaxValue }),
            ["d.bool"] = tensor(new[] { true, false, true }),
            ["e.f16"] = tensor(new float[] { 0.25f, -1024f }).to(ScalarType.Float16),
            ["f.f64"] = tensor(new[] { 1.0 / 3.0 }),
            ["g.u8"] = tensor(new byte[] { 0, 255 }),
            ["h.i32"] = tensor(new[] { int.MinValue, int.MaxValue }),
            ["i.scalar"] = tensor(7f),
            ["j.empty"] = zeros(0, 5),
            ["k.transposed"] = arange(6, dtype: ScalarType.Float32).reshape(2, 3).t(), // not contiguous
        };
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode ✓" };
        string path = folder["round.safetensors"];
        Safetensors.Write(path, tensors, metadata);

        var read = Safetensors.Read(path);
        Assert.Equal(tensors.Keys.Order(), read.Keys.Order());
        foreach (var (name, original) in tensors)
        {
            var copy = read[name];
            Assert.Equal(original.dtype, copy.dtype);
            Assert.Equal(original.shape, copy.shape);
            Assert.True(BitwiseEqual(original, copy), $"'{name}' changed in the round trip");
        }
        Assert.Equal(metadata, Safetensors.ReadMetadata(path));
        Assert.Equal(new[] { "round.safetensors" }, folder.Entries()); // no temporary file left behind
        foreach (var copy in read.Values) copy.Dispose();
    }

    [Fact]
    public void Header_is_the_documented_layout_padded_to_eight_bytes()
    {
        using var folder = new TemporaryFolder();
        using var scope = NewDisposeScope();
        string path = folder["layout.safetensors"];
        Safetensors.Write(path, new Dictionary<string, Tensor> { ["x"] = tensor(new float[] { 1f, 2f }) });
        byte[] bytes = File.ReadAllBytes(path);
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, headerLength % 8);
        Assert.Equal(8 + headerLength + 8, bytes.Length);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength).TrimEnd(' ');
        Assert.Equal("""{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", header);
        Assert.Equal(1f, BitConverter.ToSingle(bytes, 8 + (int)headerLength));
        Assert.Equal(2f, BitConverter.ToSingle(bytes, 12 + (int)headerLength));
    }

    [Fact]
    public void Every_tensor_starts_at_a_multiple_of_its_element_size()
    {
        using var folder = new TemporaryFolder();
        using var scope = NewDisposeScope();
        string path = folder["aligned.safetensors"];
        Safetensors.Write(path, new Dictionary<string, Tensor>
        {
            ["a.odd.bf16"] = ones(3, dtype: ScalarType.BFloat16), ["b.bool"] = ones(1, dtype: ScalarType.Bool),
            ["c.f32"] = ones(5), ["d.i64"] = ones(1, dtype: ScalarType.Int64), ["e.f64"] = ones(2, dtype: ScalarType.Float64),
        });
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(0, file.DataStart % 8);
        Assert.Equal(new[] { "d.i64", "e.f64", "c.f32", "a.odd.bf16", "b.bool" }, file.Entries.OrderBy(e => e.Begin).Select(e => e.Name));
        Assert.All(file.Entries, entry => Assert.Equal(0, entry.Begin % SafetensorsDtypes.ElementSize(entry.Type)));
    }

    [Fact]
    public void Reads_a_file_written_by_the_independent_Python_writer()
    {
        using var scope = NewDisposeScope();
        var read = Safetensors.Read(ReferenceFiles.ReferenceTensors);
        Assert.Equal(10, read.Count);
        Assert.Equal(new float[] { 0f, 0.5f, 1f, 1.5f, -2f, 3.25f }, Floats(read["weights.f32"]));
        Assert.Equal(new long[] { 2, 3 }, read["weights.f32"].shape);
        Assert.Equal(ScalarType.BFloat16, read["weights.bf16"].dtype);
        Assert.Equal(new float[] { 1.5f, -2f, 3.140625f, 65280f }, Floats(read["weights.bf16"]));
        Assert.Equal(new long[] { -1, 1L << 40, 7 }, read["ids.i64"].data<long>().ToArray());
        Assert.Equal(new[] { true, false, true }, read["flags.bool"].data<bool>().ToArray());
        Assert.Equal(new byte[] { 0, 127, 255 }, read["bytes.u8"].data<byte>().ToArray());
        Assert.Equal(new float[] { 0.25f, -1024f }, Floats(read["half.f16"]));
        Assert.Equal(1.0 / 3.0, read["double.f64"].item<double>());
        Assert.Equal(new[] { int.MinValue, int.MaxValue }, read["ints.i32"].data<int>().ToArray());
        Assert.Equal(new long[] { 2, 1 }, read["ints.i32"].shape);
        Assert.Empty(read["scalar.f32"].shape);
        Assert.Equal(42f, read["scalar.f32"].item<float>());
        Assert.Equal(new long[] { 0, 4 }, read["empty.f32"].shape);
        var metadata = Safetensors.ReadMetadata(ReferenceFiles.ReferenceTensors);
        Assert.Equal("pt", metadata["format"]);
        Assert.Equal("make_reference_tensors.py", metadata["written_by"]);
    }

    [Fact]
    public void Reads_a_tensor_stored_beyond_two_gigabytes()
    {
        // A sparse file: 2 GiB of holes, then four floats. Offsets are 64-bit and reading is memory-mapped.
        using var folder = new TemporaryFolder();
        string path = folder["big.safetensors"];
        long begin = (1L << 31) + 8, end = begin + 16;
        string header = "{\"big\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[" + begin + "," + end + "]}}";
        header += new string(' ', (8 - header.Length % 8) % 8);
        using (var stream = new FileStream(path, FileMode.CreateNew))
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(Encoding.ASCII.GetBytes(header));
            long dataStart = stream.Position;
            stream.SetLength(dataStart + end);
            stream.Position = dataStart + begin;
            foreach (float value in new[] { 1f, -2f, 3f, 4.5f }) stream.Write(BitConverter.GetBytes(value));
        }
        using var scope = NewDisposeScope();
        var read = Safetensors.Read(path);
        Assert.Equal(new[] { 1f, -2f, 3f, 4.5f }, Floats(read["big"]));
    }

    [Fact]
    public void Truncated_files_name_the_file_and_the_tensor()
    {
        using var folder = new TemporaryFolder();
        using var scope = NewDisposeScope();
        string path = folder["whole.safetensors"];
        Safetensors.Write(path, new Dictionary<string, Tensor> { ["first"] = ones(4), ["second"] = ones(8) });
        byte[] bytes = File.ReadAllBytes(path);

        string cutData = folder["cut-data.safetensors"];
        File.WriteAllBytes(cutData, bytes[..^4]);
        var error = Assert.Throws<CheckpointException>(() => Safetensors.Read(cutData));
        Assert.Contains(cutData, error.Message);
        Assert.Contains("tensor 'second'", error.Message);
        Assert.Contains("point outside the file", error.Message);

        string cutHeader = folder["cut-header.safetensors"];
        File.WriteAllBytes(cutHeader, bytes[..20]);
        error = Assert.Throws<CheckpointException>(() => Safetensors.Read(cutHeader));
        Assert.Contains(cutHeader, error.Message);
        Assert.Contains("runs past the end of the file (20 bytes)", error.Message);

        string tiny = folder["tiny.safetensors"];
        File.WriteAllBytes(tiny, bytes[..5]);
        error = Assert.Throws<CheckpointException>(() => Safetensors.Read(tiny));
        Assert.Contains($"{tiny}: 5 bytes is too short", error.Message);
    }

    [Theory]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"v":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""",
        "tensors 'w' [0, 8) and 'v' [4, 12) overlap")]
    [InlineData("""{"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}""", "tensor 'w': unknown or unsupported dtype 'F8_E4M3'")]
    [InlineData("""{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", "tensor 'w': shape [3] of F32 needs 12 bytes but data_offsets [0, 8] hold 8")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,1000]}}""", "tensor 'w': data_offsets [8, 1000] point outside the file")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,4]}}""", "tensor 'w': data_offsets [8,4] must be integers with 0 <= begin <= end")]
    [InlineData("""{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""", "tensor 'w': shape [-2] must hold non-negative integers")]
    [InlineData("""{"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}""", "tensor 'w': shape [\"2\"] must hold non-negative integers")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":["0",8]}}""", "tensor 'w': data_offsets [\"0\",8] must be integers")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2]}}""", "tensor 'w': header entry has no \"data_offsets\" [begin, end]")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", "tensor 'w' appears twice")]
    [InlineData("""{"w":{"shape":[2],"data_offsets":[0,8]}}""", "tensor 'w': header entry has no \"dtype\" string")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"n":1}}""", "__metadata__['n'] must be a string")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}""", "the header is not valid JSON")]
    [InlineData("""[1,2]""", "the header must be a JSON object")]
    public void Corrupted_headers_give_a_clear_error(string header, string expected)
    {
        using var folder = new TemporaryFolder();
        string path = folder["bad.safetensors"];
        WriteRaw(path, header, dataBytes: 16);
        var error = Assert.Throws<CheckpointException>(() => Safetensors.Read(path));
        Assert.StartsWith(path + ": ", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void A_huge_header_length_is_refused_without_allocating_it()
    {
        using var folder = new TemporaryFolder();
        string path = folder["not-safetensors.bin"];
        File.WriteAllBytes(path, Encoding.ASCII.GetBytes("PK\u0003\u0004 this is a zip file, not safetensors"));
        var error = Assert.Throws<CheckpointException>(() => Safetensors.Read(path));
        Assert.Contains("exceeds the format's limit", error.Message);
        Assert.Throws<CheckpointException>(() => Safetensors.Read(folder["missing.safetensors"]));
    }

    [Fact]
    public void A_failed_write_keeps_the_previous_file_and_leaves_no_temporary_file()
    {
        using var folder = new TemporaryFolder();
        using var scope = NewDisposeScope();
        string path = folder["keep.safetensors"];
        Safetensors.Write(path, new Dictionary<string, Tensor> { ["x"] = ones(3) });
        byte[] before = File.ReadAllBytes(path);

        var error = Assert.Throws<CheckpointException>(() => Safetensors.Write(path,
            new Dictionary<string, Tensor> { ["x"] = zeros(3), ["z"] = zeros(2, dtype: ScalarType.ComplexFloat32) }));
        Assert.Contains("tensor 'z' has dtype ComplexFloat32", error.Message);
        Assert.Equal(before, File.ReadAllBytes(path));

        // A tensor that cannot be read (disposed) fails the write as well.
        var disposed = ones(4);
        disposed.Dispose();
        Assert.ThrowsAny<Exception>(() => Safetensors.Write(path, new Dictionary<string, Tensor> { ["x"] = zeros(3), ["y"] = disposed }));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(new[] { "keep.safetensors" }, folder.Entries());
    }

    private static void WriteRaw(string path, string header, int dataBytes)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
    }

    private static float[] Floats(Tensor tensor) => tensor.to(ScalarType.Float32).data<float>().ToArray();

    private static bool BitwiseEqual(Tensor a, Tensor b) => TensorBytes.Equal(a, b);
}
