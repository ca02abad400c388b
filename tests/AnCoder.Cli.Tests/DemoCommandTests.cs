using System.Text.Json;
using AnCoder.Diffusion.Checkpoints;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Runtime;
using AnCoder.Experiments.Traces;

namespace AnCoder.Cli.Tests;

/// <summary>
/// <c>ancoder demo</c> on a demo folder that already holds a model (so nothing is trained): the trace holds every
/// sample it printed, and with --repair the one-operator infill is sampled <see cref="DemoPrompts.RepairSamples"/>
/// times with a verdict per sample that agrees with the trace (repaired or not, parses or not).
/// </summary>
public sealed class DemoCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "ancoder-demo-test-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private string DemoFolderWithUntrainedModel()
    {
        TorchRuntime.Initialize();
        TorchSharp.torch.manual_seed(0);
        using var model = DiffusionModel.Create(ModelPresets.Get("tiny"));
        ModelCheckpoint.Save(model, Path.Combine(_root, "model"));
        return _root;
    }

    private static List<JsonElement> Samples(string page)
    {
        string html = File.ReadAllText(page);
        const string open = "<script id=\"trace\" type=\"application/json\">";
        int start = html.IndexOf(open, StringComparison.Ordinal) + open.Length;
        using var data = JsonDocument.Parse(html[start..html.IndexOf("</script>", start, StringComparison.Ordinal)]);
        return data.RootElement.GetProperty("samples").EnumerateArray().Select(s => s.Clone()).ToList();
    }

    [Fact]
    public void With_repair_the_operator_infill_is_sampled_and_each_verdict_matches_its_trace()
    {
        string dir = DemoFolderWithUntrainedModel();
        string page = Path.Combine(_root, "trace.html");
        var result = AncoderCli.Run("demo", "--dir", dir, "--steps", "4", "--length", "8", "--repair", "2", "--seed", "3", "--trace", page);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("reusing", result.Stdout);

        var samples = Samples(page);
        Assert.Equal(3 + DemoPrompts.Others.Count + DemoPrompts.RepairSamples, samples.Count);
        var repairSamples = samples.TakeLast(DemoPrompts.RepairSamples).ToList();
        Assert.All(repairSamples, s => Assert.StartsWith("def add(a, b):\n    return a ", s.GetProperty("text").GetString()));
        // Each sample's verdict line, in order, says what its own trace says.
        // (Spectre wraps long lines at the console width: whitespace is collapsed before matching.)
        static string Collapse(string text) => System.Text.RegularExpressions.Regex.Replace(text, @"\s+", " ");
        var verdicts = System.Text.RegularExpressions.Regex.Matches(Collapse(result.Stdout), @"── (parsed without repair|repaired \(.*?\), then (parses|still does not parse))")
            .Select(m => m.Value).ToList();
        Assert.Equal(DemoPrompts.RepairSamples, verdicts.Count);
        for (int k = 0; k < repairSamples.Count; k++)
        {
            var notes = repairSamples[k].GetProperty("steps").EnumerateArray()
                .Select(s => s.TryGetProperty("note", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null).Where(n => n is not null).ToList();
            bool parsed = repairSamples[k].GetProperty("parsed").GetBoolean();
            if (notes.Count == 0)
            {
                Assert.Equal("── parsed without repair", verdicts[k]);
                Assert.True(parsed);
            }
            else
            {
                Assert.Equal(Collapse($"── repaired ({notes[^1]}), then {(parsed ? "parses" : "still does not parse")}"), verdicts[k]);
                Assert.StartsWith("SyntaxError at line 2", notes[0]);
            }
        }
        // An untrained model breaks the one-token gap often: at least one sample went through a repair round.
        Assert.Contains(verdicts, v => v.Contains("repaired ("));
    }

    [Fact]
    public void Without_repair_there_is_no_repair_section()
    {
        string dir = DemoFolderWithUntrainedModel();
        string page = Path.Combine(_root, "trace.html");
        var result = AncoderCli.Run("demo", "--dir", dir, "--steps", "4", "--length", "8", "--trace", page);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(3 + DemoPrompts.Others.Count, Samples(page).Count);
        Assert.DoesNotContain("syntax repair", result.Stdout);
    }
}
