using System.CommandLine;
using AnCoder.Diffusion.Checkpoints;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Runtime;
using Spectre.Console;
using static TorchSharp.torch;

namespace AnCoder.Cli.Commands;

/// <summary>
/// <c>ancoder import-qwen --from HF_DIR --out DIR [--denoiser-layers N] [--dtype fp32|bf16] ...</c>: builds the paper's
/// model from a Hugging Face <c>Qwen2ForCausalLM</c> folder (docs/algorithms.md §4: all layers → φ, layers 0..N_d−1 → ψ,
/// the embedding → E_φ and E_ψ) and saves it as our checkpoint folder.
/// </summary>
public static class ImportQwenCommand
{
    public static Command Create()
    {
        var from = new Option<string>("--from") { Description = "Hugging Face Qwen2ForCausalLM folder: config.json + model.safetensors (or model.safetensors.index.json + shards).", Required = true };
        var output = new Option<string>("--out") { Description = "Checkpoint folder to write (config.json, model.safetensors, tokenizer files); replaced atomically if it exists.", Required = true };
        var denoiserLayers = new Option<int?>("--denoiser-layers") { Description = "ψ's depth N_d: Qwen layers 0..N_d−1 initialise ψ. Default: half of Qwen's layers (12 of 24, the paper's)." };
        var dtype = new Option<string>("--dtype") { Description = "Weights dtype: fp32 (default; bf16 widened exactly) or bf16 (half the memory and file size).", DefaultValueFactory = _ => "fp32" };
        dtype.AcceptOnlyFromAmong("fp32", "bf16");
        var architecture = new Option<string>("--architecture") { Description = "anchored (φ + ψ, default) or mdlm (one network with all of Qwen's layers).", DefaultValueFactory = _ => "anchored" };
        architecture.AcceptOnlyFromAmong("anchored", "mdlm");
        var maskId = new Option<int?>("--mask-id") { Description = "Mask token id: an unused row of Qwen's embedding. Default: config.json's mask_token_id (our AR models write it), else 151665 (Qwen2.5's)." };
        var denoiserInput = SettingOption.Create("--denoiser-input", "How ψ reads φ's logits a: softmax(a)·E_ψ, a·E_ψ, a fresh Linear(V, d), or softmaxembed = softmax(a)·E_ψ + E_ψ[z_t] (our variant, docs/recipe.md §3):", DenoiserInput.Softmax);
        var shift = new Option<bool>("--shift") { Description = "Dream-style right shift: position i predicts from i−1's logits (for autoregressive initialisations)." };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer file or folder to copy into the checkpoint. Default: the tokenizer files of --from." };

        var command = new Command("import-qwen", "Build the anchored (or MDLM) diffusion model from a Hugging Face Qwen2 checkpoint and save it as an AnCoder checkpoint folder.");
        foreach (var option in new Option[] { from, output, denoiserLayers, dtype, architecture, maskId, denoiserInput, shift, tokenizer }) command.Options.Add(option);
        command.SetAction(parse =>
        {
            var options = new Qwen2ImportOptions
            {
                Architecture = parse.GetValue(architecture) == "mdlm" ? Architecture.Mdlm : Architecture.Anchored,
                DenoiserLayers = parse.GetValue(denoiserLayers),
                MaskTokenId = parse.GetValue(maskId),
                ParameterType = parse.GetValue(dtype) == "bf16" ? ScalarType.BFloat16 : ScalarType.Float32,
                DenoiserInput = parse.GetValue(denoiserInput),
                Shift = parse.GetValue(shift),
            };
            string source = parse.GetValue(from)!;
            return Run(source, parse.GetValue(output)!, parse.GetValue(tokenizer) ?? source, options);
        });
        return command;
    }

    private static int Run(string source, string output, string tokenizer, Qwen2ImportOptions options)
    {
        try
        {
            TorchRuntime.Initialize();
        }
        catch (TorchUnavailableException e)
        {
            Console.Error.WriteLine($"ancoder import-qwen: {e.Message}");
            return 1;
        }
        try
        {
            ModelCheckpoint.TokenizerFiles(tokenizer); // fail before the long import when the tokenizer is missing
            DiffusionModel? model = null;
            AnsiConsole.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(context =>
                {
                    var copying = context.AddTask("reading Qwen weights");
                    var saving = context.AddTask("saving checkpoint", autoStart: false, maxValue: 1);
                    var progress = new DirectProgress<(int Done, int Total)>(report =>
                    {
                        copying.MaxValue = report.Total;
                        copying.Value = report.Done;
                    });
                    model = Qwen2Import.FromHuggingFace(source, options with { Progress = progress });
                    copying.StopTask();
                    saving.StartTask();
                    ModelCheckpoint.Save(model, output, tokenizer);
                    saving.Value = 1;
                });
            using (model)
            {
                var config = model!.Config;
                string layout = config.Architecture == Architecture.Anchored
                    ? $"φ {config.NumHiddenLayers} layers + ψ {config.DenoiserLayers} layers"
                    : $"{config.NumHiddenLayers} layers";
                Console.WriteLine($"wrote {output}: {config.Architecture.ToString().ToLowerInvariant()} model, {layout}, " +
                    $"{model.ParameterCount():N0} parameters ({options.ParameterType}), mask id {config.MaskTokenId}");
            }
            return 0;
        }
        catch (Exception e) when (e is CheckpointException or ConfigException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"ancoder import-qwen: {e.Message}");
            return 2;
        }
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class DirectProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
