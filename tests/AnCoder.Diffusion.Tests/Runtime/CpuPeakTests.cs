using AnCoder.Diffusion.Configuration;
using AnCoder.Anchoring.Labels;
using AnCoder.Diffusion.Runtime;

namespace AnCoder.Diffusion.Tests.Runtime;

public sealed class CpuPeakTests
{
    private static string CpuInfo(string vendor, int family, string mhz, string flags) =>
        $"processor\t: 0\nvendor_id\t: {vendor}\ncpu family\t: {family}\nmodel\t\t: 17\ncpu MHz\t\t: {mhz}\nflags\t\t: {flags}\n\nprocessor\t: 1\nvendor_id\t: Other\n";

    [Fact]
    public void Zen4WithAvx512Bf16CountsDoublePumpedVectorUnits()
    {
        var peak = CpuPeak.FromCpuInfo(CpuInfo("AuthenticAMD", 25, "2596.136", "fpu fma avx2 avx512f avx512_bf16 avx512_vnni"), cores: 2);
        // 2 cores × 2.596136 GHz × 32 = 166.15 GFLOP/s fp32; × 64 = 332.29 GFLOP/s bf16.
        Assert.Equal(166.152704e9, peak.Fp32Flops, 1e3);
        Assert.Equal(332.305408e9, peak.Bf16Flops, 1e3);
    }

    [Fact]
    public void AmxBf16GivesTheTileUnitsRate()
    {
        var peak = CpuPeak.FromCpuInfo(CpuInfo("GenuineIntel", 6, "2100.000", "fma avx512f avx512_bf16 amx_bf16 amx_tile"), cores: 2);
        Assert.Equal(2 * 2.1e9 * 64, peak.Fp32Flops, 1e3);
        Assert.Equal(2 * 2.1e9 * 1024, peak.Bf16Flops, 1e3);
        Assert.Equal(peak.Bf16Flops, peak.PeakFlops(Precision.Bf16));
        Assert.Equal(peak.Fp32Flops, peak.PeakFlops(Precision.Fp32));
    }

    [Fact]
    public void Avx2OnlyMachineHasNoBf16Advantage()
    {
        var peak = CpuPeak.FromCpuInfo(CpuInfo("GenuineIntel", 6, "3000.0", "sse avx avx2 fma"), cores: 4);
        Assert.Equal(4 * 3e9 * 32, peak.Fp32Flops, 1e3);
        Assert.Equal(peak.Fp32Flops, peak.Bf16Flops);
    }

    [Fact]
    public void MissingClockFallsBackAndSaysSo()
    {
        var peak = CpuPeak.FromCpuInfo("vendor_id\t: AuthenticAMD\ncpu family\t: 26\nflags\t\t: fma avx512f avx512_bf16\n", cores: 2);
        Assert.Equal(2 * 2.0e9 * 64, peak.Fp32Flops, 1e3);
        Assert.Equal(2 * 2.0e9 * 128, peak.Bf16Flops, 1e3);
        Assert.Contains("assumed", peak.Basis);
    }
}
