using System.CommandLine;
using AnCoder.Cli.Commands;

namespace AnCoder.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("AnCoder: anchored discrete diffusion for code (Python syntax frontend, AnchorTree labels, diffusion models, evaluation).");
        // Each verb lives in Commands/<Verb>Command.cs and exposes `static Command Create()`.
        root.Subcommands.Add(ParseCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(PlotCommand.Create());
        root.Subcommands.Add(PrepareCommand.Create());
        root.Subcommands.Add(AnchorsCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(ImportQwenCommand.Create());
        root.Subcommands.Add(SampleCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(ReproCommand.Create());
        root.Subcommands.Add(ProbeCommand.Create());
        return root.Parse(args).Invoke();
    }
}
