using AnCoder.Diffusion.Model;
using AnCoder.Diffusion.Schedules;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Losses;

/// <summary>
/// The continuous-time NELBO (MDLM) and the anchored ANELBO (docs/algorithms.md §5):
/// loss = Σ_{b,i valid} w(t_b)·( −log x_θ^i(z_t)[x_i] + γ_i·(−log softmax(a)[b,i,x_i]) ) / #valid,
/// with SUBS making the first term 0 at visible positions, and the anchor term on every valid position (default) or
/// on masked ones only. Valid = not padding, not conditioning.
/// </summary>
public static class DiffusionLoss
{
    /// <summary>
    /// Draws stratified t, masks the batch, runs the model (padding hidden from attention) and returns the loss
    /// parts. Everything but the returned <see cref="LossParts.Loss"/> is freed.
    /// </summary>
    public static LossParts Compute(DiffusionModel model, DiffusionBatch batch, LossOptions options, Generator? generator = null)
    {
        using var scope = NewDisposeScope();
        int maskId = model.Config.MaskTokenId;
        var t = TimeSampling.Stratified(batch.Rows, options.TimeEpsilon, generator);
        var (noisy, _) = ForwardProcess.Mask(batch.Ids, t, options.Schedule, batch.Conditioning, maskId, generator);
        // Drawn only when the left-to-right rows are on, so that a run without them keeps its exact random stream.
        var leftToRight = options.LeftToRightFraction > 0
            ? LeftToRightProcess.Apply(batch, noisy, options.LeftToRightFraction, options.LeftToRightBlock, maskId, model.Config.EosTokenId, generator)
            : null;
        noisy = leftToRight?.Noisy ?? noisy;
        var output = model.Forward(noisy, KeyMask(batch));
        var parts = FromLogits(output.DenoiserLogits, output.AnchorLogits, batch, noisy, t, options, maskId, leftToRight);
        parts.Loss.MoveToOuterDisposeScope();
        return parts;
    }

