using System.Runtime.ExceptionServices;

namespace AnCoder.Syntax.Parsing;

/// <summary>Runs recursive work on a dedicated thread with a large stack: the parser on inputs that nest too deep
/// for the caller's thread, and <see cref="Ast.CompactTree"/> building a deep tree's objects.</summary>
internal static class BigStack
{
    /// <summary>Stack of the dedicated thread (the parser nests at most 6000 rule levels; CPython accepts trees of
    /// at most 2,991 nested nodes).</summary>
    public const int Bytes = 256 * 1024 * 1024;

    /// <summary>The result of <paramref name="work"/> run on the big-stack thread; an exception it throws is rethrown
    /// here with its original stack trace.</summary>
    public static T Run<T>(Func<T> work)
    {
        T result = default!;
        ExceptionDispatchInfo? error = null;
        var thread = new Thread(() =>
        {
            try { result = work(); }
            catch (Exception e) { error = ExceptionDispatchInfo.Capture(e); }
        }, Bytes);
        thread.Start();
        thread.Join();
        error?.Throw();
        return result;
    }
}
