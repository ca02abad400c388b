using System.Text.Json;
using System.Text.Json.Nodes;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Training;

namespace AnCoder.Diffusion.Tests.PyTorchEngine;

/// <summary>
/// One place to add a training option: <see cref="TorchEngine.SupportedFields"/> is the C# list of what the torch engine
/// implements; it equals python/ancoder_torch/config.py's (with the same defaults), every other field is refused in one
/// line when set and not handed over at its default, and the python side refuses a field it does not implement.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class TorchEngineConfigTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "ancoder-torchconfig-" + Guid.NewGuid().ToString("N"));

    public TorchEngineConfigTests() => Directory.CreateDirectory(root);

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }

    private TrainingConfig Config(string name) => new() { Data = Path.Combine(root, "data"), Output = Path.Combine(root, name), MaxSteps = 3 };

    [Fact]
    public void The_supported_fields_and_defaults_are_the_PyTorch_engine_s()
    {
        string file = Path.Combine(root, "supported.json");
        PythonTorch.Run("ancoder_torch.parity", ["supported", file]);
        var python = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        Assert.Equal(TorchEngine.SupportedFields.Order(StringComparer.Ordinal), python.Select(f => f.Key).Order(StringComparer.Ordinal));
        var defaults = JsonNode.Parse(new TrainingConfig().ToJson())!.AsObject();
        foreach (var (name, value) in python)
        {
            Assert.True(defaults.ContainsKey(name), $"{name} is not a TrainingConfig field");
            var ours = defaults[name];
            bool same = ours is JsonValue a && value is JsonValue b && a.GetValueKind() == JsonValueKind.Number && b.GetValueKind() == JsonValueKind.Number
                ? a.GetValue<double>() == b.GetValue<double>()
                : JsonNode.DeepEquals(ours, value);
            Assert.True(same, $"{name}: C# default {ours?.ToJsonString() ?? "null"}, python {value?.ToJsonString() ?? "null"}");
        }
    }

    [Fact]
    public void A_field_the_torch_engine_does_not_implement_is_refused_in_one_line_and_not_handed_over_at_its_default()
    {
        var refused = Assert.Throws<ConfigException>(() => TorchEngine.Prepare(Config("refused") with { EmaDecay = 0.999, DenoiserLayers = 3 }));
        Assert.DoesNotContain('\n', refused.Message);
        Assert.Contains("ema_decay = 0.999", refused.Message);
        Assert.DoesNotContain("denoiser_layers", refused.Message); // applied by the C# side into RUN/initial-model
        Assert.False(Directory.Exists(Path.Combine(root, "refused")), "nothing is written before the refusal");

        var config = Config("accepted") with { Objective = Objective.Ar, Sft = true, Seed = 5 };
        var prepared = TorchEngine.Prepare(config);
        string written = File.ReadAllText(Path.Combine(prepared.Output!, TrainingRun.ConfigFileName));
        var keys = JsonNode.Parse(written)!.AsObject().Select(f => f.Key).ToList();
        Assert.All(keys, k => Assert.Contains(k, TorchEngine.SupportedFields));
        Assert.DoesNotContain("ema_decay", keys);
        Assert.Equal(prepared, TrainingConfig.FromJson(written)); // the omitted fields are the defaults: still the same config
    }

    [Fact]
    public void Engine_options_pick_the_engine_and_refuse_torch_only_options_without_it()
    {
        Assert.Null(TorchEngine.FromOptions(null, null, null, root));
        Assert.Null(TorchEngine.FromOptions("csharp", null, null, null));
        Assert.Equal(new TorchEngineOptions(Path.Combine(root, "python"), 2, "on"), TorchEngine.FromOptions("torch", 2, "on", root));
        Assert.Equal(new TorchEngineOptions(Path.Combine(root, "python")), TorchEngine.FromOptions("torch", null, null, root));
        Assert.Contains("--engine torch", Assert.Throws<ConfigException>(() => TorchEngine.FromOptions(null, 2, null, root)).Message);
        Assert.Contains("--engine torch", Assert.Throws<ConfigException>(() => TorchEngine.FromOptions("csharp", null, "on", root)).Message);
        Assert.Contains("csharp or torch", Assert.Throws<ConfigException>(() => TorchEngine.FromOptions("jax", null, null, root)).Message);
    }

    [Fact]
    public void The_PyTorch_engine_refuses_a_field_it_does_not_implement_when_run_directly()
    {
        string file = Path.Combine(root, "direct.json");
        File.WriteAllText(file, """{"data": "d", "output": "o", "max_steps": 2, "ema_decay": 0.999}""");
        string output = PythonTorch.Run("ancoder_torch.train", ["--config", file], expectedExit: 2);
        Assert.Contains("ema_decay", output);
        Assert.Contains("not implemented by the torch engine", output);
    }
}
