#!/usr/bin/python3
"""PyTorch side of `ancoder bench ar-decode`: greedy autoregressive decoding with a key/value cache, tokens/s.

The same causal Qwen2 model as ours (docs/recipe.md §1: RMSNorm, RoPE rotate-half, GQA, SwiGLU, q/k/v bias, tied
embedding; shapes from our config.json), decoded the same way: the prompt is run once for one row and its cache
copied to every row, then one token per step for the whole batch, keys/values written into a preallocated cache
(no concatenation), greedy argmax. Weights are random (speed does not depend on them; end-of-text is ignored so
every row runs all steps). Prints one JSON line.

    /usr/bin/python3 bench/ar_decode_torch.py --config config.json --batch 20 --prompt 64 --new 128 --threads 2
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F


class Rms(torch.nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return (self.weight * h).to(x.dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class Layer(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        d, self.heads, self.kv, self.hd = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        self.q_proj = torch.nn.Linear(d, self.heads * self.hd)
        self.k_proj = torch.nn.Linear(d, self.kv * self.hd)
        self.v_proj = torch.nn.Linear(d, self.kv * self.hd)
        self.o_proj = torch.nn.Linear(self.heads * self.hd, d, bias=False)
        self.gate_proj = torch.nn.Linear(d, c["intermediate_size"], bias=False)
        self.up_proj = torch.nn.Linear(d, c["intermediate_size"], bias=False)
        self.down_proj = torch.nn.Linear(c["intermediate_size"], d, bias=False)
        self.input_layernorm = Rms(d, c["rms_norm_eps"])
        self.post_attention_layernorm = Rms(d, c["rms_norm_eps"])

    def forward(self, x, cache, position, cos, sin):
        b, n, _ = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(b, n, self.heads, self.hd).transpose(1, 2)
        k = self.k_proj(h).view(b, n, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(h).view(b, n, self.kv, self.hd).transpose(1, 2)
        c, s = cos[position:position + n], sin[position:position + n]
        q = q * c + rotate_half(q) * s
        k = k * c + rotate_half(k) * s
        keys, values = cache
        keys[:, :, position:position + n] = k
        values[:, :, position:position + n] = v
        k = keys[:, :, :position + n].repeat_interleave(self.heads // self.kv, dim=1)
        v = values[:, :, :position + n].repeat_interleave(self.heads // self.kv, dim=1)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.hd)
        if n > 1:
            mask = torch.ones(n, position + n, dtype=torch.bool).tril(position)
            scores = scores.masked_fill(~mask, float("-inf"))
        probs = torch.softmax(scores.float(), dim=-1).to(q.dtype)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, n, self.heads * self.hd)
        x = x + self.o_proj(out)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Model(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = torch.nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = torch.nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = Rms(c["hidden_size"], c["rms_norm_eps"])

    def step(self, ids, caches, position, cos, sin):
        x = self.embed_tokens(ids)
        for layer, cache in zip(self.layers, caches):
            x = layer(x, cache, position, cos, sin)
        return torch.matmul(self.norm(x[:, -1]), self.embed_tokens.weight.t()).float()


def decode(model, prompt, batch, new_tokens, dtype):
    c = model.c
    capacity = prompt.shape[1] + new_tokens
    inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, c["head_dim"], 2, dtype=torch.float64) / c["head_dim"]))
    freqs = torch.outer(torch.arange(capacity, dtype=torch.float64), inv)
    emb = torch.cat([freqs, freqs], -1)
    cos, sin = emb.cos().to(dtype)[:, None], emb.sin().to(dtype)[:, None]
    cos, sin = emb.cos().to(dtype), emb.sin().to(dtype)
    caches = [(torch.zeros(1, c["num_key_value_heads"], capacity, c["head_dim"], dtype=dtype),
               torch.zeros(1, c["num_key_value_heads"], capacity, c["head_dim"], dtype=dtype)) for _ in model.layers]
    logits = model.step(prompt, caches, 0, cos, sin)
    rows = torch.zeros(batch, dtype=torch.long)
    caches = [(k.index_select(0, rows), v.index_select(0, rows)) for k, v in caches]
    logits = logits.index_select(0, rows)
    position = prompt.shape[1]
    out = []
    for step in range(new_tokens):
        token = logits.argmax(-1)
        out.append(token)
        if step == new_tokens - 1:
            break
        logits = model.step(token[:, None], caches, position, cos, sin)
        position += 1
    return torch.stack(out, 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, help="our config.json (snake_case fields) or a Hugging Face Qwen2 config.json")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--prompt", type=int, default=64)
    parser.add_argument("--new", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(args.config) as f:
        c = json.load(f)
    c["head_dim"] = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
    model = Model(c)
    for p in model.parameters():
        if p.dim() == 2:
            torch.nn.init.normal_(p, 0, 0.02)
    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
    model = model.to(dtype).eval()
    prompt = torch.randint(3, c["vocab_size"], (1, args.prompt))
    times = []
    with torch.inference_mode():
        decode(model, prompt, args.batch, 8, dtype)  # warm-up
        for _ in range(args.rounds):
            start = time.perf_counter()
            decode(model, prompt, args.batch, args.new, dtype)
            times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    print(json.dumps({
        "implementation": "pytorch " + torch.__version__,
        "batch": args.batch,
        "tokens_per_second": args.batch * args.new / seconds,
        "seconds": seconds,
        "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
