using System.Collections.ObjectModel;
using System.Text.Json;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace AnCoder.Cli.Tests;

/// <summary>
/// Runs only where Debian's <c>chromium</c> and <c>chromium-driver</c> are installed (.ci/run installs them); outside
/// CI it skips with the reason when they are missing, in CI (<c>CI=true</c>) it always runs, so a missing browser fails.
/// </summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public const string Chromium = "/usr/bin/chromium";
    public const string ChromeDriver = "/usr/bin/chromedriver";

    public BrowserFactAttribute()
    {
        bool installed = File.Exists(Chromium) && File.Exists(ChromeDriver);
        if (!installed && !string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            Skip = $"no {Chromium} / {ChromeDriver}: apt-get install -y chromium chromium-driver (CI installs them and never skips)";
    }
}

/// <summary>
/// The trace page in a real browser (issue 17 item 6): <c>ancoder sample --trace</c> on untrained weights with a
/// syntax-repair round, opened by headless chromium. The replay must render every step exactly as the trace's own
/// data says, show the repair round's remask, and raise no script or console error.
/// </summary>
public sealed class TracePageBrowserTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "ancoder-trace-browser-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    /// <summary>Per step k = 0..N, the canvas text the page should show: masks as ▒, after the first k steps' changes.</summary>
    private static List<string> ExpectedCanvases(JsonElement sample)
    {
        var tokens = sample.GetProperty("initial_tokens").EnumerateArray().Select(t => t.ValueKind == JsonValueKind.Null ? null : t.GetString()).ToList();
        string Text() => string.Concat(tokens.Select(t => t ?? "▒"));
        var expected = new List<string> { Text() };
        foreach (var step in sample.GetProperty("steps").EnumerateArray())
        {
            foreach (var change in step.GetProperty("changes").EnumerateArray())
            {
                var text = change.GetProperty("text");
                tokens[change.GetProperty("position").GetInt32()] = text.ValueKind == JsonValueKind.Null ? null : text.GetString();
            }
            expected.Add(Text());
        }
        return expected;
    }

    [BrowserFact]
    public void The_trace_replays_every_step_shows_the_repair_round_and_raises_no_error()
    {
        Directory.CreateDirectory(_root);
        string page = Path.Combine(_root, "trace.html");
        // Untrained weights: the completion of an open bracket does not parse, so the repair round runs.
        var result = AncoderCli.Run("sample", "--model", "random:tiny", "--prompt", "def f(x):\n    return (x", "--steps", "6", "--length", "10",
            "--repair", "1", "--seed", "1", "--trace", page);
        Assert.True(result.ExitCode == 0, result.Stderr);
        string html = File.ReadAllText(page);
        const string open = "<script id=\"trace\" type=\"application/json\">";
        int start = html.IndexOf(open, StringComparison.Ordinal) + open.Length;
        using var data = JsonDocument.Parse(html[start..html.IndexOf("</script>", start, StringComparison.Ordinal)]);
        var sample = data.RootElement.GetProperty("samples")[0];
        var expected = ExpectedCanvases(sample);
        int steps = expected.Count - 1;
        var phases = sample.GetProperty("steps").EnumerateArray().Select(s => s.TryGetProperty("phase", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null).ToList();
        int remaskStep = phases.IndexOf("repair 1") + 1;   // 1-based step of the repair's remask
        Assert.True(remaskStep > 0, "the trace holds no repair round: the sample parsed; pick another prompt or seed");

        using var driver = StartBrowser();
        // Collect script errors and console.error calls from before the page's own script runs.
        driver.ExecuteCdpCommand("Page.addScriptToEvaluateOnNewDocument", new Dictionary<string, object?>
        {
            ["source"] = "window.__errors = []; window.addEventListener('error', e => window.__errors.push('error: ' + e.message));"
                + "const __consoleError = console.error; console.error = (...a) => { window.__errors.push('console.error: ' + a.join(' ')); __consoleError(...a); };",
        });
        driver.Navigate().GoToUrl(new Uri(page).AbsoluteFileUri());
        var script = (IJavaScriptExecutor)driver;
        Assert.Equal(steps.ToString(), script.ExecuteScript("return document.getElementById('step').max;") as string);
        Assert.Contains("repair=1×8", script.ExecuteScript("return document.getElementById('meta').textContent;") as string ?? "");

        // Drive the step slider as a user does (value + input event) through every step; read what the page shows.
        var shown = List(script.ExecuteScript("""
            const slider = document.getElementById('step'), shown = [];
            for (let k = 0; k <= +slider.max; k++) {
              slider.value = k; slider.dispatchEvent(new Event('input'));
              shown.push([document.getElementById('canvas').textContent, document.getElementById('stepLabel').textContent,
                          document.querySelectorAll('#canvas .m').length, document.querySelectorAll('#chart path').length]);
            }
            return shown;
            """));
        Assert.Equal(steps + 1, shown.Count);
        for (int k = 0; k <= steps; k++)
        {
            var row = List(shown[k]);
            Assert.Equal(expected[k], (string?)row[0]);
            Assert.StartsWith($"step {k} / {steps}", (string?)row[1] ?? "");
            Assert.Equal(expected[k].Count(c => c == '▒'), Convert.ToInt32(row[2]));
            Assert.Equal(2L, Convert.ToInt64(row[3]));   // the reveal chart's two curves
        }
        // The repair round: the canvas was complete after the final pass, the remask step masks the broken region
        // again and says so, the round's steps fill it.
        var remask = List(shown[remaskStep]);
        Assert.Equal(0, Convert.ToInt32(List(shown[remaskStep - 1])[2]));
        Assert.True(Convert.ToInt32(remask[2]) > 0, "the remask step shows no masked position");
        Assert.Contains("repair 1", (string?)remask[1] ?? "");
        Assert.Contains("broken region remasked", (string?)remask[1] ?? "");
        // Why: the parser's error on the text before the remask, as the trace records it for this sample.
        string note = sample.GetProperty("steps")[remaskStep - 1].GetProperty("note").GetString()!;
        Assert.StartsWith("SyntaxError at line ", note);
        Assert.Contains(note, (string?)remask[1] ?? "");
        // The last step says whether the final text parses, as the trace's own verdict has it.
        Assert.EndsWith(sample.GetProperty("parsed").GetBoolean() ? "the final text parses" : "the final text does not parse", (string?)List(shown[steps])[1] ?? "");
        Assert.Equal(0, Convert.ToInt32(List(shown[steps])[2]));

        var errors = List(script.ExecuteScript("return window.__errors;"));
        Assert.True(errors.Count == 0, "script errors: " + string.Join("; ", errors));
    }

    private static ReadOnlyCollection<object> List(object? value) => Assert.IsAssignableFrom<ReadOnlyCollection<object>>(value);

    private static ChromeDriver StartBrowser()
    {
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(BrowserFactAttribute.ChromeDriver)!, Path.GetFileName(BrowserFactAttribute.ChromeDriver));
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = BrowserFactAttribute.Chromium };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--allow-file-access-from-files");
        return new ChromeDriver(service, options, TimeSpan.FromMinutes(2));
    }
}

internal static class UriExtensions
{
    public static string AbsoluteFileUri(this Uri uri) => uri.IsFile ? uri.AbsoluteUri : throw new ArgumentException($"{uri} is not a file");
}
