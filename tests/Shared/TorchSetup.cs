using System.Runtime.CompilerServices;
using AnCoder.Diffusion.Runtime;

// Compiled into every test project that touches TorchSharp (linked from its .csproj, with a global using of this namespace).
namespace AnCoder.Tests.Shared;

internal static class TorchSetup
{
    /// <summary>Patches and loads TorchSharp before any test touches torch (MSBuild re-copies the unpatched library).</summary>
    [ModuleInitializer]
    internal static void Initialize() => TorchRuntime.Initialize();
}

/// <summary>Torch tests share process-wide state (manual_seed, thread count): they run one class at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchCollection
{
    public const string Name = "torch";
}
