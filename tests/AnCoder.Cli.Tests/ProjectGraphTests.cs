using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace AnCoder.Cli.Tests;

/// <summary>
/// The architecture as the .csproj files declare it (README, "Projects"): references go one way, the libraries below
/// Diffusion and Reporting stay torch-free, and the CLI is a thin layer of verbs that nothing else depends on.
/// </summary>
public sealed class ProjectGraphTests
{
    /// <summary>Every src project and exactly the projects it may reference.</summary>
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["AnCoder.Syntax"] = [],
        ["AnCoder.Anchoring"] = ["AnCoder.Syntax"],
        ["AnCoder.Diffusion"] = ["AnCoder.Anchoring"],
        ["AnCoder.Evaluation"] = ["AnCoder.Syntax"],
        ["AnCoder.Reporting"] = ["AnCoder.Anchoring"],
        ["AnCoder.Experiments"] = ["AnCoder.Diffusion", "AnCoder.Evaluation", "AnCoder.Reporting"],
        ["AnCoder.Cli"] = ["AnCoder.Syntax", "AnCoder.Anchoring", "AnCoder.Diffusion", "AnCoder.Evaluation", "AnCoder.Reporting", "AnCoder.Experiments"],
    };

    /// <summary>Projects that must not load libtorch (directly or through a reference).</summary>
    private static readonly string[] TorchFree = ["AnCoder.Syntax", "AnCoder.Anchoring", "AnCoder.Evaluation", "AnCoder.Reporting"];

    private static readonly string Root = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "AnCoder.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("AnCoder.sln not found above " + AppContext.BaseDirectory);
    }

    private static Dictionary<string, XDocument> Projects(string folder) =>
        Directory.GetDirectories(Path.Combine(Root, folder))
            .Select(dir => Path.Combine(dir, Path.GetFileName(dir) + ".csproj"))
            .Where(File.Exists)
            .ToDictionary(path => Path.GetFileNameWithoutExtension(path), path => XDocument.Load(path));

    private static string[] References(XDocument project) =>
        project.Descendants("ProjectReference").Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value)).Order().ToArray();

    private static string[] Packages(XDocument project) =>
        project.Descendants("PackageReference").Select(r => r.Attribute("Include")!.Value).ToArray();

    [Fact]
    public void SourceProjectsReferenceExactlyTheAllowedProjects()
    {
        var projects = Projects("src");
        Assert.Equal(Allowed.Keys.Order(), projects.Keys.Order());
        foreach (var (name, project) in projects)
            Assert.True(Allowed[name].Order().SequenceEqual(References(project)),
                $"{name} references [{string.Join(", ", References(project))}], allowed [{string.Join(", ", Allowed[name].Order())}]");
    }

    [Fact]
    public void ProjectGraphIsAcyclic()
    {
        var graph = Projects("src").ToDictionary(p => p.Key, p => References(p.Value));
        var state = new Dictionary<string, int>(); // 1 = on the current path, 2 = done
        void Visit(string node, List<string> path)
        {
            if (state.GetValueOrDefault(node) == 2) return;
            Assert.False(state.GetValueOrDefault(node) == 1, "cycle: " + string.Join(" -> ", path.Append(node)));
            state[node] = 1;
            foreach (var next in graph.GetValueOrDefault(node, [])) Visit(next, [.. path, node]);
            state[node] = 2;
        }
        foreach (var node in graph.Keys) Visit(node, []);
    }

    [Fact]
    public void TorchFreeProjectsReachNoTorchPackage()
    {
        var projects = Projects("src");
        IEnumerable<string> Closure(string name) =>
            new[] { name }.Concat(References(projects[name]).SelectMany(Closure)).Distinct();
        foreach (var name in TorchFree)
            foreach (var reached in Closure(name))
                Assert.DoesNotContain(Packages(projects[reached]), package => package.Contains("torch", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void OnlyTheCliTestsReferenceTheCli()
    {
        var referencing = Projects("src").Concat(Projects("tests"))
            .Where(p => References(p.Value).Contains("AnCoder.Cli")).Select(p => p.Key).ToArray();
        Assert.Equal(["AnCoder.Cli.Tests"], referencing);
    }

    [Fact]
    public void CliIsThinAndDeclaresNothingOtherProjectsUse()
    {
        var files = Directory.GetFiles(Path.Combine(Root, "src", "AnCoder.Cli"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .ToArray();
        int lines = files.Sum(f => File.ReadAllLines(f).Length);
        Assert.True(lines < 2500, $"src/AnCoder.Cli has {lines} lines of C#; verbs only (parse options, call a library, print)");
        // No other source project can see the CLI's types (it references none of them, see above), and no test other
        // than the CLI's own names its namespace.
        var others = Directory.GetFiles(Path.Combine(Root, "src"), "*.cs", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(Path.Combine(Root, "tests"), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains("AnCoder.Cli" + Path.DirectorySeparatorChar) && !f.Contains("AnCoder.Cli.Tests" + Path.DirectorySeparatorChar));
        var usesCli = new Regex(@"\bAnCoder\.Cli\b");
        Assert.Empty(others.Where(f => usesCli.IsMatch(File.ReadAllText(f))));
    }
}
