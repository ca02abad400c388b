using AnCoder.Anchoring.Shards;
using AnCoder.Diffusion.Configuration;
using AnCoder.Diffusion.Losses;
using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Schedules;
using AnCoder.Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Tests.Losses;

/// <summary>The left-to-right (suffix) forward process of docs/recipe.md §10.</summary>
[Collection(TorchCollection.Name)]
public sealed class LeftToRightProcessTests
{
    private const int Eos = 0, MaskId = 1;

    // Positions 0–1 are the prompt, 2–3 the completion, 4 its end-of-text, 5–7 the end-of-text filling the row.
    private static readonly bool[] Loss = [false, false, true, true, true, true, true, true];
    private static readonly long[] Ids = [7, 8, 5, 6, Eos, Eos, Eos, Eos];

    [Theory]
    [InlineData(0.0, 1, 2, new[] { 2 }, 3.0)]
    [InlineData(0.34, 1, 3, new[] { 3 }, 3.0)]       // ⌊0.34·3⌋ = 1
    [InlineData(0.99, 1, 4, new[] { 4 }, 3.0)]       // the cut never falls in the filling after the first end-of-text
    [InlineData(0.0, 2, 2, new[] { 2, 3 }, 1.5)]
    [InlineData(0.7, 3, 4, new[] { 4, 5, 6 }, 1.0)]  // counted positions may run into the filling
    public void Plan_cuts_among_the_completion_and_its_first_end_of_text(double u, int block, int cut, int[] counted, double coefficient)
    {
        var plan = LeftToRightProcess.PlanRow(Loss, Ids, Eos, block, u)!.Value;
        Assert.Equal(cut, plan.Cut);
        Assert.Equal(3, plan.Candidates);
        Assert.Equal(counted, plan.Counted);
        Assert.Equal(coefficient, plan.Coefficient, 12);
    }

