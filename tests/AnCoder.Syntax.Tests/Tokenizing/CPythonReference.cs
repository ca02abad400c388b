using System.Diagnostics;
using System.Text;
using AnCoder.Syntax.Tokenizing;

namespace AnCoder.Syntax.Tests.Tokenizing;

/// <summary>One token line of Reference/tokenize_dump.py: exact type name, positions, UTF-8 hex of the string.</summary>
public sealed record ReferenceToken(string Type, int StartLine, int StartCol, int EndLine, int EndCol, string Hex)
{
    public override string ToString() => $"{Type} {StartLine} {StartCol} {EndLine} {EndCol} {(Hex.Length == 0 ? "-" : Hex)}";
}

/// <summary>What CPython says about one file: its tokens, and for --c the C tokenizer's error and ast.parse's verdict.</summary>
public sealed class ReferenceFile
{
    public List<ReferenceToken> Tokens { get; } = new();
    public string? TokenizerError { get; set; }
    public int? TokenizerErrorLine { get; set; }
    public int? TokenizerErrorOffset { get; set; }
    public bool AstOk { get; set; }
    public string? AstMessage { get; set; }
    public int? AstLine { get; set; }
    public int? AstOffset { get; set; }
    public bool ModuleError { get; set; }
    /// <summary>With --hash: token count and SHA-1 of the token lines joined by '\n'.</summary>
    public int HashedCount { get; set; }
    public string? Hash { get; set; }
}

/// <summary>Runs python3 with Reference/tokenize_dump.py once for a batch of files.</summary>
public static class CPythonReference
{
    public static string ScriptPath => Path.Combine(AppContext.BaseDirectory, "Reference", "tokenize_dump.py");

