"""Writes a tiny random Qwen2ForCausalLM folder and the outputs our imported models must reproduce.

  tiny-qwen2/config.json, model.safetensors.index.json, model-0000{1,2}-of-00002.safetensors  (bf16 weights,
      Hugging Face tensor names and layouts: vocab 64, hidden 32, 4 layers, 2 heads / 1 kv head, MLP 48)
  tiny_qwen2_expected.safetensors: ids, key_mask, and the logits of
      - the anchored model (docs/algorithms.md §4): phi = all 4 layers, psi = layers 0..1, softmax input
        (anchor_logits, denoiser_logits), and
      - the MDLM model (all 4 layers; mdlm_logits),
  computed here with plain torch in float64 following Hugging Face's Qwen2 math with the causal mask removed
  (padding keys excluded by key_mask). Nothing here shares code with the C# model.

Run from this folder with /usr/bin/python3 (Debian's python3-torch): python3 make_tiny_qwen2.py
"""
import json
import math
import os
import sys

sys.dont_write_bytecode = True
import torch  # noqa: E402

import safetensors_format  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FOLDER = os.path.join(HERE, "tiny-qwen2")

VOCAB, HIDDEN, LAYERS, HEADS, KV_HEADS, MLP = 64, 32, 4, 2, 1, 48
HEAD_DIM = HIDDEN // HEADS
THETA, EPS = 1_000_000.0, 1e-6
DENOISER_LAYERS = 2
MASK_ID = 63

CONFIG = {
    "architectures": ["Qwen2ForCausalLM"],
    "attention_dropout": 0.0,
    "bos_token_id": 0,
    "eos_token_id": 0,
    "hidden_act": "silu",
    "hidden_size": HIDDEN,
    "initializer_range": 0.02,
    "intermediate_size": MLP,
    "max_position_embeddings": 128,
    "max_window_layers": LAYERS,
    "model_type": "qwen2",
    "num_attention_heads": HEADS,
    "num_hidden_layers": LAYERS,
    "num_key_value_heads": KV_HEADS,
    "rms_norm_eps": EPS,
    "rope_scaling": None,
    "rope_theta": THETA,
    "sliding_window": 128,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.44.0",
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": VOCAB,
}


def random_weights(generator):
    def normal(*shape, std):
        return (torch.randn(*shape, generator=generator, dtype=torch.float64) * std).to(torch.bfloat16)

    def norm_weight():
        return (1.0 + 0.2 * torch.randn(HIDDEN, generator=generator, dtype=torch.float64)).to(torch.bfloat16)

    weights = [("model.embed_tokens.weight", normal(VOCAB, HIDDEN, std=0.5))]
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        weights += [
            (p + "input_layernorm.weight", norm_weight()),
            (p + "self_attn.q_proj.weight", normal(HEADS * HEAD_DIM, HIDDEN, std=HIDDEN ** -0.5)),
            (p + "self_attn.q_proj.bias", normal(HEADS * HEAD_DIM, std=0.2)),
            (p + "self_attn.k_proj.weight", normal(KV_HEADS * HEAD_DIM, HIDDEN, std=HIDDEN ** -0.5)),
            (p + "self_attn.k_proj.bias", normal(KV_HEADS * HEAD_DIM, std=0.2)),
            (p + "self_attn.v_proj.weight", normal(KV_HEADS * HEAD_DIM, HIDDEN, std=HIDDEN ** -0.5)),
            (p + "self_attn.v_proj.bias", normal(KV_HEADS * HEAD_DIM, std=0.2)),
            (p + "self_attn.o_proj.weight", normal(HIDDEN, HEADS * HEAD_DIM, std=(HEADS * HEAD_DIM) ** -0.5)),
            (p + "post_attention_layernorm.weight", norm_weight()),
            (p + "mlp.gate_proj.weight", normal(MLP, HIDDEN, std=HIDDEN ** -0.5)),
            (p + "mlp.up_proj.weight", normal(MLP, HIDDEN, std=HIDDEN ** -0.5)),
            (p + "mlp.down_proj.weight", normal(HIDDEN, MLP, std=MLP ** -0.5)),
        ]
    weights.append(("model.norm.weight", norm_weight()))
    return weights


# ---- Hugging Face Qwen2 math (modeling_qwen2.py), float64, no causal mask ----

def rms_norm(x, weight):
    variance = x.pow(2).mean(-1, keepdim=True)
    return weight * (x * torch.rsqrt(variance + EPS))


