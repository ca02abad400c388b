using AnCoder.Anchoring.Shards;
using AnCoder.Anchoring.Settings;
using AnCoder.Anchoring.Labels;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Training;

namespace AnCoder.Diffusion.Tests.Training;

public sealed class TrainingConfigTests
{
    private static readonly TrainingConfig Good = new() { Data = "data", Output = "run", MaxSteps = 10 };

    [Fact]
    public void Defaults_follow_the_paper()
    {
        Assert.Empty(Good.Validate());
        Assert.Equal(3e-4, Good.LearningRate);
        Assert.Equal(0.01, Good.WarmupRatio);
        Assert.Equal((0.9, 0.999, 1e-8), (Good.Beta1, Good.Beta2, Good.AdamEpsilon));
        Assert.Equal(1.0, Good.GradClip);
        Assert.Equal(0.0, Good.WeightDecay);
        var weights = Good.AnchorWeights;
        Assert.Equal((0.03, 0.8, 2), (weights.Lambda, weights.Rho, weights.D0));
        Assert.Equal((0.1, 1.0, 0), ((Good with { Strategy = AnchorStrategy.Keyword }).AnchorWeights.Lambda, (Good with { Strategy = AnchorStrategy.Keyword }).AnchorWeights.Rho, 0));
        Assert.Equal(0.5, (Good with { AnchorRho = 0.5 }).AnchorWeights.Rho);
    }

    [Theory]
    [InlineData("micro_batch", "{\"micro_batch\": 0}")]
    [InlineData("strategy", "{\"strategy\": \"anchors\"}")]
    [InlineData("precision", "{\"precision\": \"fp16\"}")]
    [InlineData("warmup_ratio", "{\"warmup_ratio\": 1.5}")]
    [InlineData("anchor_rho", "{\"anchor_rho\": 0}")]
    [InlineData("model", "{\"model\": \"huge\"}")]
    [InlineData("max_steps or max_tokens", "{\"max_steps\": null}")]
    [InlineData("init and init_qwen", "{\"init\": \"a\", \"init_qwen\": \"b\"}")]
    public void Validation_errors_name_the_field(string field, string patch)
    {
        var patched = Merge(Good.ToJson(), patch);
        var error = Assert.Throws<ConfigException>(() => TrainingConfig.FromJson(patched, "my.json").Validated("my.json"));
        Assert.StartsWith("my.json: ", error.Message);
        Assert.Contains(field, error.Message);
    }

    [Fact]
    public void Unknown_or_mistyped_fields_are_named()
    {
        var unknown = Assert.Throws<ConfigException>(() => TrainingConfig.FromJson("{\"learning_rat\": 1}", "cfg.json"));
        Assert.Contains("learning_rat", unknown.Message);
        var mistyped = Assert.Throws<ConfigException>(() => TrainingConfig.FromJson("{\"micro_batch\": \"eight\"}", "cfg.json"));
        Assert.Contains("micro_batch", mistyped.Message);
    }

    [Fact]
    public void Json_round_trips_and_tokens_set_the_step_count()
    {
        var config = Good with { MaxSteps = null, MaxTokens = 10_000, MicroBatch = 4, GradientAccumulation = 2, ContextLength = 128 };
        Assert.Equal(config, TrainingConfig.FromJson(config.ToJson()));
        Assert.Contains("\"gradient_accumulation\": 2", config.ToJson());
        Assert.Equal(10, config.TotalSteps); // ⌈10000 / 1024⌉
    }

    [Fact]
    public void Overrides_parse_like_the_config_file_and_keep_the_on_disk_names()
    {
        var config = SettingOverrides.Apply(Good, [("strategy", "mdlm"), ("max_steps", "3"), ("beta2", "0.98"), ("packing", "truncate"),
            ("precision", "BF16"), ("ema_decay", "0.999"), ("anchor_lambda", "0.1"), ("anchor_lambda", "null")]);
        Assert.Equal((AnchorStrategy.Mdlm, 3L, 0.98, PackingMode.Truncate, Precision.Bf16, 0.999, (double?)null),
            (config.Strategy, config.MaxSteps!.Value, config.Beta2, config.Packing, config.Precision, config.EmaDecay!.Value, config.AnchorLambda));
        string json = config.ToJson();
        foreach (var line in new[] { "\"strategy\": \"mdlm\"", "\"packing\": \"truncate\"", "\"precision\": \"bf16\"", "\"schedule\": \"cosine2\"", "\"anchor_loss_on\": \"all\"" })
            Assert.Contains(line, json);
        Assert.Equal(config, TrainingConfig.FromJson(json));
    }

    [Fact]
    public void Every_flagged_setting_has_a_unique_flag_and_help()
    {
        var flagged = SettingOverrides.Describe<TrainingConfig>().Where(s => s.Help is not null).ToList();
        Assert.Equal(flagged.Count, flagged.Select(s => s.Flag).Distinct().Count());
        Assert.Contains(flagged, s => s.Key == "learning_rate" && s.Flag == "lr");
        Assert.Contains(flagged, s => s.Key == "micro_batch" && s.Flag == "micro-batch");
    }

    private static string Merge(string json, string patch)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        foreach (var (key, value) in System.Text.Json.Nodes.JsonNode.Parse(patch)!.AsObject())
            node[key] = value?.DeepClone();
        return node.ToJsonString();
    }

    [Fact]
    public void Sft_is_one_switch_and_excludes_other_packings()
    {
        Assert.Empty((Good with { Sft = true }).Validate());
        Assert.Contains((Good with { Sft = true, Packing = PackingMode.Truncate }).Validate(), p => p.Contains("does not apply with sft"));
        Assert.Contains((Good with { Packing = PackingMode.Sft }).Validate(), p => p.Contains("--sft"));
        var parsed = TrainingConfig.FromJson("{\"sft\": true, \"data\": \"d\", \"output\": \"o\", \"max_steps\": 1}");
        Assert.True(parsed.Sft);
        Assert.Empty(parsed.Validate());
    }
}
