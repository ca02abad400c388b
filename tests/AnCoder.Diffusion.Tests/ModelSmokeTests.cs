using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests;

[Collection(TorchCollection.Name)]
public sealed class ModelSmokeTests
{
    [Fact]
    public void Anchored_tiny_has_Hugging_Face_parameter_names_and_runs()
    {
        torch.manual_seed(0);
        using var model = DiffusionModel.Create(ModelPresets.Tiny);
        var names = model.named_parameters().Select(p => p.name).ToList();
        Assert.Contains("anchor.embed_tokens.weight", names);
        Assert.Contains("anchor.layers.1.self_attn.q_proj.bias", names);
        Assert.Contains("denoiser.layers.0.mlp.gate_proj.weight", names);
        Assert.Contains("denoiser.norm.weight", names);
        Assert.DoesNotContain("anchor.layers.0.self_attn.o_proj.bias", names);
        using var scope = NewDisposeScope();
        var ids = randint(0, 8192, [2, 16], dtype: ScalarType.Int64);
        var output = model.Forward(ids);
        Assert.Equal(new long[] { 2, 16, 8192 }, output.DenoiserLogits.shape);
        Assert.Equal(new long[] { 2, 16, 8192 }, output.AnchorLogits!.shape);
    }
}
