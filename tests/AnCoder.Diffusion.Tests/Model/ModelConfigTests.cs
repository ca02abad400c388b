using AnCoder.Anchoring.Labels;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using TorchSharp;

namespace AnCoder.Diffusion.Tests.Model;

[Collection(TorchCollection.Name)]
public sealed class ModelConfigTests
{
    [Theory]
    [InlineData("tiny")]
    [InlineData("small")]
    [InlineData("ancoder-809m")]
    public void Presets_round_trip_through_json(string preset)
    {
        var config = ModelPresets.Get(preset);
        var json = config.ToJson();
        Assert.Contains("\"num_hidden_layers\"", json);
        Assert.Contains("\"denoiser_input\": \"softmax\"", json);
        Assert.Equal(config, ModelConfig.FromJson(json) with { Diffusion = config.Diffusion });
        Assert.Equal(config.Diffusion, ModelConfig.FromJson(json).Diffusion);
    }

    [Fact]
    public void Switches_round_trip_through_json()
    {
        var config = ModelPresets.Tiny with
        {
            Architecture = Architecture.Mdlm, DenoiserInput = DenoiserInput.Linear, Shift = true, HeadDim = 48,
            Diffusion = new DiffusionSettings { Schedule = ScheduleKind.LogLinear, Strategy = AnchorStrategy.Keyword, AnchorLossOn = AnchorLossOn.Masked, AnchorWarmup = true },
        };
        var back = ModelConfig.FromJson(config.ToJson());
        Assert.Equal(config.ToJson(), back.ToJson());
        Assert.Equal(Architecture.Mdlm, back.Architecture);
        Assert.True(back.Shift);
        Assert.Equal(ScheduleKind.LogLinear, back.Diffusion.Schedule);
        Assert.Contains("\"schedule\": \"loglinear\"", config.ToJson()); // the on-disk spelling is unchanged
    }

    [Theory]
    [InlineData("\"hidden_size\": 0", "hidden_size")]
    [InlineData("\"num_key_value_heads\": 3", "num_key_value_heads")]
    [InlineData("\"mask_token_id\": 9000", "mask_token_id")]
    [InlineData("\"hidden_size\": 130", "hidden_size")]
    [InlineData("\"rope_theta\": -1", "rope_theta")]
    [InlineData("\"diffusion\": { \"schedule\": \"linear\" }", "diffusion.schedule")]
    [InlineData("\"diffusion\": { \"anchor_rho\": 2 }", "diffusion.anchor_rho")]
    [InlineData("\"hiden_size\": 128", "hiden_size")]
    [InlineData("\"denoiser_input\": \"sigmoid\"", "denoiser_input")]
    public void Invalid_configs_name_the_file_and_the_field(string field, string named)
    {
        var json = "{ \"vocab_size\": 8192, " + field + " }";
        var error = Assert.Throws<ConfigException>(() => ModelConfig.FromJson(json, "run/config.json"));
        Assert.StartsWith("run/config.json: ", error.Message);
        Assert.Contains(named, error.Message);
        Assert.DoesNotContain("\n", error.Message);
    }

    /// <summary>The paper's count, by hand from Qwen2.5-Coder-0.5B's shape (d 896, 14 heads of 64, 2 kv heads,
    /// MLP 4864, vocab 151936, tied embeddings): φ ≈ 494M with 24 layers, ψ ≈ 315M with 12, total ≈ 809M.</summary>
    [Fact]
    public void AnCoder_809m_has_494M_plus_315M_parameters()
    {
        long d = 896, v = 151936, mlp = 4864, kv = 2 * 64;
        long layer = (d * d + d) + 2 * (d * kv + kv) + d * d + 3 * d * mlp + 2 * d;
        long phi = v * d + 24 * layer + d, psi = v * d + 12 * layer + d;
        Assert.Equal(494_032_768, phi); // Qwen2.5-0.5B's published 0.49B (tied embeddings)
        var config = ModelPresets.AnCoder809M;
        Assert.Equal(phi, config.NetworkParameterCount(24));
        Assert.Equal(psi, config.NetworkParameterCount(12));
        Assert.Equal(phi + psi, config.ParameterCount());
        Assert.Equal(494, (int)Math.Round(phi / 1e6));
        Assert.Equal(315, (int)Math.Round(psi / 1e6));
        Assert.Equal(809, (int)Math.Round(config.ParameterCount() / 1e6));
        Assert.Equal(phi, (config with { Architecture = Architecture.Mdlm }).ParameterCount());
    }

    [Theory]
    [InlineData("tiny", "softmax", "anchored")]
    [InlineData("tiny", "linear", "anchored")]
    [InlineData("tiny", "softmax", "mdlm")]
    [InlineData("small", "softmax", "anchored")]
    public void Formula_equals_the_real_models_count(string preset, string denoiserInput, string architecture)
    {
        var config = ModelPresets.Get(preset) with
        {
            DenoiserInput = Enum.Parse<DenoiserInput>(denoiserInput, ignoreCase: true),
            Architecture = Enum.Parse<Architecture>(architecture, ignoreCase: true),
        };
        using var model = DiffusionModel.Create(config);
        Assert.Equal(model.ParameterCount(), config.ParameterCount());
    }

    /// <summary>tiny (d 128, 4 heads of 32, 2 kv heads, MLP 352, V 8192, 2 + 2 layers) by hand: per layer the matmul
    /// weights are q 128·128, k and v 128·64 each, o 128·128, MLP 3·128·352; plus three V·d products (φ's output,
    /// ψ's input, ψ's output); attention 4·L·128 per layer.</summary>
    [Fact]
    public void Forward_flops_per_token_follow_the_hand_count()
    {
        double layer = 128 * 128 + 2 * 128 * 64 + 128 * 128 + 3 * 128 * 352;
        double expected = 2 * (4 * layer + 3 * 8192.0 * 128) + 4 * 256 * 128 * 4;
        Assert.Equal(expected, ModelPresets.Tiny.ForwardFlopsPerToken(256));
        var mdlm = ModelPresets.Tiny with { Architecture = Architecture.Mdlm };
        Assert.Equal(2 * (2 * layer + 8192.0 * 128) + 4 * 256 * 128 * 2, mdlm.ForwardFlopsPerToken(256));
    }
}
