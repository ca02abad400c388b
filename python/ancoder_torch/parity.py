"""`python -m ancoder_torch.parity`: the hooks the C# parity tests call (tests/AnCoder.Diffusion.Tests/PyTorchEngine).

  loss MODEL_DIR INPUTS OUT    loss and gradients for given weights, batch, t and z_t (fp32); for a causal (AR) model
                               folder the next-token loss of the batch (no t, no z_t)
  roundtrip MODEL_DIR OUT_DIR  load a checkpoint folder and save it again with this package's writer
  batches DATA SEED B L N OUT [MODE]  the first N batches of the train split (DataLoader order, MODE pack or sft), to
                               compare with C#'s
  presets OUT                  the model presets as JSON
  supported OUT                the training-config fields this engine implements with their defaults
                               (TorchEngine.SupportedFields, TrainingConfig's defaults)
  rand SEED B L                stratified t and mask draws from a seeded generator
"""
import json
import sys

import torch

from . import checkpoint as ckpt
from .config import MODEL_DEFAULTS, PRESETS, TRAINING_DEFAULTS, anchor_weight_options
from .data import DataLoader, open_split
from .diffusion import key_mask, loss_from_logits, stratified_times
from . import next_token


def loss(model_dir, inputs, out):
    torch.set_num_threads(1)
    model = ckpt.load_model(model_dir)
    x, _ = ckpt.read_safetensors(inputs)
    valid = x["valid"].bool()
    if model.config["architecture"] == "causal":
        logits, _ = model(x["ids"].long(), key_mask(valid))
        value, _, count = next_token.loss_from_logits(logits, x["ids"].long(), x["conditioning"].bool(), valid, model.config["mask_token_id"])
        value.backward()
        result = {"loss": value.detach().reshape(1), "counts": torch.tensor([count, 0], dtype=torch.int64)}
        result.update({"grad." + n: p.grad for n, p in model.named_parameters()})
        ckpt.write_safetensors(out, result)
        return
    denoiser, anchor = model(x["noisy"].long(), key_mask(valid))
    value, den, anc, n_valid, n_masked = loss_from_logits(
        denoiser, anchor, x["ids"].long(), x["weights"], x["conditioning"].bool(), valid, x["noisy"].long(), x["t"],
        model.config["diffusion"], model.config["mask_token_id"], float(x["anchor_scale"]) if "anchor_scale" in x else 1.0)
    value.backward()
    result = {"loss": value.detach().reshape(1), "counts": torch.tensor([n_valid, n_masked], dtype=torch.int64)}
    result.update({"grad." + n: p.grad for n, p in model.named_parameters()})
    ckpt.write_safetensors(out, result)


def roundtrip(model_dir, out_dir):
    model = ckpt.load_model(model_dir)
    ckpt.save_folder(out_dir, model.config, model.state_dict(), model_dir)


def batches(data, seed, b, length, n, out, mode="pack"):
    manifest = ckpt.json.load(open(f"{data}/manifest.json"))["config"]
    options = anchor_weight_options({"strategy": "anchortree", "anchor_lambda": None, "anchor_rho": None, "anchor_d0": None})
    loader = DataLoader(open_split(data, "train"), length, b, seed, options, manifest["eos_id"], manifest["pad_id"], mode)
    tensors = {}
    for k in range(n):
        batch = loader.next_batch()
        tensors[f"{k}.ids"] = torch.from_numpy(batch.ids)
        tensors[f"{k}.weights"] = torch.from_numpy(batch.weights)
        tensors[f"{k}.prompt"] = torch.from_numpy(batch.prompt.astype("uint8"))
        tensors[f"{k}.valid"] = torch.from_numpy(batch.valid.astype("uint8"))
    ckpt.write_safetensors(out, tensors)


def rand(seed, b, length, out):
    g = torch.Generator().manual_seed(seed)
    t = stratified_times(b, 1e-3, g)
    draws = torch.rand((b, length), dtype=torch.float64, generator=g)
    ckpt.write_safetensors(out, {"t": t, "draws": draws})


def main(argv):
    command, rest = argv[0], argv[1:]
    if command == "loss":  # MODEL_DIR INPUTS OUT, repeated
        for k in range(0, len(rest), 3):
            loss(*rest[k:k + 3])
    elif command == "roundtrip":
        roundtrip(*rest)
    elif command == "batches":
        batches(rest[0], int(rest[1]), int(rest[2]), int(rest[3]), int(rest[4]), rest[5], *rest[6:7])
    elif command == "presets":
        with open(rest[0], "w") as f:
            json.dump({name: {**MODEL_DEFAULTS, **p} for name, p in PRESETS.items()}, f, indent=2)
    elif command == "supported":
        with open(rest[0], "w") as f:
            json.dump(TRAINING_DEFAULTS, f)
    elif command == "rand":
        rand(int(rest[0]), int(rest[1]), int(rest[2]), rest[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
