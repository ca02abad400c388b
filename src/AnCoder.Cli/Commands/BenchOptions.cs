using System.CommandLine;

namespace AnCoder.Cli.Commands;

/// <summary>The options every "ours beside a baseline" benchmark verb shares (bench model, train, ar-decode, sample).</summary>
internal static class BenchOptions
{
    public static Option<int> Rounds(int defaultValue, string description = "Alternating rounds (ours, PyTorch); medians are reported.") =>
        new("--rounds") { Description = description, DefaultValueFactory = _ => defaultValue };

    public static Option<int> Threads() =>
        new("--threads") { Description = "Torch threads on both sides (ours and PyTorch).", DefaultValueFactory = _ => 2 };

    public static Option<bool> NoTorch(string baseline) => new("--no-torch") { Description = $"Only time ours (skip {baseline})." };
}
