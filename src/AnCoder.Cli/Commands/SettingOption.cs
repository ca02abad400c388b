using System.CommandLine;
using AnCoder.Anchoring.Settings;

namespace AnCoder.Cli.Commands;

/// <summary>A flag whose values are a settings enum, spelled as in config files (<see cref="SettingNames"/>).</summary>
internal static class SettingOption
{
    public static Option<T> Create<T>(string name, string description, T defaultValue) where T : struct, Enum => new(name)
    {
        Description = $"{description} {SettingNames.Choices<T>()} (default {SettingNames.Name(defaultValue)}).",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (SettingNames.TryParse<T>(text, out var value)) return value;
            result.AddError($"{name} '{text}' is not one of {SettingNames.Choices<T>()}");
            return defaultValue;
        },
    };
}
