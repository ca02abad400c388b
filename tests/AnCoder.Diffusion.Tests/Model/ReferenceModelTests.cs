using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.Model;

/// <summary>
/// Our networks against the independent PyTorch reference (Model/Reference/qwen2_reference.py; regenerate the
/// fixture with /usr/bin/python3 there). The reference computes in float64; ours in fp32, so the tolerance is a
/// relative 1e-5 of the largest expected logit.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class ReferenceModelTests : IDisposable
{
    private const double RelativeTolerance = 1e-5;
    private readonly ReferenceFixture fixture = ReferenceFixture.Load();

    public void Dispose() => fixture.Dispose();

    public static TheoryData<string, string, bool, bool> Cases => new()
    {
        // case name in the fixture, denoiser input, shift, MDLM
        { "mdlm", "softmax", false, true },
        { "mdlm_shift", "softmax", true, true },
        { "softmax", "softmax", false, false },
        { "logits", "logits", false, false },
        { "linear", "linear", false, false },
        { "softmax_shift", "softmax", true, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Logits_match_the_PyTorch_reference(string name, string denoiserInput, bool shift, bool mdlm)
    {
        using var scope = NewDisposeScope();
        using var model = Build(denoiserInput, shift, mdlm);
        var output = model.Forward(fixture.Ids);
        AssertClose(fixture.Expected(name + ".denoiser"), output.DenoiserLogits, name + " denoiser");
        if (mdlm) Assert.Null(output.AnchorLogits);
        else AssertClose(fixture.Expected(name + ".anchor"), output.AnchorLogits!, name + " anchor");
    }

    [Theory]
    [InlineData("mdlm", true)]
    [InlineData("softmax", false)]
    public void Logits_with_a_key_padding_mask_match_the_PyTorch_reference(string name, bool mdlm)
    {
        using var scope = NewDisposeScope();
        using var model = Build("softmax", shift: false, mdlm);
        var output = model.Forward(fixture.Ids, fixture.KeyMask);
        AssertClose(fixture.Expected(name + "_masked.denoiser"), output.DenoiserLogits, name + " masked denoiser");
        if (!mdlm) AssertClose(fixture.Expected(name + "_masked.anchor"), output.AnchorLogits!, name + " masked anchor");
    }

    [Fact]
    public void Padding_keys_are_ignored()
    {
        using var scope = NewDisposeScope();
        using var model = Build("softmax", shift: false, mdlm: false);
        var mask = fixture.KeyMask;
        long real = mask[1].sum().item<long>();
        Assert.True(real < fixture.Ids.shape[1]);

        var padded = model.Forward(fixture.Ids, mask);
        // Different ids at the padding positions must not change anything at the real positions ...
        var otherPadding = fixture.Ids.clone();
        otherPadding[1, TensorIndex.Slice(real)] = (otherPadding[1, TensorIndex.Slice(real)] + 7) % model.Config.VocabSize;
        var repadded = model.Forward(otherPadding, mask);
        // ... and the real positions equal a run on the unpadded prefix alone.
        var prefix = model.Forward(fixture.Ids[TensorIndex.Slice(1, 2), TensorIndex.Slice(0, real)]);

        var realPart = padded.DenoiserLogits[1, TensorIndex.Slice(0, real)];
        AssertClose(realPart, repadded.DenoiserLogits[1, TensorIndex.Slice(0, real)], "padding ids changed real logits");
        AssertClose(realPart, prefix.DenoiserLogits[0], "padded run vs prefix run (denoiser)");
        AssertClose(padded.AnchorLogits![1, TensorIndex.Slice(0, real)], prefix.AnchorLogits![0], "padded run vs prefix run (anchor)");
        // Sanity: without the mask the padding does leak (otherwise the test above would prove nothing).
        var unmasked = model.Forward(fixture.Ids);
        Assert.True((unmasked.DenoiserLogits[1, TensorIndex.Slice(0, real)] - realPart).abs().max().item<float>() > 1e-3);
    }

    private DiffusionModel Build(string denoiserInput, bool shift, bool mdlm)
    {
        var config = fixture.Config with
        {
            Architecture = mdlm ? Architecture.Mdlm : Architecture.Anchored,
            DenoiserInput = Enum.Parse<DenoiserInput>(denoiserInput, ignoreCase: true),
            Shift = shift,
        };
        var model = DiffusionModel.Create(config);
        fixture.LoadInto(model);
        return model;
    }

    internal static void AssertClose(Tensor expected, Tensor actual, string what, double relativeTolerance = RelativeTolerance)
    {
        Assert.Equal(expected.shape, actual.shape);
        double scale = expected.abs().max().item<float>();
        double error = (actual.to(ScalarType.Float32) - expected).abs().max().item<float>();
        Assert.True(error <= relativeTolerance * scale,
            $"{what}: max |ours − reference| = {error:G3} exceeds {relativeTolerance:G2} × max |reference| = {relativeTolerance * scale:G3}");
    }
}
