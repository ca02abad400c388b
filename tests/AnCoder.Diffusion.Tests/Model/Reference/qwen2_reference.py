#!/usr/bin/python3
"""Independent PyTorch reference for AnCoder's networks (docs/algorithms.md §4), and the fixture generator.

The math follows Hugging Face's Qwen2 (modeling_qwen2.py) without the causal mask: RMSNorm in fp32, RoPE in the
rotate-half layout, grouped-query attention written out by hand (PyTorch 1.13 has no scaled_dot_product_attention),
SwiGLU MLP, q/k/v with bias and o without, tied embeddings. On top: the MDLM (one network) and the anchored model
(anchor network φ → denoiser ψ with the input modes softmax / logits / linear) and the `shift` switch.
Parameter names equal ours (and Hugging Face's), so a state dict moves between the two by name.

Run with Debian's PyTorch (CI has no torch, so the fixture is committed):
    /usr/bin/python3 tests/AnCoder.Diffusion.Tests/Model/Reference/qwen2_reference.py
writes qwen2_reference.safetensors next to this script: random fp32 weights (anchor.*, denoiser.*,
denoiser_input.*), input ids, a key mask, and the expected logits computed in float64. bench/model_torch.py
imports the modules below for the speed comparison.
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class Config:
    def __init__(self, **kwargs):
        self.architecture = "anchored"
        self.vocab_size = 64
        self.hidden_size = 32
        self.intermediate_size = 48
        self.num_hidden_layers = 2
        self.denoiser_layers = 1
        self.num_attention_heads = 2
        self.num_key_value_heads = 1
        self.head_dim = 0
        self.rope_theta = 10000.0
        self.rms_norm_eps = 1e-6
        self.denoiser_input = "softmax"
        self.shift = False
        for key, value in kwargs.items():
            if not hasattr(self, key):
                raise KeyError(key)
            setattr(self, key, value)

    @property
    def resolved_head_dim(self):
        return self.head_dim or self.hidden_size // self.num_attention_heads


class RMSNorm(nn.Module):
    """Qwen2RMSNorm: variance in fp32, weight applied after casting back to the input dtype."""

    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        h = x.to(torch.float32) if dtype != torch.float64 else x
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight.to(dtype) * h.to(dtype)


def rotary_tables(length, head_dim, theta, dtype):
    """cos, sin [L, head_dim] with Hugging Face's layout emb = cat(freqs, freqs)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    freqs = torch.outer(torch.arange(length, dtype=torch.float64), inv_freq)
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = c.num_attention_heads, c.num_key_value_heads, c.resolved_head_dim
        self.theta = c.rope_theta
        self.q_proj = nn.Linear(c.hidden_size, self.heads * self.head_dim, bias=True)
        self.k_proj = nn.Linear(c.hidden_size, self.kv_heads * self.head_dim, bias=True)
        self.v_proj = nn.Linear(c.hidden_size, self.kv_heads * self.head_dim, bias=True)
        self.o_proj = nn.Linear(self.heads * self.head_dim, c.hidden_size, bias=False)

    def forward(self, x, key_mask):
        b, n, _ = x.shape
        q = self.q_proj(x).view(b, n, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, n, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, n, self.kv_heads, self.head_dim).transpose(1, 2)
        cos, sin = rotary_tables(n, self.head_dim, self.theta, x.dtype)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        groups = self.heads // self.kv_heads
        k = k.repeat_interleave(groups, dim=1)  # HF repeat_kv: kv head j serves query heads j*groups..
        v = v.repeat_interleave(groups, dim=1)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim)
        if key_mask is not None:  # bool [B, L], True = may be attended; no causal mask
            scores = scores.masked_fill(~key_mask[:, None, None, :], float("-inf"))
        probs = torch.softmax(scores.float(), dim=-1).to(q.dtype) if q.dtype == torch.bfloat16 else torch.softmax(scores, dim=-1)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, n, self.heads * self.head_dim)
        return self.o_proj(out)


class Mlp(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = Attention(c)
        self.mlp = Mlp(c)
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)

    def forward(self, x, key_mask):
        h = x + self.self_attn(self.input_layernorm(x), key_mask)
        return h + self.mlp(self.post_attention_layernorm(h))


class Network(nn.Module):
    """embed_tokens → layers → norm, tied output h·Eᵀ."""

    def __init__(self, c, layers):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList([DecoderLayer(c) for _ in range(layers)])
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)

    def body(self, states, key_mask):
        for layer in self.layers:
            states = layer(states, key_mask)
        return self.norm(states)

    def unembed(self, h):
        return torch.matmul(h, self.embed_tokens.weight.t())


def shift_right(logits):
    """Dream-style shift: position i takes the logits of position i−1; position 0 keeps its own."""
    return torch.cat([logits[:, :1], logits[:, :-1]], dim=1)


class Mdlm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.model = Network(c, c.num_hidden_layers)

    def forward(self, ids, key_mask=None):
        logits = self.model.unembed(self.model.body(self.model.embed_tokens(ids), key_mask))
        return (shift_right(logits) if self.config.shift else logits), None


