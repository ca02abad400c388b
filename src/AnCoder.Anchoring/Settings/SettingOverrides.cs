using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AnCoder.Anchoring.Settings;

/// <summary>One settable property of a settings record: its JSON key (dotted for nested records), CLI flag and help.</summary>
public sealed record SettingInfo(string Key, string Flag, string? Help, Type Type, PropertyInfo Property);

/// <summary>
/// Applies <c>key=value</c> overrides to a settings record through its JSON form, so the command line parses values
/// exactly as config files do (same enum names, same validation, same messages). Keys are the snake_case JSON keys
/// (<c>learning_rate</c>, <c>training.max_steps</c>).
/// </summary>
public static class SettingOverrides
{
    /// <summary>Every settable property of <typeparamref name="T"/>, nested records flattened with dotted keys.</summary>
    public static IReadOnlyList<SettingInfo> Describe<T>() => Describe(typeof(T), "");

    private static List<SettingInfo> Describe(Type type, string prefix)
    {
        var result = new List<SettingInfo>();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!property.CanWrite || property.GetCustomAttribute<System.Text.Json.Serialization.JsonIgnoreAttribute>() is not null) continue;
            string key = prefix + JsonNamingPolicy.SnakeCaseLower.ConvertName(property.Name);
            if (IsNestedSettings(property.PropertyType))
            {
                result.AddRange(Describe(property.PropertyType, key + "."));
                continue;
            }
            var setting = property.GetCustomAttribute<SettingAttribute>();
            string flag = setting?.Flag ?? JsonNamingPolicy.KebabCaseLower.ConvertName(property.Name);
            result.Add(new SettingInfo(key, flag, setting?.Help, property.PropertyType, property));
        }
        return result;
    }

    private static bool IsNestedSettings(Type type) =>
        type.IsClass && type != typeof(string) && !type.IsArray && type.Namespace?.StartsWith("AnCoder", StringComparison.Ordinal) == true;

    /// <summary>Parses "key=value" (the form of <c>--set</c>).</summary>
    public static (string Key, string Value) ParseAssignment(string text)
    {
        int equals = text.IndexOf('=');
        if (equals <= 0) throw new FormatException($"--set {text}: expected key=value, e.g. --set learning_rate=1e-4");
        return (text[..equals].Trim(), text[(equals + 1)..].Trim());
    }

    /// <summary>
    /// <paramref name="settings"/> with the overrides applied in order. An unknown key or a value of the wrong type is a
    /// <see cref="FormatException"/> naming the key and the accepted values.
    /// </summary>
    public static T Apply<T>(T settings, IEnumerable<(string Key, string Value)> overrides) where T : class
    {
        var known = Describe<T>().ToDictionary(s => s.Key);
        var root = JsonSerializer.SerializeToNode(settings, SettingsJson.Options)!.AsObject();
        foreach (var (key, value) in overrides)
        {
            if (!known.TryGetValue(key, out var info))
                throw new FormatException($"unknown setting '{key}' (known: {string.Join(", ", known.Keys)})");
            var parent = root;
            var path = key.Split('.');
            foreach (var part in path[..^1]) parent = (parent[part] ??= new JsonObject()).AsObject();
            parent[path[^1]] = ToNode(info, value);
        }
        return SettingsJson.Parse<T>(root.ToJsonString(), "command line");
    }

    private static JsonNode? ToNode(SettingInfo info, string text)
    {
        var type = Nullable.GetUnderlyingType(info.Type) ?? info.Type;
        bool nullable = Nullable.GetUnderlyingType(info.Type) is not null || !info.Type.IsValueType;
        if (nullable && text is "null" or "none" or "") return null;
        if (type.IsArray)
            return new JsonArray(text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(item => ToNode(info with { Type = type.GetElementType()! }, item)).ToArray());
        if (type.IsEnum)
        {
            var names = Enum.GetNames(type).Select(n => n.ToLowerInvariant()).ToArray();
            return names.Contains(text.ToLowerInvariant()) ? JsonValue.Create(text)
                : throw new FormatException($"{info.Key}: '{text}' is not one of {string.Join(", ", names)}");
        }
        if (type == typeof(string)) return JsonValue.Create(text);
        if (type == typeof(bool))
            return bool.TryParse(text, out bool flag) ? JsonValue.Create(flag) : throw new FormatException($"{info.Key}: '{text}' is not true or false");
        if (type == typeof(int) || type == typeof(long))
            return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long integer)
                ? JsonValue.Create(integer) : throw new FormatException($"{info.Key}: '{text}' is not an integer");
        if (type == typeof(double))
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double number)
                ? JsonValue.Create(number) : throw new FormatException($"{info.Key}: '{text}' is not a number");
        return JsonNode.Parse(text); // anything else: JSON as written (e.g. [{"rho": 0.8, "d0": 2}])
    }
}
