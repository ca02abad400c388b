#!/usr/bin/python3
"""PyTorch side of `ancoder bench model`: forward+backward tokens/s and peak RSS of the same model in PyTorch.

The network is tests/AnCoder.Diffusion.Tests/Model/Reference/qwen2_reference.py (the independent reference our
logits are tested against); the loss is docs/algorithms.md §5's ANELBO exactly as the C# side computes it (cosine2
schedule, stratified t, SUBS on the denoiser's masked rows, anchor term with γ = 0.03 on every position).

    /usr/bin/python3 bench/model_torch.py --config config.json --precision bf16 --bf16-mode autocast \
        --batch 8 --length 256 --steps 10 --threads 2

Precision modes: fp32; bf16 with `autocast` (fp32 master weights, CPU autocast casts per op: the equivalent of our
design) or `cast` (model.to(bfloat16): bf16 weights and grads, no fp32 master copy; the fastest PyTorch can do, but
not a trainable setup without a separate master copy). Prints one JSON line.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "AnCoder.Diffusion.Tests", "Model", "Reference"))
import qwen2_reference as reference  # noqa: E402

ANCHOR_GAMMA = 0.03
SCHEDULE_EPSILON = 1e-3
TIME_EPSILON = 1e-3


def reset_peak_rss():
    with open("/proc/self/clear_refs", "w") as f:  # "5" resets VmHWM (Linux ≥ 4.0)
        f.write("5")


def peak_rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def cosine2(t):
    """α_t = ε + (1−ε)·cos²(πt/2), w(t) = −α'_t / (1 − α_t) (docs/algorithms.md §2)."""
    alpha = SCHEDULE_EPSILON + (1 - SCHEDULE_EPSILON) * torch.cos(math.pi * t / 2) ** 2
    derivative = -(1 - SCHEDULE_EPSILON) * math.pi * torch.sin(math.pi * t / 2) * torch.cos(math.pi * t / 2)
    return alpha, -derivative / (1 - alpha)


def weighted_nll_sum(logits, targets, selected, coefficient, excluded_column):
    rows = logits.float().reshape(-1, logits.shape[-1])
    targets, coefficient = targets.reshape(-1), coefficient.reshape(-1)
    if selected is not None:  # only the selected rows are normalised (the log-softmax over V dominates the loss)
        index = selected.reshape(-1).nonzero().squeeze(1)
        rows, targets, coefficient = rows.index_select(0, index), targets.index_select(0, index), coefficient.index_select(0, index)
    if excluded_column is not None:
        rows[:, excluded_column] = -1e6  # SUBS zero-masking on a fresh copy
    nll = F.cross_entropy(rows, targets, reduction="none")
    return (nll * coefficient).sum()


def loss_step(model, config, ids):
    batch, length = ids.shape
    u = torch.rand(())
    t = TIME_EPSILON + (1 - TIME_EPSILON) * ((u / batch + torch.arange(batch) / batch) % 1)
    alpha, weight = cosine2(t)
    masked = torch.rand(batch, length) >= alpha[:, None]
    noisy = ids.masked_fill(masked, config.mask_token_id)
    denoiser, anchor = model(noisy)
    weight = weight[:, None].expand(batch, length)
    loss = weighted_nll_sum(denoiser, ids, masked, weight, config.mask_token_id)
    if anchor is not None:
        loss = loss + weighted_nll_sum(anchor, ids, None, weight * ANCHOR_GAMMA, None)
    return loss / (batch * length)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, help="our config.json (snake_case fields)")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--bf16-mode", choices=["autocast", "cast"], default="autocast")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--inference", action="store_true", help="time the forward pass only (no_grad)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(args.config) as f:
        raw = json.load(f)
    fields = vars(reference.Config())
    config = reference.Config(**{k: v for k, v in raw.items() if k in fields})
    config.mask_token_id = raw.get("mask_token_id", 1)
    model = reference.build(config)
    for name, p in model.named_parameters():
        if p.dim() == 2:
            torch.nn.init.normal_(p, 0, 0.02)
    if args.precision == "bf16" and args.bf16_mode == "cast":
        model = model.to(torch.bfloat16)
    use_autocast = args.precision == "bf16" and args.bf16_mode == "autocast"
    parameters = sum(p.numel() for p in model.parameters())

    def step():
        ids = torch.randint(3, config.vocab_size, (args.batch, args.length))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_autocast):
            if args.inference:
                with torch.no_grad():
                    denoiser, _ = model(ids)
                    denoiser.float().sum().item()
                return
            loss = loss_step(model, config, ids)
        loss.backward()
        model.zero_grad(set_to_none=True)

    for _ in range(args.warmup):
        step()
    reset_peak_rss()
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(args.steps):
        step()
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    tokens = args.batch * args.length * args.steps
    print(json.dumps({
        "implementation": "pytorch " + torch.__version__,
        "precision": args.precision if args.precision == "fp32" else f"bf16-{args.bf16_mode}",
        "parameters": parameters,
        "tokens_per_second": tokens / seconds,
        "seconds": seconds,
        "cpu_ms_per_step": 1000 * cpu_seconds / args.steps,
        "peak_rss_bytes": peak_rss_bytes(),
        "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
