using System.Globalization;

namespace AnCoder.Diffusion.Runtime;

/// <summary>
/// This CPU's theoretical peak FLOP/s for fp32 and bf16 matmuls, the denominator of model FLOP utilisation (MFU).
/// Estimated from /proc/cpuinfo: cores × clock ("cpu MHz", the nominal clock a VM reports) × FLOP per cycle of the
/// widest unit the flags and microarchitecture give:
/// Intel with AMX-BF16: fp32 64 (two 512-bit FMA ports), bf16 1024 (AMX TMUL);
/// AMD Zen 4 (family 25 with AVX-512): fp32 32 (AVX-512 on two 256-bit FMA pipes), bf16 64 (VDPBF16PS);
/// AMD Zen 5 (family 26): fp32 64, bf16 128 (full 512-bit pipes);
/// other AVX-512: fp32 64, bf16 128 if AVX512_BF16 else 64; AVX2+FMA: 32 and 32.
/// </summary>
public sealed record CpuPeak(int Cores, double ClockHz, double Fp32FlopsPerCycle, double Bf16FlopsPerCycle, string Basis)
{
    public double Fp32Flops => Cores * ClockHz * Fp32FlopsPerCycle;
    public double Bf16Flops => Cores * ClockHz * Bf16FlopsPerCycle;

    public double PeakFlops(Configuration.Precision precision) => precision == Configuration.Precision.Bf16 ? Bf16Flops : Fp32Flops;

    public string Describe() =>
        $"{Cores} cores × {ClockHz / 1e9:F2} GHz × {Fp32FlopsPerCycle:F0} fp32 / {Bf16FlopsPerCycle:F0} bf16 FLOP/cycle ({Basis}) = "
        + $"fp32 {Fp32Flops / 1e9:F0} GFLOP/s, bf16 {Bf16Flops / 1e9:F0} GFLOP/s";

    public static CpuPeak ForThisMachine(int? cores = null)
    {
        string text = File.Exists("/proc/cpuinfo") ? File.ReadAllText("/proc/cpuinfo") : "";
        return FromCpuInfo(text, cores ?? Environment.ProcessorCount);
    }

    /// <summary>Pure: the estimate from the text of /proc/cpuinfo (first processor's block) and a core count.</summary>
    public static CpuPeak FromCpuInfo(string cpuinfo, int cores)
    {
        string vendor = "", flags = "";
        int family = 0;
        double megahertz = 0;
        foreach (var line in cpuinfo.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon < 0) { if (flags.Length > 0) break; continue; }
            string key = line[..colon].Trim(), value = line[(colon + 1)..].Trim();
            switch (key)
            {
                case "vendor_id" when vendor.Length == 0: vendor = value; break;
                case "cpu family" when family == 0: int.TryParse(value, CultureInfo.InvariantCulture, out family); break;
                case "cpu MHz" when megahertz == 0: double.TryParse(value, CultureInfo.InvariantCulture, out megahertz); break;
                case "flags" when flags.Length == 0: flags = " " + value + " "; break;
            }
        }
        bool Has(string flag) => flags.Contains(" " + flag + " ", StringComparison.Ordinal);
        double clock = megahertz > 0 ? megahertz * 1e6 : 2.0e9;
        string clockNote = megahertz > 0 ? "" : ", clock unknown: 2.0 GHz assumed";
        bool amd = vendor == "AuthenticAMD";
        (double fp32, double bf16, string basis) = true switch
        {
            _ when Has("amx_bf16") => (64.0, 1024.0, "AVX-512 FMA ×2, AMX-BF16"),
            _ when amd && family == 25 && Has("avx512f") => (32.0, Has("avx512_bf16") ? 64.0 : 32.0, "AMD Zen 4: AVX-512 on 256-bit pipes, VDPBF16PS"),
            _ when amd && family >= 26 && Has("avx512f") => (64.0, Has("avx512_bf16") ? 128.0 : 64.0, "AMD Zen 5: 512-bit FMA pipes, VDPBF16PS"),
            _ when Has("avx512f") => (64.0, Has("avx512_bf16") ? 128.0 : 64.0, "AVX-512 FMA ×2"),
            _ when Has("fma") => (32.0, 32.0, "AVX2 FMA ×2"),
            _ => (8.0, 8.0, "no FMA flags found"),
        };
        return new CpuPeak(cores, clock, fp32, bf16, basis + clockNote);
    }
}