class Anchored(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.anchor = Network(c, c.num_hidden_layers)
        self.denoiser = Network(c, c.denoiser_layers)
        if c.denoiser_input == "linear":
            self.denoiser_input = nn.Linear(c.vocab_size, c.hidden_size, bias=True)

    def forward(self, ids, key_mask=None):
        a = self.anchor.unembed(self.anchor.body(self.anchor.embed_tokens(ids), key_mask))
        mode = self.config.denoiser_input
        if mode == "softmax":
            g0 = torch.matmul(torch.softmax(a.float(), dim=-1).to(a.dtype), self.denoiser.embed_tokens.weight)
        elif mode == "logits":
            g0 = torch.matmul(a, self.denoiser.embed_tokens.weight)
        else:
            g0 = self.denoiser_input(a)
        logits = self.denoiser.unembed(self.denoiser.body(g0, key_mask))
        if self.config.shift:
            return shift_right(logits), shift_right(a)
        return logits, a


def build(c):
    return Mdlm(c) if c.architecture == "mdlm" else Anchored(c)


# ---------------------------------------------------------------------------------------------------------------
# Fixture


def write_safetensors(path, tensors, metadata):
    """Minimal safetensors writer (format: u64 LE header size, JSON header, raw little-endian data)."""
    names = {torch.float32: "F32", torch.int64: "I64"}
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, tensor in tensors.items():
        data = tensor.contiguous().numpy().tobytes() if tensor.dtype != torch.float32 else tensor.contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": names[tensor.dtype], "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


def random_weights(c, generator):
    """fp32 weights with scales large enough that softmaxes are far from uniform (a stronger test)."""
    model = build(Config(**{**vars(c), "denoiser_input": "linear"}))
    weights = {}
    for name, p in model.named_parameters():
        if name.endswith("norm.weight"):
            value = 1.0 + 0.2 * torch.randn(p.shape, generator=generator)
        elif name.endswith("bias"):
            value = 0.1 * torch.randn(p.shape, generator=generator)
        elif "embed_tokens" in name:
            value = 0.5 * torch.randn(p.shape, generator=generator)
        else:
            value = torch.randn(p.shape, generator=generator) / math.sqrt(p.shape[1])
        weights[name] = value.float()
    return weights


def run(c, weights, ids, key_mask):
    """Outputs of the model described by c, computed in float64 from the given fp32 weights."""
    model = build(c).double()
    state = {}
    for name in model.state_dict():
        source = name.replace("model.", "anchor.", 1) if c.architecture == "mdlm" else name
        state[name] = weights[source].double()
    model.load_state_dict(state, strict=True)
    with torch.no_grad():
        denoiser, anchor = model(ids, key_mask)
    return denoiser.float(), (anchor.float() if anchor is not None else None)


def main():
    base = Config()
    generator = torch.Generator().manual_seed(20261128)
    weights = random_weights(base, generator)
    batch, length = 2, 8
    ids = torch.randint(0, base.vocab_size, (batch, length), generator=generator, dtype=torch.int64)
    key_mask = torch.ones(batch, length, dtype=torch.bool)
    key_mask[1, 5:] = False  # the second row's last three positions are padding

    tensors = dict(weights)
    tensors["input.ids"] = ids
    tensors["input.key_mask"] = key_mask.to(torch.int64)
    cases = {
        "mdlm": dict(architecture="mdlm"),
        "mdlm_shift": dict(architecture="mdlm", shift=True),
        "softmax": dict(denoiser_input="softmax"),
        "logits": dict(denoiser_input="logits"),
        "linear": dict(denoiser_input="linear"),
        "softmax_shift": dict(denoiser_input="softmax", shift=True),
    }
    for case, overrides in cases.items():
        c = Config(**{**vars(base), **overrides})
        for masked in (False, True) if case in ("mdlm", "softmax") else (False,):
            denoiser, anchor = run(c, weights, ids, key_mask if masked else None)
            suffix = "_masked" if masked else ""
            tensors[f"expected.{case}{suffix}.denoiser"] = denoiser
            if anchor is not None:
                tensors[f"expected.{case}{suffix}.anchor"] = anchor

    # A second, smaller MDLM with 4 query heads over 2 kv heads: checks which query heads share which kv head
    # (the main config has a single kv head). Its weights are stored under "gqa.".
    gqa = Config(architecture="mdlm", hidden_size=16, intermediate_size=16, num_hidden_layers=1,
                 num_attention_heads=4, num_key_value_heads=2, rope_theta=500.0)
    gqa_weights = {k: v for k, v in random_weights(gqa, generator).items() if k.startswith("model.")}
    for name, value in gqa_weights.items():
        tensors["gqa." + name] = value
    gqa_run = {("anchor." + k[len("model."):]): v for k, v in gqa_weights.items()}
    tensors["expected.gqa_masked.denoiser"] = run(gqa, gqa_run, ids, key_mask)[0]

    # Self-check of the padding semantics: with the key mask, row 1's real positions equal a run on its prefix alone.
    c = Config(**vars(base))
    prefix, _ = run(c, weights, ids[1:2, :5], None)
    assert torch.allclose(prefix[0], tensors["expected.softmax_masked.denoiser"][1, :5], atol=1e-6), "padding leaks"

    metadata = {
        "config": json.dumps({k: v for k, v in vars(base).items()}),
        "gqa_config": json.dumps({k: v for k, v in vars(gqa).items()}),
        "generator": "tests/AnCoder.Diffusion.Tests/Model/Reference/qwen2_reference.py",
        "torch": torch.__version__,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "qwen2_reference.safetensors")
    write_safetensors(path, tensors, metadata)
    print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(tensors)} tensors)")


if __name__ == "__main__":
    sys.exit(main())
