using System.CommandLine;
using AnCoder.Cli.Commands;

namespace AnCoder.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        // Each verb lives in Commands/<Verb>Command.cs and exposes `static Command Create()`.
        var root = new RootCommand("AnCoder: anchored discrete diffusion for code (Python syntax frontend, AnchorTree labels, diffusion models, evaluation).")
        {
            ParseCommand.Create(), BenchCommand.Create(), EvalCommand.Create(), PlotCommand.Create(), PrepareCommand.Create(),
            AnchorsCommand.Create(), TrainCommand.Create(), ImportQwenCommand.Create(), SampleCommand.Create(), DemoCommand.Create(),
            ReproCommand.Create(), ProbeCommand.Create(),
        };
        return root.Parse(args).Invoke();
    }
}
