using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using TorchSharp.PyBridge;

namespace AnCoder.Diffusion.Sampling;

/// <summary>
/// Stand-in for <c>Checkpoints.ModelCheckpoint.Load</c> (owned by the checkpoints helper) until it lands on
/// main: config.json + model.safetensors in a folder.
/// </summary>
public static class ModelLoadingStandIn
{
    public static DiffusionModel Load(string directory)
    {
        var config = ModelConfig.Load(Path.Combine(directory, "config.json"));
        var model = DiffusionModel.Create(config);
        model.load_safetensors(Path.Combine(directory, "model.safetensors"));
        return model;
    }
}
