using System.Buffers.Binary;
using System.Text.Json;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.Model;

/// <summary>
/// The fixture written by <c>Model/Reference/qwen2_reference.py</c> (an independent PyTorch implementation run with
/// Debian's python3-torch): fp32 weights, inputs and expected logits computed in float64. Read with a minimal
/// safetensors parser of its own so the test depends on nothing else in the repository.
/// </summary>
internal sealed class ReferenceFixture : IDisposable
{
    public const string RelativePath = "tests/AnCoder.Diffusion.Tests/Model/Reference/qwen2_reference.safetensors";

    private ReferenceFixture(Dictionary<string, Tensor> tensors, ModelConfig config)
    {
        Tensors = tensors;
        Config = config;
    }

    public Dictionary<string, Tensor> Tensors { get; }

    /// <summary>The reference's base config (anchored, softmax input), parsed with our own config reader.</summary>
    public ModelConfig Config { get; }

    public Tensor Ids => Tensors["input.ids"];
    public Tensor KeyMask => Tensors["input.key_mask"].to(ScalarType.Bool);

    public Tensor Expected(string name) => Tensors["expected." + name];

    public static ReferenceFixture Load()
    {
        var bytes = File.ReadAllBytes(FindFile(RelativePath));
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        int dataStart = 8 + (int)headerLength;
        var tensors = new Dictionary<string, Tensor>();
        ModelConfig? config = null;
        foreach (var entry in header.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                config = ModelConfig.FromJson(entry.Value.GetProperty("config").GetString()!, RelativePath);
                continue;
            }
            string dtype = entry.Value.GetProperty("dtype").GetString()!;
            long[] shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            int start = dataStart + offsets[0], length = offsets[1] - offsets[0];
            tensors[entry.Name] = dtype switch
            {
                "F32" => tensor(Enumerable.Range(0, length / 4)
                    .Select(i => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(start + 4 * i))).ToArray(), shape),
                "I64" => tensor(Enumerable.Range(0, length / 8)
                    .Select(i => BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(start + 8 * i))).ToArray(), shape),
                _ => throw new InvalidDataException($"{RelativePath}: unexpected dtype {dtype} of {entry.Name}"),
            };
        }
        foreach (var t in tensors.Values) t.DetachFromDisposeScope();
        return new ReferenceFixture(tensors, config ?? throw new InvalidDataException($"{RelativePath}: no config metadata"));
    }

    /// <summary>Copies the reference weights into <paramref name="model"/> by parameter name (MDLM's <c>model.*</c>
    /// take the anchor network's weights); every parameter must be found with the same shape.</summary>
    public void LoadInto(DiffusionModel model)
    {
        using var noGrad = no_grad();
        foreach (var (name, parameter) in model.named_parameters())
        {
            string source = model is MdlmModel ? "anchor." + name["model.".Length..] : name;
            Assert.True(Tensors.TryGetValue(source, out var value), $"fixture has no tensor {source} for parameter {name}");
            Assert.Equal(value!.shape, parameter.shape);
            parameter.copy_(value);
        }
    }

    /// <summary>Walks up from the test binaries to the repository root.</summary>
    public static string FindFile(string relativePath)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relativePath);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"{relativePath} not found above {AppContext.BaseDirectory}");
    }

    public void Dispose()
    {
        foreach (var t in Tensors.Values) t.Dispose();
    }
}