    /// <summary>Writes each source to a temp file and returns CPython's view of each, in order.</summary>
    public static List<ReferenceFile> Run(string mode, IReadOnlyList<byte[]> sources)
    {
        string dir = Path.Combine(Path.GetTempPath(), "ancoder-tok-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var paths = new List<string>();
            for (int i = 0; i < sources.Count; i++)
            {
                string path = Path.Combine(dir, $"case{i:D4}.py");
                File.WriteAllBytes(path, sources[i]);
                paths.Add(path);
            }
            var byPath = RunOnPaths(mode, paths);
            return paths.Select(p => byPath[p]).ToList();
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>Hashed token lists (tokenize_dump.py --hash) of many files: mode "--c-stdin" or "--module-stdin".</summary>
    public static Dictionary<string, ReferenceFile> RunHashed(string mode, IReadOnlyList<string> paths)
    {
        var psi = new ProcessStartInfo("python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        psi.ArgumentList.Add(ScriptPath);
        psi.ArgumentList.Add(mode);
        psi.ArgumentList.Add("--hash");
        using var process = Process.Start(psi)!;
        process.StandardInput.Write(string.Join('\0', paths));
        process.StandardInput.Close();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return Parse(output);
    }

    /// <summary>The stdlib's .py files (site-packages excluded), as CPython's sysconfig reports the stdlib.</summary>
    public static List<string> StdlibFiles()
    {
        var psi = new ProcessStartInfo("python3", ["-c", "import sysconfig;print(sysconfig.get_paths()['stdlib'])"])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(psi)!;
        string root = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return Directory.EnumerateFiles(root, "*.py", SearchOption.AllDirectories)
            .Where(p => !p.Contains("/site-packages/") && !p.Contains("/dist-packages/"))
            .OrderBy(p => p, StringComparer.Ordinal).ToList();
    }

    /// <summary>One token in tokenize_dump.py's line format.</summary>
    public static string FormatLine(string type, int startLine, int startCol, int endLine, int endCol, ReadOnlySpan<byte> text)
        => $"{type} {startLine} {startCol} {endLine} {endCol} {(text.Length == 0 ? "-" : Convert.ToHexString(text).ToLowerInvariant())}";

    public static string Sha1(IEnumerable<string> lines) =>
        Convert.ToHexString(System.Security.Cryptography.SHA1.HashData(Encoding.UTF8.GetBytes(string.Join('\n', lines)))).ToLowerInvariant();

    public static Dictionary<string, ReferenceFile> RunOnPaths(string mode, IReadOnlyList<string> paths)
    {
        var psi = new ProcessStartInfo("python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        psi.ArgumentList.Add(ScriptPath);
        psi.ArgumentList.Add(mode == "--module" ? "--module-stdin" : mode);
        if (mode != "--module")
            foreach (var p in paths) psi.ArgumentList.Add(p);
        using var process = Process.Start(psi)!;
        if (mode == "--module")
            process.StandardInput.Write(string.Join('\0', paths));
        process.StandardInput.Close();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return Parse(output);
    }

    private static Dictionary<string, ReferenceFile> Parse(string output)
    {
        var result = new Dictionary<string, ReferenceFile>();
        ReferenceFile? current = null;
        foreach (string line in output.Split('\n'))
        {
            if (line.Length == 0) continue;
            if (line.StartsWith("# ", StringComparison.Ordinal))
            {
                current = new ReferenceFile();
                result[line[2..]] = current;
                continue;
            }
            if (current is null) continue;
            if (line.StartsWith("CERR ", StringComparison.Ordinal))
            {
                string[] parts = line.Split(' ', 4);
                current.TokenizerErrorLine = parts[1] == "None" ? null : int.Parse(parts[1]);
                current.TokenizerErrorOffset = parts[2] == "None" ? null : int.Parse(parts[2]);
                current.TokenizerError = PythonRepr.Unquote(parts[3]);
            }
            else if (line == "AST ok") current.AstOk = true;
            else if (line.StartsWith("AST err ", StringComparison.Ordinal))
            {
                string[] parts = line.Split(' ', 5);
                current.AstLine = parts[2] == "None" ? null : int.Parse(parts[2]);
                current.AstOffset = parts[3] == "None" ? null : int.Parse(parts[3]);
                current.AstMessage = PythonRepr.Unquote(parts[4]);
            }
            else if (line.StartsWith("ERR ", StringComparison.Ordinal)) current.ModuleError = true;
            else if (line.StartsWith("H ", StringComparison.Ordinal))
            {
                string[] parts = line.Split(' ');
                current.HashedCount = int.Parse(parts[1]);
                current.Hash = parts[2];
            }
            else
            {
                string[] p = line.Split(' ');
                current.Tokens.Add(new ReferenceToken(p[0], int.Parse(p[1]), int.Parse(p[2]), int.Parse(p[3]), int.Parse(p[4]),
                    p[5] == "-" ? "" : p[5]));
            }
        }
        return result;
    }

    private static readonly string[] OpNames =
    [
        "OP", "LPAR", "RPAR", "LSQB", "RSQB", "COLON", "COMMA", "SEMI", "PLUS", "MINUS", "STAR", "SLASH", "VBAR",
        "AMPER", "LESS", "GREATER", "EQUAL", "DOT", "PERCENT", "LBRACE", "RBRACE", "EQEQUAL", "NOTEQUAL", "LESSEQUAL",
        "GREATEREQUAL", "TILDE", "CIRCUMFLEX", "LEFTSHIFT", "RIGHTSHIFT", "DOUBLESTAR", "PLUSEQUAL", "MINEQUAL",
        "STAREQUAL", "SLASHEQUAL", "PERCENTEQUAL", "AMPEREQUAL", "VBAREQUAL", "CIRCUMFLEXEQUAL", "LEFTSHIFTEQUAL",
        "RIGHTSHIFTEQUAL", "DOUBLESTAREQUAL", "DOUBLESLASH", "DOUBLESLASHEQUAL", "AT", "ATEQUAL", "RARROW",
        "ELLIPSIS", "COLONEQUAL", "OP",
    ];

    /// <summary>CPython's exact type name (token.tok_name[exact_type]) of one of our tokens.</summary>
    public static string ExactTypeName(in Token token) => token.Kind switch
    {
        TokenKind.EndMarker => "ENDMARKER",
        TokenKind.Name => "NAME",
        TokenKind.Number => "NUMBER",
        TokenKind.String => "STRING",
        TokenKind.Newline => "NEWLINE",
        TokenKind.Indent => "INDENT",
        TokenKind.Dedent => "DEDENT",
        TokenKind.Op => OpNames[(int)token.Op],
        TokenKind.Comment => "COMMENT",
        TokenKind.NL => "NL",
        TokenKind.ErrorToken => "ERRORTOKEN",
        _ => "?",
    };
}

internal static class PythonRepr
{
    /// <summary>Undoes Python's repr of a str (enough for error messages: quotes, \\, \', \", \n, \t, \xNN, \uNNNN).</summary>
    public static string Unquote(string repr)
    {
        char quote = repr[0];
        var sb = new StringBuilder();
        for (int i = 1; i < repr.Length - 1; i++)
        {
            char c = repr[i];
            if (c != '\\') { sb.Append(c); continue; }
            char n = repr[++i];
            switch (n)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case 'x': sb.Append((char)Convert.ToInt32(repr.Substring(i + 1, 2), 16)); i += 2; break;
                case 'u': sb.Append((char)Convert.ToInt32(repr.Substring(i + 1, 4), 16)); i += 4; break;
                case 'U': sb.Append(char.ConvertFromUtf32(Convert.ToInt32(repr.Substring(i + 1, 8), 16))); i += 8; break;
                default: sb.Append(n); break;
            }
        }
        _ = quote;
        return sb.ToString();
    }
}
