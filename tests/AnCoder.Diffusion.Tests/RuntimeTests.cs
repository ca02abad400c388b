using AnCoder.Diffusion.Runtime;
using TorchSharp;

namespace AnCoder.Diffusion.Tests;

[Collection(TorchCollection.Name)]
public sealed class RuntimeTests
{
    [Fact]
    public void Torch_loads_and_computes()
    {
        using var a = torch.tensor(new float[] { 1, 2, 3 });
        using var b = a * a;
        Assert.Equal(14f, b.sum().item<float>());
    }

    [Fact]
    public void Native_library_next_to_the_tests_has_a_weak_GLIBCXX_3_4_32_requirement()
    {
        var libraries = TorchRuntime.FindNativeLibraries(AppContext.BaseDirectory).ToList();
        Assert.NotEmpty(libraries);
        foreach (var library in libraries)
        {
            Assert.NotEmpty(TorchRuntime.FindVersionFlagOffsets(File.ReadAllBytes(library), TorchRuntime.MissingVersion));
            Assert.True(TorchRuntime.IsVersionRequirementWeak(library, TorchRuntime.MissingVersion));
        }
    }

    [Fact]
    public void Readelf_agrees_that_the_requirement_is_weak()
    {
        var library = TorchRuntime.FindNativeLibraries(AppContext.BaseDirectory).First();
        var psi = new System.Diagnostics.ProcessStartInfo("readelf", ["-V", "-W", library]) { RedirectStandardOutput = true };
        using var process = System.Diagnostics.Process.Start(psi);
        if (process is null) return;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var line = output.Split('\n').Single(l => l.Contains("Name: " + TorchRuntime.MissingVersion));
        Assert.Contains("Flags: WEAK", line);
    }

    [Fact]
    public void Patching_a_copy_of_the_original_changes_exactly_one_flag_and_is_idempotent()
    {
        var library = TorchRuntime.FindNativeLibraries(AppContext.BaseDirectory).First();
        string copy = Path.Combine(Path.GetTempPath(), $"ancoder-elf-{Guid.NewGuid():N}.so");
        try
        {
            byte[] original = File.ReadAllBytes(library);
            int offset = TorchRuntime.FindVersionFlagOffsets(original, TorchRuntime.MissingVersion).Single();
            original[offset] &= unchecked((byte)~2); // undo the patch: the library as NuGet ships it
            File.WriteAllBytes(copy, original);
            Assert.False(TorchRuntime.IsVersionRequirementWeak(copy, TorchRuntime.MissingVersion));

            Assert.True(TorchRuntime.WeakenVersionRequirement(copy, TorchRuntime.MissingVersion));
            byte[] patched = File.ReadAllBytes(copy);
            var differing = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).ToList();
            Assert.Equal([offset], differing);
            Assert.Equal(original[offset] | 2, patched[offset]);
            Assert.False(TorchRuntime.WeakenVersionRequirement(copy, TorchRuntime.MissingVersion));
        }
        finally
        {
            File.Delete(copy);
        }
    }
}