    /// <summary>
    /// The plain denoiser NELBO (no anchor term) per valid token, without gradients: the validation loss, comparable
    /// across strategies. Times are stratified with the model's <c>time_epsilon</c>.
    /// </summary>
    public static double ValidationNelbo(DiffusionModel model, DiffusionBatch batch, INoiseSchedule schedule, Generator? generator = null)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int maskId = model.Config.MaskTokenId;
        var t = TimeSampling.Stratified(batch.Rows, model.Config.Diffusion.TimeEpsilon, generator);
        var (noisy, _) = ForwardProcess.Mask(batch.Ids, t, schedule, batch.Conditioning, maskId, generator);
        var output = model.Forward(noisy, KeyMask(batch));
        var options = new LossOptions { Schedule = schedule, AnchorScale = 0 };
        return FromLogits(output.DenoiserLogits, null, batch, noisy, t, options, maskId).DenoiserNll;
    }

    /// <summary>
    /// The loss from given raw logits (fp32 [B, L, V], before SUBS), z_t [B, L] and t [B]: the math of
    /// <see cref="Compute"/> without the sampling and the network. <paramref name="anchorLogits"/> null (MDLM) means
    /// no anchor term. Positions whose clean token is the mask id itself are left out (they cannot be predicted).
    /// In the rows <paramref name="leftToRight"/> chose, the denoiser term counts its positions with its coefficients
    /// instead of every masked position with w(t), and the anchor term has weight 1 (those rows have no t); the denominator stays the batch's valid loss positions (docs/recipe.md §10).
    /// </summary>
    public static LossParts FromLogits(Tensor denoiserLogits, Tensor? anchorLogits, DiffusionBatch batch, Tensor noisyIds,
        Tensor t, LossOptions options, int maskId, LeftToRightRows? leftToRight = null)
    {
        using var scope = NewDisposeScope();
        var ids = batch.Ids.to(ScalarType.Int64);
        var lossPositions = batch.LossPositions().logical_and_(ids.ne(maskId));
        var maskedPositions = lossPositions.logical_and(noisyIds.eq(maskId));
        long validTokens = lossPositions.sum().item<long>();
        long maskedTokens = maskedPositions.sum().item<long>();
        double denominator = Math.Max(validTokens, 1);
        var weight = options.Schedule.Weight(t.to(ScalarType.Float32)).unsqueeze(1).expand(ids.shape); // w(t_b) [B, L]
        var denoiserPositions = maskedPositions;
        var denoiserWeight = weight;
        if (leftToRight is not null)
        {
            var chosen = leftToRight.Chosen.unsqueeze(1);
            denoiserPositions = where(chosen, leftToRight.Counted.logical_and(lossPositions), maskedPositions);
            denoiserWeight = where(chosen, leftToRight.Coefficient, weight);
            weight = where(chosen, ones_like(weight), weight);
        }

        // SUBS (§3): at visible positions z_t[i] = x_i has log-probability 0, so only masked positions contribute:
        // −log softmax(ℓ with the mask column at −1e6)[x_i].
        var denoiserSum = WeightedNllSum(denoiserLogits, ids, denoiserPositions, denoiserWeight, maskId);
        var loss = denoiserSum / denominator;

        double anchorNll = 0;
        if (anchorLogits is not null && options.AnchorScale != 0)
        {
            var gamma = batch.AnchorWeights.to(ScalarType.Float32) * options.AnchorScale;
            var covered = (options.AnchorLossOnMaskedOnly ? maskedPositions : lossPositions).logical_and(gamma.ne(0));
            if (covered.any().item<bool>())
            {
                var anchorSum = WeightedNllSum(anchorLogits, ids, covered, weight * gamma, excludedColumn: null);
                loss = loss + anchorSum / denominator;
                anchorNll = anchorSum.item<float>() / denominator;
            }
        }
        return new LossParts(loss.MoveToOuterDisposeScope(), denoiserSum.item<float>() / denominator, anchorNll,
            validTokens, maskedTokens);
    }

    /// <summary>
    /// Σ over <paramref name="selected"/> positions of coefficient · (−log softmax(logits)[target]), fp32 scalar, with
    /// <paramref name="excludedColumn"/> (the mask id) set to −1e6 first. Only the selected rows of the [B, L, V]
    /// logits are normalised: the log-softmax over V dominates the loss's cost, and typically half the positions
    /// (denoiser: masked ones) or fewer (anchor: γ ≠ 0) count.
    /// </summary>
    private static Tensor WeightedNllSum(Tensor logits, Tensor targets, Tensor selected, Tensor coefficient, int? excludedColumn)
    {
        long vocabulary = logits.shape[^1];
        var flatLogits = logits.to(ScalarType.Float32).reshape(-1, vocabulary);
        var index = selected.reshape(-1).nonzero().squeeze(1);
        long count = index.shape[0];
        if (count == 0) return flatLogits.sum() * 0; // keeps the graph: backward still works on an empty selection
        Tensor rows;
        if (count == flatLogits.shape[0])
        {
            rows = excludedColumn is int column ? flatLogits.index_fill(1, tensor(new long[] { column }), Subs.NegativeInfinity) : flatLogits;
        }
        else
        {
            rows = flatLogits.index_select(0, index);
            if (excludedColumn is int column) rows.index_fill_(1, tensor(new long[] { column }), Subs.NegativeInfinity); // a fresh copy: safe in place
        }
        var nll = nn.functional.cross_entropy(rows, targets.reshape(-1).index_select(0, index), reduction: nn.Reduction.None);
        return nll.mul(coefficient.reshape(-1).index_select(0, index)).sum();
    }

    /// <summary>Attention key mask: hide padding; null (no mask, faster attention) when nothing is padded.</summary>
    public static Tensor? KeyMask(DiffusionBatch batch)
    {
        if (batch.Valid.all().item<bool>()) return null;
        // A row without any valid key would give NaN attention; let such rows attend everywhere (they carry no loss).
        var emptyRows = batch.Valid.any(1, keepdim: true).logical_not();
        return batch.Valid.logical_or(emptyRows);
    }
}
