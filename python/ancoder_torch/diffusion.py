"""Forward process, schedules, SUBS and the (A)NELBO: docs/algorithms.md §1–3, §5, as src/AnCoder.Diffusion/Losses.

Each function is the twin of a C# one (named in its docstring); the parity tests feed both the same weights, batch,
t and masks and compare loss and gradients.
"""
import math

import torch
import torch.nn.functional as F

SUBS_NEGATIVE_INFINITY = -1e6  # Subs.NegativeInfinity: a finite −∞ (no NaN gradients, no 0·∞)


def mask_probability(name, eps, t):
    """1 − α(t) without cancellation (NoiseSchedules.cs), t float64."""
    if name == "cosine2":
        return (1 - eps) * torch.sin(t * (math.pi / 2)) ** 2
    if name == "cosine":
        return 2 * (1 - eps) * torch.sin(t * (math.pi / 4)) ** 2
    if name == "md4cosine":
        return torch.sin(t * (math.pi / 2)) * (1 - 2 * eps) + eps
    if name == "loglinear":
        return t * (1 - eps)
    raise ValueError(f"unknown noise schedule '{name}'")


def alpha(name, eps, t):
    """α(t) (NoiseSchedules.cs), t float64."""
    if name == "cosine2":
        return torch.cos(t * (math.pi / 2)) ** 2 * (1 - eps) + eps
    if name == "cosine":
        return torch.cos(t * (math.pi / 2)) * (1 - eps) + eps
    if name == "md4cosine":
        return (1 - torch.sin(t * (math.pi / 2))) * (1 - 2 * eps) + eps
    if name == "loglinear":
        return 1 - t * (1 - eps)
    raise ValueError(f"unknown noise schedule '{name}'")


def alpha_derivative(name, eps, t):
    if name == "cosine2":
        return torch.sin(t * math.pi) * (-(1 - eps) * (math.pi / 2))
    if name == "cosine":
        return torch.sin(t * (math.pi / 2)) * (-(1 - eps) * (math.pi / 2))
    if name == "md4cosine":
        return torch.cos(t * (math.pi / 2)) * (-(1 - 2 * eps) * (math.pi / 2))
    if name == "loglinear":
        return torch.full_like(t, -(1 - eps))
    raise ValueError(f"unknown noise schedule '{name}'")


def weight(name, eps, t):
    """w(t) = −α'(t) / (1 − α(t)), computed in float64, returned in t's dtype (NoiseSchedule.Weight)."""
    t64 = t.double()
    return (-alpha_derivative(name, eps, t64) / mask_probability(name, eps, t64)).to(t.dtype)


LARGEST_FLOAT_BELOW_ONE = float(torch.nextafter(torch.tensor(1.0), torch.tensor(0.0)))


def stratified_times(batch, time_eps, generator=None):
    """TimeSampling.Stratified: t_b = ε + (1 − ε)·(u_b + b)/B, u_b ~ U[0, 1) in float64, fp32 result < 1."""
    u = torch.rand(batch, dtype=torch.float64, generator=generator)
    e = (u + torch.arange(batch, dtype=torch.float64)) / batch
    return (e * (1 - time_eps) + time_eps).float().clamp_max(LARGEST_FLOAT_BELOW_ONE)


def forward_mask(ids, t, schedule, eps, conditioning, mask_id, generator=None):
    """ForwardProcess.Mask: each non-conditioning position masked with probability 1 − α(t_b) (float64 draws)."""
    draws = torch.rand(ids.shape, dtype=torch.float64, generator=generator)
    return mask_with_draws(ids, t, draws, schedule, eps, conditioning, mask_id)


def mask_with_draws(ids, t, draws, schedule, eps, conditioning, mask_id):
    """z_t from given uniform draws [B, L]: masked where draw < 1 − α(t_b), never on conditioning positions."""
    probability = (1 - alpha(schedule, eps, t.double())).unsqueeze(1)
    masked = (draws < probability) & ~conditioning
    return ids.masked_fill(masked, mask_id), masked


def key_mask(valid):
    """DiffusionLoss.KeyMask: hide padding; None when nothing is padded; rows with no valid key attend everywhere."""
    if bool(valid.all()):
        return None
    empty_rows = ~valid.any(1, keepdim=True)
    return valid | empty_rows


def warmup_scale(lam, step, max_steps):
    """LossOptions.WarmupScale: min(λ, step/max_steps)/λ; 1 when undefined."""
    if lam <= 0 or max_steps <= 0:
        return 1.0
    return min(lam, max(0.0, step / max_steps)) / lam


def _weighted_nll_sum(logits, targets, selected, coefficient, excluded_column):
    """DiffusionLoss.WeightedNllSum: Σ_selected coefficient·(−log softmax(logits)[target]), mask column at −1e6."""
    vocab = logits.shape[-1]
    flat = logits.float().reshape(-1, vocab)
    index = selected.reshape(-1).nonzero().squeeze(1)
    if index.numel() == 0:
        return flat.sum() * 0
    rows = flat.index_select(0, index)
    if excluded_column is not None:
        rows = rows.index_fill(1, torch.tensor([excluded_column], device=rows.device), SUBS_NEGATIVE_INFINITY)
    nll = F.cross_entropy(rows, targets.reshape(-1).index_select(0, index), reduction="none")
    return (nll * coefficient.reshape(-1).index_select(0, index)).sum()


def loss_sums(denoiser_logits, anchor_logits, ids, anchor_weights, conditioning, valid, noisy, t, diffusion, mask_id,
              anchor_scale=1.0):
    """
    DiffusionLoss.FromLogits without the division: (denoiser sum, anchor sum or None, valid tokens, masked tokens).
    loss = (denoiser sum + anchor sum) / max(valid tokens, 1). Dividing by a count taken over the global batch
    (all ranks) makes DDP's gradient mean equal one process's gradient.
    """
    ids = ids.long()
    loss_positions = valid & ~conditioning & (ids != mask_id)
    masked_positions = loss_positions & (noisy == mask_id)
    w = weight(diffusion["schedule"], diffusion["schedule_epsilon"], t.float()).unsqueeze(1).expand(ids.shape)
    denoiser = _weighted_nll_sum(denoiser_logits, ids, masked_positions, w, mask_id)
    anchor = None
    if anchor_logits is not None and anchor_scale != 0:
        gamma = anchor_weights.float() * anchor_scale
        region = masked_positions if diffusion["anchor_loss_on"] == "masked" else loss_positions
        covered = region & (gamma != 0)
        if bool(covered.any()):
            anchor = _weighted_nll_sum(anchor_logits, ids, covered, w * gamma, None)
    return denoiser, anchor, int(loss_positions.sum()), int(masked_positions.sum())


def loss_from_logits(denoiser_logits, anchor_logits, ids, anchor_weights, conditioning, valid, noisy, t, diffusion,
                     mask_id, anchor_scale=1.0):
    """DiffusionLoss.FromLogits: (loss, denoiser nll, anchor nll, valid tokens, masked tokens)."""
    denoiser, anchor, valid_tokens, masked_tokens = loss_sums(
        denoiser_logits, anchor_logits, ids, anchor_weights, conditioning, valid, noisy, t, diffusion, mask_id, anchor_scale)
    denominator = max(valid_tokens, 1)
    loss = denoiser / denominator
    anchor_nll = 0.0
    if anchor is not None:
        loss = loss + anchor / denominator
        anchor_nll = float(anchor) / denominator
    return loss, float(denoiser) / denominator, anchor_nll, valid_tokens, masked_tokens
