using AnCoder.Diffusion.Configuration;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Model;

/// <summary>One layer's cached keys (after RoPE) and values, each [B, kv heads, capacity, head_dim].</summary>
public sealed class LayerKvCache(Tensor keys, Tensor values)
{
    public Tensor Keys { get; internal set; } = keys;
    public Tensor Values { get; internal set; } = values;
}

/// <summary>
/// The key/value cache of autoregressive decoding: every layer's keys and values for the first <see cref="Length"/>
/// positions, preallocated to <see cref="Capacity"/> so a step writes one column instead of concatenating.
/// </summary>
public sealed class KvCache : IDisposable
{
    public KvCache(ModelConfig config, long batch, long capacity, ScalarType dtype)
    {
        Capacity = capacity;
        var layers = new LayerKvCache[config.NumHiddenLayers];
        for (int i = 0; i < layers.Length; i++)
            layers[i] = new LayerKvCache(
                zeros(batch, config.NumKeyValueHeads, capacity, config.ResolvedHeadDim, dtype: dtype).DetachFromDisposeScope(),
                zeros(batch, config.NumKeyValueHeads, capacity, config.ResolvedHeadDim, dtype: dtype).DetachFromDisposeScope());
        Layers = layers;
    }

    public IReadOnlyList<LayerKvCache> Layers { get; }
    public long Capacity { get; }
    /// <summary>Positions filled so far (the next token's position).</summary>
    public long Length { get; internal set; }
    public long Batch => Layers.Count == 0 ? 0 : Layers[0].Keys.shape[0];

    /// <summary>Keeps only the batch rows <paramref name="rows"/> (int64 indices), e.g. when other rows finished.</summary>
    public void KeepRows(Tensor rows)
    {
        foreach (var layer in Layers)
        {
            var keys = layer.Keys.index_select(0, rows).DetachFromDisposeScope();
            var values = layer.Values.index_select(0, rows).DetachFromDisposeScope();
            layer.Keys.Dispose();
            layer.Values.Dispose();
            layer.Keys = keys;
            layer.Values = values;
        }
    }

    public void Dispose()
    {
        foreach (var layer in Layers)
        {
            layer.Keys.Dispose();
            layer.Values.Dispose();
        }
    }
}
