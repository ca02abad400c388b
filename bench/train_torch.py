#!/usr/bin/python3
"""PyTorch side of `ancoder bench train`: the same model, batch and training step as ours, timed the same way.

Model: tests/AnCoder.Diffusion.Tests/Model/Reference/qwen2_reference.py (the independent Qwen2 reference, same
parameter names and math as ours; attention written out by hand since PyTorch 1.13 has no SDPA).
Step (docs/algorithms.md §1, §3, §5): stratified t, cosine2 masking, SUBS (mask logit −1e6, visible positions carry no
loss), w(t)-weighted denoiser NLL at masked positions + γ-weighted anchor NLL at every position, normalised by B·L;
backward; clip_grad_norm_(1.0); AdamW(β 0.9/0.999, eps 1e-8, wd 0, foreach). bf16 = torch.autocast("cpu",
bfloat16) with fp32 master weights (ours: bf16 activations and matmuls, fp32 weights).
Data: random ids in [3, V), γ = 0.03 on a random half of the positions (the speed does not depend on the values).

Prints one JSON object: tokens_per_second (timed steps after warm-up), seconds, peak_rss_mb, threads, torch.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "AnCoder.Diffusion.Tests", "Model", "Reference"))
import qwen2_reference as reference  # noqa: E402


def peak_rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="our model config JSON (snake_case, ModelConfig.ToJson)")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--context", type=int, default=256)
    parser.add_argument("--steps", type=int, default=12, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(args.config) as f:
        ours = json.load(f)
    fields = {k: v for k, v in ours.items() if hasattr(reference.Config(), k)}
    config = reference.Config(**fields)
    mask_id = ours.get("mask_token_id", 1)
    model = reference.build(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, foreach=True)
    b, length, vocab, eps = args.batch, args.context, config.vocab_size, 1e-3

    def step():
        ids = torch.randint(3, vocab, (b, length))
        gamma = (torch.rand(b, length) < 0.5).float() * 0.03
        u = torch.rand(1)
        t = eps + (1 - eps) * ((u / b + torch.arange(b) / b) % 1.0)
        alpha = 1e-3 + (1 - 1e-3) * torch.cos(math.pi * t / 2) ** 2
        weight = math.pi / torch.tan(math.pi * t / 2)  # cosine2: w(t) = π·cot(πt/2)
        masked = torch.rand(b, length) < (1 - alpha)[:, None]
        noisy = torch.where(masked, torch.full_like(ids, mask_id), ids)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            logits, anchor = model(noisy, None)
        logits = logits.float()
        logits[..., mask_id] = -1e6
        nll = -F.log_softmax(logits, dim=-1).gather(-1, ids[..., None]).squeeze(-1)
        loss = (nll * masked * weight[:, None]).sum() / (b * length)
        if anchor is not None:
            anchor_nll = -F.log_softmax(anchor.float(), dim=-1).gather(-1, ids[..., None]).squeeze(-1)
            loss = loss + (anchor_nll * gamma * weight[:, None]).sum() / (b * length)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    for _ in range(args.warmup):
        step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = time.perf_counter() - start
    print(json.dumps({
        "tokens_per_second": args.steps * b * length / seconds, "seconds": seconds, "peak_rss_mb": peak_rss_mb(),
        "threads": torch.get_num_threads(), "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