def rotary_tables(length):
    inv_freq = 1.0 / (THETA ** (torch.arange(0, HEAD_DIM, 2, dtype=torch.float64) / HEAD_DIM))
    freqs = torch.outer(torch.arange(length, dtype=torch.float64), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def attention(x, w, prefix, key_mask):
    batch, length, _ = x.shape
    q = (x @ w[prefix + "q_proj.weight"].T + w[prefix + "q_proj.bias"]).view(batch, length, HEADS, HEAD_DIM).transpose(1, 2)
    k = (x @ w[prefix + "k_proj.weight"].T + w[prefix + "k_proj.bias"]).view(batch, length, KV_HEADS, HEAD_DIM).transpose(1, 2)
    v = (x @ w[prefix + "v_proj.weight"].T + w[prefix + "v_proj.bias"]).view(batch, length, KV_HEADS, HEAD_DIM).transpose(1, 2)
    cos, sin = rotary_tables(length)
    q = q * cos + rotate_half(q) * sin
    k = k * cos + rotate_half(k) * sin
    # repeat_kv: kv head j serves query heads j*n_rep .. (j+1)*n_rep-1
    n_rep = HEADS // KV_HEADS
    k = k[:, :, None].expand(batch, KV_HEADS, n_rep, length, HEAD_DIM).reshape(batch, HEADS, length, HEAD_DIM)
    v = v[:, :, None].expand(batch, KV_HEADS, n_rep, length, HEAD_DIM).reshape(batch, HEADS, length, HEAD_DIM)
    scores = q @ k.transpose(2, 3) / math.sqrt(HEAD_DIM)
    scores = scores.masked_fill(~key_mask[:, None, None, :], float("-inf"))
    out = torch.softmax(scores, dim=-1) @ v
    out = out.transpose(1, 2).reshape(batch, length, HEADS * HEAD_DIM)
    return out @ w[prefix + "o_proj.weight"].T


def mlp(x, w, prefix):
    gate = x @ w[prefix + "gate_proj.weight"].T
    up = x @ w[prefix + "up_proj.weight"].T
    return (torch.nn.functional.silu(gate) * up) @ w[prefix + "down_proj.weight"].T


def body(h, w, layer_count, key_mask):
    for i in range(layer_count):
        p = f"model.layers.{i}."
        h = h + attention(rms_norm(h, w[p + "input_layernorm.weight"]), w, p + "self_attn.", key_mask)
        h = h + mlp(rms_norm(h, w[p + "post_attention_layernorm.weight"]), w, p + "mlp.")
    return rms_norm(h, w["model.norm.weight"])


def main():
    generator = torch.Generator().manual_seed(20251128)
    weights = random_weights(generator)
    os.makedirs(FOLDER, exist_ok=True)
    with open(os.path.join(FOLDER, "config.json"), "w") as out:
        json.dump(CONFIG, out, indent=2)
        out.write("\n")
    first = [(n, t) for n, t in weights if n.startswith("model.embed_tokens") or n.startswith(("model.layers.0.", "model.layers.1."))]
    first_names = {name for name, _ in first}
    second = [(n, t) for n, t in weights if n not in first_names]
    shards = {"model-00001-of-00002.safetensors": first, "model-00002-of-00002.safetensors": second}
    weight_map = {}
    for file_name, tensors in shards.items():
        safetensors_format.write(os.path.join(FOLDER, file_name), tensors, metadata={"format": "pt"})
        weight_map.update({name: file_name for name, _ in tensors})
    total_size = sum(t.numel() * 2 for _, t in weights)
    with open(os.path.join(FOLDER, "model.safetensors.index.json"), "w") as out:
        json.dump({"metadata": {"total_size": total_size}, "weight_map": dict(sorted(weight_map.items()))}, out, indent=2)
        out.write("\n")

    w = {name: tensor.to(torch.float64) for name, tensor in weights}  # bf16 -> exact in float64
    embedding = w["model.embed_tokens.weight"]
    ids = torch.randint(0, VOCAB, (2, 8), generator=generator)
    ids[0, 2] = ids[0, 5] = ids[1, 0] = ids[1, 3] = MASK_ID
    key_mask = torch.ones(2, 8, dtype=torch.bool)
    key_mask[1, 6:] = False  # two padding positions in the second row

    anchor_logits = body(embedding[ids], w, LAYERS, key_mask) @ embedding.T
    first_state = torch.softmax(anchor_logits, dim=-1) @ embedding  # g0 = softmax(a) . E_psi
    denoiser_logits = body(first_state, w, DENOISER_LAYERS, key_mask) @ embedding.T
    mdlm_logits = body(embedding[ids], w, LAYERS, key_mask) @ embedding.T

    safetensors_format.write(os.path.join(HERE, "tiny_qwen2_expected.safetensors"), [
        ("ids", ids.to(torch.int64)),
        ("key_mask", key_mask),
        ("anchor_logits", anchor_logits.to(torch.float32)),
        ("denoiser_logits", denoiser_logits.to(torch.float32)),
        ("mdlm_logits", mdlm_logits.to(torch.float32)),
    ], metadata={"denoiser_layers": str(DENOISER_LAYERS), "mask_token_id": str(MASK_ID),
                 "computed_by": "make_tiny_qwen2.py (float64 Hugging Face Qwen2 math, bidirectional)"})


if __name__ == "__main__":
    main()
