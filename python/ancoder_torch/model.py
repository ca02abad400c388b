"""The networks of docs/algorithms.md §4, parameter for parameter as src/AnCoder.Diffusion/Model.

Qwen2 blocks (RMSNorm in fp32, rotate-half RoPE, grouped-query attention, SwiGLU, q/k/v with bias, o without), tied
embeddings; the MDLM (`model.*`) and the anchored model (φ `anchor.*` → ψ `denoiser.*`, ψ's input softmax(a)·E_ψ,
a·E_ψ or `denoiser_input`(a)) without a causal mask, the `shift` switch, and the causal model of the AR objective
(`model.*` with the causal mask, docs/recipe.md §1: Hugging Face's Qwen2ForCausalLM names). State-dict names equal
the C# ones (and Hugging Face's), so a checkpoint moves between the engines by name. bf16 runs under torch.autocast
(fp32 master weights), the equivalent of the C# casting layers.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import head_dim

_SDPA = getattr(F, "scaled_dot_product_attention", None)  # torch ≥ 2.0


class RMSNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return (self.weight * h).to(dtype)


class Rotary:
    """cos/sin tables [L, head_dim] (Hugging Face layout cat(freqs, freqs)), computed in float64, cached."""

    def __init__(self, dim, theta):
        self.dim, self.theta, self.cache = dim, theta, {}

    def tables(self, length, dtype, device):
        key = (length, dtype, device)
        if key not in self.cache:
            inv = 1.0 / (self.theta ** (torch.arange(0, self.dim, 2, dtype=torch.float64) / self.dim))
            angles = torch.outer(torch.arange(length, dtype=torch.float64), inv)
            angles = torch.cat([angles, angles], dim=-1)
            self.cache[key] = (angles.cos().to(dtype=dtype, device=device), angles.sin().to(dtype=dtype, device=device))
        return self.cache[key]


def _rotate(x, cos, sin):
    half = x.shape[-1] // 2
    return x * cos + torch.cat([-x[..., half:], x[..., :half]], dim=-1) * sin


class Attention(nn.Module):
    def __init__(self, c, rotary, causal=False):
        super().__init__()
        self.causal = causal  # query i attends keys j ≤ i (Qwen2Attention.Causal)
        self.heads, self.kv_heads, self.head_dim = c["num_attention_heads"], c["num_key_value_heads"], head_dim(c)
        d = c["hidden_size"]
        self.q_proj = nn.Linear(d, self.heads * self.head_dim, bias=True)
        self.k_proj = nn.Linear(d, self.kv_heads * self.head_dim, bias=True)
        self.v_proj = nn.Linear(d, self.kv_heads * self.head_dim, bias=True)
        self.o_proj = nn.Linear(self.heads * self.head_dim, d, bias=False)
        self.rotary = rotary

    def forward(self, x, key_mask):
        b, n, _ = x.shape
        q = self.q_proj(x).view(b, n, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, n, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, n, self.kv_heads, self.head_dim).transpose(1, 2)
        cos, sin = self.rotary.tables(n, q.dtype, q.device)
        q, k = _rotate(q, cos, sin), _rotate(k, cos, sin)
        groups = self.heads // self.kv_heads
        if groups > 1:  # Hugging Face repeat_kv: kv head j serves query heads j·groups … (j+1)·groups − 1
            k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
        mask = None if key_mask is None else key_mask[:, None, None, :]
        if self.causal:
            causal = torch.ones(n, n, dtype=torch.bool, device=x.device).tril()
            mask = causal if mask is None else mask & causal
        if _SDPA is not None:
            out = _SDPA(q, k, v, attn_mask=mask)
        else:
            scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim)
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            out = torch.matmul(torch.softmax(scores.float(), dim=-1).to(v.dtype), v)
        return self.o_proj(out.transpose(1, 2).reshape(b, n, self.heads * self.head_dim))


class Mlp(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, i = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(d, i, bias=False)
        self.up_proj = nn.Linear(d, i, bias=False)
        self.down_proj = nn.Linear(i, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, c, rotary, causal=False):
        super().__init__()
        self.self_attn = Attention(c, rotary, causal)
        self.mlp = Mlp(c)
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, x, key_mask):
        h = x + self.self_attn(self.input_layernorm(x), key_mask)
        return h + self.mlp(self.post_attention_layernorm(h))


class Network(nn.Module):
    """embed_tokens → layers → norm; tied output h·Eᵀ."""

    def __init__(self, c, layers, causal=False):
        super().__init__()
        rotary = Rotary(head_dim(c), c["rope_theta"])
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([DecoderLayer(c, rotary, causal) for _ in range(layers)])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def body(self, states, key_mask):
        for layer in self.layers:
            states = layer(states, key_mask)
        return self.norm(states)

    def unembed(self, h):
        return torch.matmul(h, self.embed_tokens.weight.to(h.dtype).t())


def shift_right(logits):
    """Position i takes the logits computed at i − 1; position 0 keeps its own."""
    return torch.cat([logits[:, :1], logits[:, :-1]], dim=1)


class DiffusionModel(nn.Module):
    """ids z_t [B, L] (+ optional bool key mask [B, L]) → (denoiser logits, anchor logits or None), both fp32.
    For the causal model: clean ids x → logits whose position i predicts token i + 1, and None."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        c = config
        if c["architecture"] in ("mdlm", "causal"):
            self.model = Network(c, c["num_hidden_layers"], causal=c["architecture"] == "causal")
        else:
            self.anchor = Network(c, c["num_hidden_layers"])
            self.denoiser = Network(c, c["denoiser_layers"])
            if c["denoiser_input"] == "linear":
                self.denoiser_input = nn.Linear(c["vocab_size"], c["hidden_size"], bias=True)
        self.reset_parameters()

    def reset_parameters(self):
        """As the C# constructors: matrices and embeddings N(0, 0.02), biases 0, norms 1."""
        for name, p in self.named_parameters():
            with torch.no_grad():
                if name.endswith("norm.weight"):
                    p.fill_(1.0)
                elif name.endswith("bias"):
                    p.zero_()
                else:
                    p.normal_(0.0, 0.02)

    def forward(self, ids, key_mask=None):
        c = self.config
        if c["architecture"] in ("mdlm", "causal"):
            net = self.model
            logits = net.unembed(net.body(net.embed_tokens(ids), key_mask)).float()
            return (shift_right(logits) if c["shift"] and c["architecture"] == "mdlm" else logits), None
        anchor_raw = self.anchor.unembed(self.anchor.body(self.anchor.embed_tokens(ids), key_mask))
        embedding = self.denoiser.embed_tokens.weight.to(anchor_raw.dtype)
        mode = c["denoiser_input"]
        if mode == "softmax":
            first = torch.matmul(torch.softmax(anchor_raw.float(), dim=-1).to(anchor_raw.dtype), embedding)
        elif mode == "logits":
            first = torch.matmul(anchor_raw, embedding)
        else:
            first = self.denoiser_input(anchor_raw)
        logits = torch.matmul(self.denoiser.body(first, key_mask), embedding.t()).float()
        anchor = anchor_raw.float()
        if c["shift"]:
            return shift_right(logits), shift_right(anchor)
        return logits, anchor
