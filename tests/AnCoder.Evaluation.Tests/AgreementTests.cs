using System.Diagnostics;
using AnCoder.Evaluation.Benchmarks;
using AnCoder.Evaluation.Execution;
using AnCoder.Evaluation.Scoring;
using Xunit.Abstractions;

namespace AnCoder.Evaluation.Tests;

/// <summary>The sandbox's verdicts equal a plain openai/human-eval style runner's on canonical and broken programs.</summary>
public class AgreementTests(SandboxFixture fixture, ITestOutputHelper output) : IClassFixture<SandboxFixture>
{
    /// <summary>ANCODER_EVAL_FULL=1 runs every variant of every problem and all of MBPP (about 2,500 programs, ~10 min on 2 cores).</summary>
    private static bool Full => Environment.GetEnvironmentVariable("ANCODER_EVAL_FULL") == "1";

    /// <summary>Broken variants of a HumanEval canonical completion (which of them pass is for the runners to say).</summary>
    internal static List<(string Name, string Completion)> HumanEvalVariants(Benchmark humanEval, int index)
    {
        var problem = humanEval.Problems[index];
        var variants = new List<(string, string)>
        {
            ("return-none", "    return None\n"),
            ("other-solution", humanEval.Problems[(index + 1) % humanEval.Problems.Count].CanonicalCompletion),
            ("syntax-error", problem.CanonicalCompletion + "\n    return )\n"),
            ("sys-exit-0", "    import sys\n    sys.exit(0)\n"),
            ("os-exit-0", "    import os\n    os._exit(0)\n"),
            ("assert-false-after", problem.CanonicalCompletion + "\n\nassert False\n"),
            ("swallowed-exception", "    try:\n        raise ValueError('x')\n    except Exception:\n        pass\n"),
        };
        // The CI run takes one broken variant per problem, in rotation; the full run takes them all.
        var chosen = Full ? variants : [variants[index % variants.Count]];
        if (index % 80 == 0)
            chosen.Add(("infinite-loop", "    while True:\n        pass\n"));
        return chosen;
    }

    [Fact]
    public async Task Verdicts_equal_the_reference_runner_on_canonical_and_broken_programs()
    {
        var programs = new List<(string Id, string Program, SandboxJob Job)>();
        var humanEval = TestData.HumanEval;
        for (var i = 0; i < humanEval.Problems.Count; i++)
        {
            var problem = humanEval.Problems[i];
            programs.Add(($"{problem.TaskId}#canonical", humanEval.AssembleProgram(problem, problem.CanonicalCompletion),
                humanEval.CreateJob(problem, problem.CanonicalCompletion)));
            foreach (var (name, completion) in HumanEvalVariants(humanEval, i))
                programs.Add(($"{problem.TaskId}#{name}", humanEval.AssembleProgram(problem, completion), humanEval.CreateJob(problem, completion)));
        }
        var mbpp = TestData.Mbpp;
        for (var i = 0; i < mbpp.Problems.Count; i++)
        {
            var problem = mbpp.Problems[i];
            if (Full || i % 10 == 0)
                programs.Add(($"mbpp/{problem.TaskId}#canonical", mbpp.AssembleProgram(problem, problem.CanonicalCompletion),
                    mbpp.CreateJob(problem, problem.CanonicalCompletion)));
            if (Full ? i % 4 == 0 : i % 20 == 3)
                programs.Add(($"mbpp/{problem.TaskId}#no-solution", mbpp.AssembleProgram(problem, "pass"), mbpp.CreateJob(problem, "pass")));
        }

        var stopwatch = Stopwatch.StartNew();
        var ours = await Task.WhenAll(programs.Select(async p => (p.Id, Result: await fixture.Sandbox.RunAsync(p.Job))));
        var ourSeconds = stopwatch.Elapsed.TotalSeconds;
        var reference = Python.ReferenceVerdicts(programs.Select(p => (p.Id, p.Program)).ToList(), fixture.Workers, out var referenceSeconds);

        var disagreements = ours.Where(o => o.Result.Passed != reference[o.Id])
            .Select(o => $"{o.Id}: sandbox {o.Result.Outcome} ({o.Result.Reason}), reference passed={reference[o.Id]}").ToList();
        var agreement = 100.0 * (programs.Count - disagreements.Count) / programs.Count;
        output.WriteLine($"programs {programs.Count}, agreement {agreement:0.00} %, sandbox {ourSeconds:0.0} s, reference {referenceSeconds:0.0} s");
        var mbppCanonical = ours.Where(o => o.Id.StartsWith("mbpp/") && o.Id.EndsWith("#canonical")).ToList();
        output.WriteLine($"MBPP canonical passed: {mbppCanonical.Count(o => o.Result.Passed)}/{mbppCanonical.Count}");
        foreach (var failure in mbppCanonical.Where(o => !o.Result.Passed))
            output.WriteLine($"  {failure.Id}: {failure.Result.Reason}");
        Assert.True(disagreements.Count == 0, string.Join("\n", disagreements));
        Assert.Contains(ours, o => o.Result.Outcome == ExecutionOutcome.Timeout);
        // HumanEval's reference solutions must all pass (the 164/164).
        var humanEvalCanonical = ours.Where(o => o.Id.StartsWith("HumanEval/") && o.Id.EndsWith("#canonical")).ToList();
        Assert.Equal(164, humanEvalCanonical.Count);
        Assert.All(humanEvalCanonical, o => Assert.True(o.Result.Passed, $"{o.Id}: {o.Result.Reason}"));
    }
}