    [Fact]
    public void Plan_without_end_of_text_uses_every_loss_position_and_a_short_tail_raises_the_coefficient()
    {
        bool[] loss = [false, true, true, true, true];
        long[] ids = [9, 5, 6, 7, 8];
        var plan = LeftToRightProcess.PlanRow(loss, ids, Eos, block: 3, u: 0.9)!.Value; // ⌊0.9·4⌋ = 3
        Assert.Equal(4, plan.Cut);
        Assert.Equal(4, plan.Candidates);
        Assert.Equal(new[] { 4 }, plan.Counted);
        Assert.Equal(4.0, plan.Coefficient, 12);
        var single = LeftToRightProcess.PlanRow([true, true], [Eos, Eos], Eos, 1, 0.5)!.Value; // the completion is empty
        Assert.Equal((0, 1), (single.Cut, single.Candidates));
        Assert.Null(LeftToRightProcess.PlanRow([false, false], [5, 6], Eos, 1, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => LeftToRightProcess.PlanRow(loss, ids, Eos, 0, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => LeftToRightProcess.PlanRow(loss, ids, Eos, 1, 1.0));
    }

    private static DiffusionBatch Batch(int rows)
    {
        int length = Loss.Length;
        var batch = new Batch(rows, length, new int[rows * length], new float[rows * length], new bool[rows * length], new bool[rows * length]);
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < length; i++)
            {
                batch.Ids[r * length + i] = (int)Ids[i] + (i < 4 ? r : 0);
                batch.Valid[r * length + i] = true;
                batch.PromptMask[r * length + i] = !Loss[i];
            }
        return DiffusionBatch.FromLoaderBatch(batch);
    }

    [Fact]
    public void Apply_masks_each_chosen_row_from_its_cut_and_leaves_the_others_as_drawn()
    {
        using var scope = NewDisposeScope();
        using var batch = Batch(rows: 6);
        var randomMasks = batch.Ids.clone();
        randomMasks[.., 3] = tensor(MaskId); // the random-mask draw the chosen rows replace
        using var generator = new Generator(11);
        using var result = LeftToRightProcess.Apply(batch, randomMasks, fraction: 0.5, block: 2, MaskId, Eos, generator);

        using var replay = new Generator(11);
        var choice = rand(6, dtype: ScalarType.Float64, generator: replay).data<double>().ToArray();
        var cuts = rand(6, dtype: ScalarType.Float64, generator: replay).data<double>().ToArray();
        var noisy = result.Noisy.data<long>().ToArray();
        var chosen = result.Chosen.data<bool>().ToArray();
        var counted = result.Counted.data<bool>().ToArray();
        var coefficient = result.Coefficient.data<float>().ToArray();
        var ids = batch.Ids.data<long>().ToArray();
        var drawn = randomMasks.data<long>().ToArray();
        int length = Loss.Length;
        Assert.Contains(true, chosen);
        Assert.Contains(false, chosen);
        for (int b = 0; b < 6; b++)
        {
            Assert.Equal(choice[b] < 0.5, chosen[b]);
            int cut = 2 + (int)Math.Floor(cuts[b] * 3);
            for (int i = 0; i < length; i++)
            {
                int k = b * length + i;
                long expected = !chosen[b] ? drawn[k] : i >= cut ? MaskId : ids[k];
                Assert.Equal(expected, noisy[k]);
                bool isCounted = chosen[b] && i >= cut && i < cut + 2;
                Assert.Equal(isCounted, counted[k]);
                Assert.Equal(isCounted ? 1.5f : 0f, coefficient[k]);
            }
        }
    }

    [Fact]
    public void Compute_with_left_to_right_rows_equals_the_same_draws_done_step_by_step_and_off_keeps_the_random_stream()
    {
        torch.manual_seed(7);
        var config = ModelPresets.Tiny with
        {
            Architecture = Architecture.Mdlm, VocabSize = 16, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 1,
            NumAttentionHeads = 2, NumKeyValueHeads = 1, MaxPositionEmbeddings = 32, MaskTokenId = MaskId, EosTokenId = Eos,
        };
        using var model = DiffusionModel.Create(config);
        using var batch = Batch(rows: 4);
        using var scope = NewDisposeScope();
        var plain = LossOptions.From(model.Config.Diffusion);
        var options = plain with { LeftToRightFraction = 1, LeftToRightBlock = 2 };

        using var generator = new Generator(5);
        var parts = DiffusionLoss.Compute(model, batch, options, generator);
        using var replay = new Generator(5);
        var t = TimeSampling.Stratified(batch.Rows, options.TimeEpsilon, replay);
        var (noisy, _) = ForwardProcess.Mask(batch.Ids, t, options.Schedule, batch.Conditioning, MaskId, replay);
        using var rows = LeftToRightProcess.Apply(batch, noisy, 1, 2, MaskId, Eos, replay);
        var output = model.Forward(rows.Noisy, null);
        var expected = DiffusionLoss.FromLogits(output.DenoiserLogits, null, batch, rows.Noisy, t, options, MaskId, rows);
        Assert.Equal(expected.DenoiserNll, parts.DenoiserNll, 5);
        Assert.True(rows.Chosen.all().item<bool>());

        // Off (the default): no extra draws, so the loss equals the paper's process on the same generator seed.
        using var first = new Generator(9);
        using var second = new Generator(9);
        var off = DiffusionLoss.Compute(model, batch, plain, first);
        double validation = DiffusionLoss.ValidationNelbo(model, batch, plain.Schedule, second);
        Assert.Equal(validation, off.DenoiserNll, 5);
        Assert.NotEqual(off.DenoiserNll, parts.DenoiserNll, 3);
    }

    [Fact]
    public void Training_config_validates_the_left_to_right_settings()
    {
        var config = new TrainingConfig { Data = "d", Output = "o", MaxSteps = 1 };
        Assert.Empty(config.Validate());
        Assert.Empty((config with { LeftToRightFraction = 0.5, LeftToRightBlock = 4 }).Validate());
        Assert.Contains((config with { LeftToRightFraction = 1.5 }).Validate(), p => p.Contains("left_to_right_fraction must be in [0, 1]"));
        Assert.Contains((config with { LeftToRightBlock = 0 }).Validate(), p => p.Contains("left_to_right_block must be >= 1"));
        Assert.Contains((config with { LeftToRightFraction = 0.5, Objective = Objective.Ar }).Validate(), p => p.Contains("not to objective 'ar'"));
        Assert.Contains(TorchEngine.UnsupportedSettings(config with { LeftToRightFraction = 0.5 }), s => s.StartsWith("left_to_right_fraction"));
        var settings = TrainingRun.Settings(config with { LeftToRightFraction = 0.25, LeftToRightBlock = 3 });
        var options = LossOptions.From(settings);
        Assert.Equal(0.25, options.LeftToRightFraction);
        Assert.Equal(3, options.LeftToRightBlock);
        Assert.Contains("left_to_right_fraction", (new DiffusionSettings { LeftToRightFraction = -0.1 }).Validate()[0]);
    }
}
