namespace AnCoder.Reporting.Plotting;

/// <summary>A user-facing problem with a run folder or its metrics (missing file, malformed line, bad option): the
/// message is one line naming the file (and line) and what was wrong; the CLI prints it and exits 2.</summary>
public sealed class PlotException(string message) : Exception(message);
