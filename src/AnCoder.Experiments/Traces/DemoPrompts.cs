namespace AnCoder.Experiments.Traces;

/// <summary>The prompts `ancoder demo` completes (README, "demo").</summary>
public static class DemoPrompts
{
    /// <summary>Signature + docstring of examples/find_max.py, the paper's Figure 1 example.</summary>
    public const string FindMax = "def find_max(numbers):\n    \"\"\"Return the largest number in the list numbers.\"\"\"\n";

    /// <summary>The further prompts, sampled with the demo's --order/--parallel/--repair/--guard; the last one infills.</summary>
    public static readonly IReadOnlyList<string> Others =
    [
        "def is_even(n):\n    \"\"\"Return True if n is even.\"\"\"\n",
        "class Stack:\n    def __init__(self):\n",
        "def add(a, b):\n    return <|mask:6|>\n\n\ndef sub(a, b):\n    return a - b\n",
    ];

    /// <summary>
    /// With --repair: one operator to infill, sampled <see cref="RepairSamples"/> times. A one-token gap breaks in few
    /// ways (<c>return a ( b</c>), all on one line, so even the demo's tiny model can be seen to repair it
    /// (docs/decoding.md, "Syntax repair in the trace").
    /// </summary>
    public const string RepairInfill = "def add(a, b):\n    return a <|mask:1|> b\n\n\ndef sub(a, b):\n    return a - b\n";

    public const int RepairSamples = 6;

    /// <summary>The title of the repair section's samples in the demo's trace.</summary>
    public const string RepairTitle = "infill, syntax repair";
}
