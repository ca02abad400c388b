"""The autoregressive objective (docs/recipe.md §1), the twin of src/AnCoder.Diffusion/Losses/NextTokenLoss.cs.

L_AR = Σ_{b, i ∈ T} −log softmax(ℓ[b, i−1])[x[b, i]] / |T|: the causal logits at i−1 predict token i; T = positions
i ≥ 1 that are valid, not conditioning (SFT prompts), not the mask id, and whose input position i−1 is valid.
"""
import torch
import torch.nn.functional as F


def targets(ids, conditioning, valid, mask_id):
    """NextTokenLoss.Targets: bool [B, L−1], entry (b, i−1) true when token i of row b is a target."""
    carries_loss = valid & ~conditioning & (ids.long() != mask_id)
    return carries_loss[:, 1:] & valid[:, :-1]


def loss_sums(logits, ids, conditioning, valid, mask_id):
    """(Σ NLL over the targets, |T|): the loss is sum / max(|T|, 1); with DDP |T| is summed over all ranks first."""
    selected = targets(ids, conditioning, valid, mask_id)
    vocab = logits.shape[-1]
    predictions = logits[:, :-1].float().reshape(-1, vocab)
    index = selected.reshape(-1).nonzero().squeeze(1)
    count = int(index.numel())
    if count == 0:
        return predictions.sum() * 0, 0  # keeps the graph
    nll = F.cross_entropy(predictions.index_select(0, index), ids.long()[:, 1:].reshape(-1).index_select(0, index), reduction="sum")
    return nll, count


def loss_from_logits(logits, ids, conditioning, valid, mask_id):
    """NextTokenLoss.FromLogits: (loss, mean NLL per target, |T|)."""
    total, count = loss_sums(logits, ids, conditioning, valid, mask_id)
    loss = total / max(count, 1)
    return loss, float(total) / max(count, 1), count
