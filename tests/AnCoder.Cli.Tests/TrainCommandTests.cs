using AnCoder.Cli.Commands;

namespace AnCoder.Cli.Tests;

/// <summary><c>ancoder train</c>'s flags come from TrainingConfig's [Setting] properties; mistakes are one line, exit 2,
/// before any training starts.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class TrainCommandTests
{
    private static (int ExitCode, string Error) Run(params string[] args)
    {
        var originalError = Console.Error;
        var error = new StringWriter();
        Console.SetError(error);
        try
        {
            return (TrainCommand.Create().Parse(args).Invoke(), error.ToString());
        }
        finally
        {
            Console.SetError(originalError);
        }
    }

    [Fact]
    public void EverySettingFlagIsOffered()
    {
        var options = TrainCommand.Create().Options.Select(o => o.Name).ToHashSet();
        foreach (var flag in new[] { "--strategy", "--lambda", "--rho", "--d0", "--schedule", "--precision", "--packing", "--steps", "--tokens",
                     "--lr", "--context", "--accumulation", "--ema", "--out", "--valid-interval", "--init-qwen", "--set", "--config", "--resume" })
            Assert.Contains(flag, options);
    }

    [Theory]
    [InlineData(new[] { "--precision", "fp16" }, "ancoder train: precision: 'fp16' is not one of fp32, bf16\n")]
    [InlineData(new[] { "--strategy", "anchors" }, "ancoder train: strategy: 'anchors' is not one of mdlm, null, keyword, identifier, anchortree\n")]
    [InlineData(new[] { "--lr", "fast" }, "ancoder train: learning_rate: 'fast' is not a number\n")]
    [InlineData(new[] { "--set", "learning_rat=1" }, "ancoder train: unknown setting 'learning_rat' (known: ")]
    [InlineData(new[] { "--set", "beta2" }, "ancoder train: --set beta2: expected key=value, e.g. --set learning_rate=1e-4\n")]
    [InlineData(new[] { "--resume" }, "ancoder train: --resume needs --out RUN_DIR\n")]
    public void BadValuesExitTwoWithOneLine(string[] args, string expected)
    {
        var (exitCode, error) = Run(args);
        Assert.Equal(2, exitCode);
        Assert.StartsWith(expected, error);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
    }
}
