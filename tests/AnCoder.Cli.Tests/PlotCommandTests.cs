using AnCoder.Anchoring.Runs;
using AnCoder.Cli.Commands;
using AnCoder.Diffusion.Training;

namespace AnCoder.Cli.Tests;

/// <summary>The verb as a user meets it: user mistakes give one "ancoder plot: ..." line on stderr and exit code 2.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class PlotCommandTests : IDisposable
{
    private readonly RunFolders runs = new();

    public void Dispose() => runs.Dispose();

    private static (int ExitCode, string Error) Run(params string[] args)
    {
        var originalError = Console.Error;
        var error = new StringWriter();
        Console.SetError(error);
        try
        {
            int exitCode = PlotCommand.Create().Parse(args).Invoke();
            return (exitCode, error.ToString());
        }
        finally
        {
            Console.SetError(originalError);
        }
    }

    [Fact]
    public void MissingFolderExitsTwoWithOneLine()
    {
        string missing = Path.Combine(runs.Root, "missing");
        var (exitCode, error) = Run(missing);
        Assert.Equal(2, exitCode);
        Assert.Equal($"ancoder plot: run folder not found: {missing}\n", error);
    }

    [Fact]
    public void MalformedLineExitsTwoNamingFileAndLine()
    {
        string run = runs.CreateRaw("bad", RunFolders.Line(1) + "\n{\"step\":2,\"loss\":[1]}\n");
        var (exitCode, error) = Run(run);
        Assert.Equal(2, exitCode);
        Assert.Equal($"ancoder plot: {Path.Combine(run, "metrics.jsonl")}:2: \"loss\" must be a number, found [1]\n", error);
    }

    [Theory]
    [InlineData("--x", "epochs", "ancoder plot: --x must be step, tokens or time, not \"epochs\"\n")]
    [InlineData("--smooth", "0", "ancoder plot: --smooth must be at least 1 (1 = no smoothing), not 0\n")]
    [InlineData("--width", "5", "ancoder plot: the image size must be 100–10000 pixels per side, not 5x600\n")]
    public void BadOptionValuesExitTwo(string option, string value, string expected)
    {
        string run = runs.Create("r", steps: 3);
        var (exitCode, error) = Run(run, option, value);
        Assert.Equal(2, exitCode);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void TwoRunsWithCompareWriteFiguresCsvAndMarkdown()
    {
        string a = runs.Create("mdlm-1", "mdlm", steps: 20);
        string b = runs.Create("at-1", "anchortree", steps: 20);
        string outDir = Path.Combine(runs.Root, "out");
        var (exitCode, error) = Run(a, b, "--out", outDir, "--x", "tokens", "--smooth", "3", "--log-y", "--compare", "--width", "320", "--height", "200");
        Assert.Equal(0, exitCode);
        // No warnings, except the font one on a machine without fonts (CI images may lack them).
        Assert.Empty(error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(line => !line.Contains("no fonts found")));
        Assert.Equal(["compare.md", "grad_norm.png", "loss.png", "lr.png", "metrics.csv", "valid_nelbo.png"],
            Directory.GetFiles(outDir).Select(Path.GetFileName).Order());
        string[] markdown = File.ReadAllLines(Path.Combine(outDir, "compare.md"));
        Assert.Equal(4, markdown.Length); // header, rule, two runs
        Assert.StartsWith("| mdlm-1 | mdlm | 20 |", markdown[2]);
        Assert.StartsWith("| at-1 | anchortree | 20 |", markdown[3]);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCollection
{
    public const string Name = "console";
}

/// <summary>Run folders as the trainer leaves them (config.json + metrics.jsonl written with the trainer's own
/// <see cref="MetricsRecord"/>), with made-up numbers: a falling loss, validation every 10 steps.</summary>
public sealed class RunFolders : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("ancoder-plot-cli-").FullName;

    public void Dispose() => Directory.Delete(Root, recursive: true);

    public static string Line(long step, string strategy = "anchortree") =>
        new MetricsRecord(step, step * 4096, step * 0.5, 3e-4, 2 + 6 * Math.Exp(-step / 50.0), 2 + 6 * Math.Exp(-step / 50.0),
            strategy == "mdlm" ? 0 : 0.25, 1 + 1.0 / step, 8192, step % 10 == 0 ? 3 + Math.Exp(-step / 60.0) : null, strategy).ToJsonLine();

    public string Create(string name, string strategy = "anchortree", int steps = 40) =>
        CreateRaw(name, string.Concat(Enumerable.Range(1, steps).Select(step => Line(step, strategy) + "\n")), strategy);

    public string CreateRaw(string name, string metricsText, string strategy = "anchortree")
    {
        string dir = Path.Combine(Root, name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), $"{{\"strategy\":\"{strategy}\"}}");
        File.WriteAllText(Path.Combine(dir, "metrics.jsonl"), metricsText);
        return dir;
    }
}
