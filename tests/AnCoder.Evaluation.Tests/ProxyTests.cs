using AnCoder.Evaluation.Execution;
using AnCoder.Evaluation.Scoring;

namespace AnCoder.Evaluation.Tests;

public sealed class ProxySandbox() : SandboxFixture(62700, workers: 1, TimeSpan.FromSeconds(3));

/// <summary>
/// What crosses from the candidate process to the test process: values compare in the test exactly as they would in
/// one interpreter (types included), iterators stay iterators, non-data objects are opaque references.
/// </summary>
public class ProxyTests(ProxySandbox fixture) : IClassFixture<ProxySandbox>
{
    private async Task<ExecutionResult> Check(string candidate, string checkBody, string entryPoint = "f")
    {
        var test = "def check(candidate):\n" + string.Join("", checkBody.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "    " + l + "\n"));
        return await fixture.Sandbox.RunAsync(new SandboxJob(candidate, new CheckFunctionTest("", test, entryPoint)));
    }

    [Fact]
    public async Task Plain_values_keep_their_types()
    {
        var result = await Check(
            "def f():\n    return (1, [2.5, float('inf'), float('nan')], {3: 'x', (4, 5): None}, {6}, frozenset({7}), b'\\x00b', 1+2j, True, 10**40, -0.0)\n",
            "v = candidate()\n" +
            "assert type(v) is tuple and len(v) == 10\n" +
            "assert v[0] == 1 and type(v[0]) is int\n" +
            "assert v[1][:2] == [2.5, float('inf')] and v[1][2] != v[1][2]\n" +
            "assert v[2] == {3: 'x', (4, 5): None} and type(v[2]) is dict\n" +
            "assert v[3] == {6} and type(v[3]) is set and type(v[4]) is frozenset\n" +
            "assert v[5] == b'\\x00b' and v[6] == 1+2j and v[7] is True and v[8] == 10**40\n" +
            "assert str(v[9]) == '-0.0'\n");
        Assert.True(result.Passed, result.Reason);
    }

    [Fact]
    public async Task Tuples_and_lists_stay_distinct()
    {
        var result = await Check("def f():\n    return [1, 2]\n", "assert candidate() != (1, 2)\nassert candidate() == [1, 2]\n");
        Assert.True(result.Passed, result.Reason);
    }

    [Fact]
    public async Task Collections_types_compare_as_they_do_in_one_interpreter()
    {
        var result = await Check(
            "import collections\ndef f(kind):\n    d = {'a': 2, 'b': 1}\n" +
            "    return {'counter': collections.Counter(d), 'ordered': collections.OrderedDict(d), 'default': collections.defaultdict(int, d), 'deque': collections.deque([1, 2]), 'range': range(1, 9, 2), 'keys': d.keys(), 'items': d.items()}[kind]\n",
            "assert candidate('counter') == {'a': 2, 'b': 1} and type(candidate('counter')).__name__ == 'Counter'\n" +
            "assert candidate('counter').most_common(1) == [('a', 2)]\n" +
            "assert candidate('ordered') == {'b': 1, 'a': 2}\n" +
            "assert candidate('default') == {'a': 2, 'b': 1}\n" +
            "assert candidate('deque') != [1, 2] and list(candidate('deque')) == [1, 2]\n" +
            "assert candidate('range') == range(1, 9, 2)\n" +
            "assert candidate('keys') == {'a', 'b'} and candidate('items') == {('a', 2), ('b', 1)}\n");
        Assert.True(result.Passed, result.Reason);
    }

    [Fact]
    public async Task Generators_arrive_as_iterators()
    {
        var result = await Check("def f(n):\n    return (i * i for i in range(n))\n",
            "assert candidate(3) != [0, 1, 4]\nassert list(candidate(3)) == [0, 1, 4]\nit = candidate(2)\nassert next(it) == 0 and next(it) == 1\n");
        Assert.True(result.Passed, result.Reason);
    }

    [Fact]
    public async Task Objects_are_references_that_can_be_passed_back()
    {
        // MBPP 601's pattern: the test builds the candidate's objects and hands them to the candidate's function.
        var job = new SandboxJob(
            "class Pair:\n    def __init__(self, a, b):\n        self.a, self.b = a, b\n" +
            "def longest(pairs):\n    return max(p.b - p.a for p in pairs)\n",
            new AssertsTest("", ["assert longest([Pair(1, 5), Pair(2, 3)]) == 4", "p = Pair(1, 2)\nassert p == p and p != Pair(1, 2)"],
                "class Pair:\n    pass\ndef longest(pairs):\n    pass\n"));
        var result = await fixture.Sandbox.RunAsync(job);
        Assert.True(result.Passed, result.Reason);
    }

    [Fact]
    public async Task Exceptions_of_the_candidate_are_raised_in_the_tests()
    {
        var result = await Check("def f(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x\n",
            "try:\n    candidate(-1)\n    assert False\nexcept ValueError as e:\n    assert str(e) == 'negative'\nassert candidate(2) == 2\n");
        Assert.True(result.Passed, result.Reason);
    }

    [Fact]
    public async Task Prompt_helpers_come_from_the_trusted_prompt()
    {
        // HumanEval 32/38/50 call helpers defined in the prompt; a candidate redefining them does not change the tests.
        var prompt = "def encode(s):\n    return s[::-1]\n\ndef decode(s):\n    \"\"\" Inverse of encode. \"\"\"\n";
        var result = await fixture.Sandbox.RunAsync(new SandboxJob(prompt + "    return s[::-1]\n\ndef encode(s):\n    return s\n",
            new CheckFunctionTest(prompt, "def check(candidate):\n    assert candidate(encode('abc')) == 'abc'\n", "decode")));
        Assert.True(result.Passed, result.Reason);
    }

    [Fact]
    public async Task Results_files_are_private()
    {
        var folder = Path.Combine(Path.GetTempPath(), "ancoder-results-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (var journal = ResultsJournal.Open(Path.Combine(folder, "results.jsonl"), resume: false))
                journal.Append(new SampleResult("HumanEval/0", 0, Verdict.Passed, "passed", true, 1, "    return 1\n"));
            ResultsJournal.WritePrivate(Path.Combine(folder, "summary.json"), "{}");
            using (ResultsJournal.Open(Path.Combine(folder, "results.jsonl"), resume: true)) { }
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, "results.jsonl")));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, "summary.json")));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
