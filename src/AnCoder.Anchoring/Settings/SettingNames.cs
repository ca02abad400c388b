using System.Text.Json;
using System.Text.Json.Serialization;

namespace AnCoder.Anchoring.Settings;

/// <summary>
/// How a setting's enum value is spelled in config files, metrics and on the command line: the member name in lower
/// case (<c>AnchorTree</c> → <c>anchortree</c>, <c>Md4Cosine</c> → <c>md4cosine</c>, <c>Bf16</c> → <c>bf16</c>), the
/// strings the files have always held. Adding a member to a settings enum is all it takes to accept a new value.
/// </summary>
public static class SettingNames
{
    public static string Name<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();

    /// <summary>Every accepted spelling, in declaration order.</summary>
    public static IReadOnlyList<string> All<T>() where T : struct, Enum => Enum.GetValues<T>().Select(Name).ToArray();

    /// <summary>"a, b or c": the accepted values for help texts and messages.</summary>
    public static string Choices<T>() where T : struct, Enum
    {
        var names = All<T>();
        return names.Count == 1 ? names[0] : string.Join(", ", names.Take(names.Count - 1)) + " or " + names[^1];
    }

    /// <summary>The member spelled <paramref name="text"/> (case-insensitive); numbers are not accepted.</summary>
    public static bool TryParse<T>(string? text, out T value) where T : struct, Enum
    {
        foreach (var candidate in Enum.GetValues<T>())
        {
            if (string.Equals(Name(candidate), text?.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                value = candidate;
                return true;
            }
        }
        value = default;
        return false;
    }

    /// <summary>Parses or throws a <see cref="FormatException"/> "WHAT 'x' is not one of a, b or c".</summary>
    public static T Parse<T>(string? text, string what) where T : struct, Enum =>
        TryParse<T>(text, out var value) ? value : throw new FormatException($"{what} '{text}' is not one of {Choices<T>()}");
}

/// <summary>Reads and writes every enum as its <see cref="SettingNames"/> spelling; an unknown string is a
/// <see cref="JsonException"/> that lists the accepted values.</summary>
public sealed class SettingEnumConverter : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) => typeToConvert.IsEnum;

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(Converter<>).MakeGenericType(typeToConvert))!;

    private sealed class Converter<T> : JsonConverter<T> where T : struct, Enum
    {
        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            string? text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            if (SettingNames.TryParse<T>(text, out var value)) return value;
            string found = reader.TokenType == JsonTokenType.String ? $"'{text}'" : reader.TokenType.ToString().ToLowerInvariant();
            throw new JsonException($"{found} is not one of {SettingNames.Choices<T>()}");
        }

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(SettingNames.Name(value));

        public override T ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            SettingNames.Parse<T>(reader.GetString(), typeof(T).Name);

        public override void WriteAsPropertyName(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
            writer.WritePropertyName(SettingNames.Name(value));
    }
}

/// <summary>The JSON conventions of every settings file (config.json of models, runs and experiments): snake_case
/// keys, indented, unknown keys rejected, enums as <see cref="SettingNames"/>.</summary>
public static class SettingsJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new SettingEnumConverter() },
    };

    /// <summary>Deserializes a settings file; any problem is a <see cref="FormatException"/> "SOURCE: $.path: what".</summary>
    public static T Parse<T>(string json, string source) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Options) ?? throw new FormatException($"{source}: empty config");
        }
        catch (JsonException e)
        {
            // Our converter's messages carry no location; System.Text.Json's own ones already end with the path.
            string where = e.Path is { Length: > 0 } path && !e.Message.Contains("Path: ", StringComparison.Ordinal) ? $"{path}: " : "";
            throw new FormatException($"{source}: {where}{e.Message}");
        }
    }
}

/// <summary>
/// Marks a settings property that the command line offers as a flag: <c>--flag-name VALUE</c>, spelled from the
/// property name in kebab case (<c>ContextLength</c> → <c>--context-length</c>) unless <see cref="Flag"/> names it.
/// Every other property is still reachable with <c>--set snake_key=value</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SettingAttribute(string help) : Attribute
{
    public string Help { get; } = help;
    /// <summary>The flag without dashes, e.g. "lr"; null = the kebab-case property name.</summary>
    public string? Flag { get; init; }
}
