"""Checkpoint folders the .NET side loads (src/AnCoder.Diffusion/Checkpoints/ModelCheckpoint.cs, Training/
TrainingCheckpoints.cs): config.json + model.safetensors (+ tokenizer files), written atomically (staging sibling,
then rename); run checkpoints add the trainer's state and checksums.sha256, written last.

The safetensors writer lays files out exactly as Safetensors.Write does (tensors by element size, then name;
compact JSON header, metadata first, space padding to 8 bytes), so the same weights give the same bytes from
either engine. Large models can be split into shards ≤ a size (model-0000k-of-0000n.safetensors +
model.safetensors.index.json, Hugging Face's layout), which the .NET loader also reads.
"""
import hashlib
import json
import os
import shutil
import struct
import uuid

import torch

from .config import model_config_json

CONFIG_FILE, WEIGHTS_FILE, INDEX_FILE, TOKENIZER_FILE = "config.json", "model.safetensors", "model.safetensors.index.json", "tokenizer.json"
TOKENIZER_FILES = [TOKENIZER_FILE, "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.json", "merges.txt"]
CHECKSUM_FILE, STATE_FILE, OPTIMIZER_FILE, GENERATOR_FILE = "checksums.sha256", "trainer_state.json", "optimizer.pt", "generator.pt"
REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_TOKENIZER = os.path.join(REPO_ROOT, "src", "AnCoder.Anchoring", "DefaultTokenizer")

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64,
          "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool}
NAMES = {v: k for k, v in DTYPES.items()}


class CheckpointError(Exception):
    pass


def _tensor_bytes(tensor):
    t = tensor.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def _header(names, tensors, metadata):
    header = {}
    if metadata:
        header["__metadata__"] = {k: metadata[k] for k in sorted(metadata)}
    offset = 0
    for name in names:
        t = tensors[name]
        size = t.numel() * t.element_size()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode()
    return encoded + b" " * (-len(encoded) % 8)


def _atomic_write(path, write):
    tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_safetensors(path, tensors, metadata=None):
    names = sorted(tensors, key=lambda n: (-tensors[n].element_size(), n.encode()))
    header = _header(names, tensors, metadata)

    def write(f):
        f.write(struct.pack("<Q", len(header)))
        f.write(header)
        for name in names:
            f.write(_tensor_bytes(tensors[name]))
    _atomic_write(path, write)


def read_safetensors(path):
    """All tensors of a file (copies, so the file can be replaced afterwards) and its metadata."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise CheckpointError(f"{path}: truncated safetensors file")
    (length,) = struct.unpack("<Q", data[:8])
    try:
        header = json.loads(data[8:8 + length])
    except ValueError as e:
        raise CheckpointError(f"{path}: bad safetensors header ({e})")
    metadata = header.pop("__metadata__", {})
    start, tensors = 8 + length, {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        dtype = DTYPES.get(entry["dtype"])
        if dtype is None:
            raise CheckpointError(f"{path}: tensor '{name}' has unsupported dtype {entry['dtype']}")
        raw = bytearray(data[start + begin:start + end])
        if dtype == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16) if raw else torch.empty(0, dtype=dtype)
        else:
            t = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(entry["shape"])
    return tensors, metadata


def metadata_for(config):
    return {"format": "pt", "ancoder.architecture": config["architecture"]}


def write_weights(directory, tensors, metadata, max_shard_bytes=None):
    """model.safetensors, or shards of at most max_shard_bytes each (whole tensors) plus the index."""
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    header_room = min(64 * 1024, max_shard_bytes // 4) if max_shard_bytes else 0
    if max_shard_bytes is None or total + header_room <= max_shard_bytes:
        write_safetensors(os.path.join(directory, WEIGHTS_FILE), tensors, metadata)
        return [WEIGHTS_FILE]
    groups, current, size = [], {}, 0
    budget = max_shard_bytes - header_room
    for name in sorted(tensors, key=lambda n: n.encode()):
        bytes_ = tensors[name].numel() * tensors[name].element_size()
        if bytes_ > budget:
            raise CheckpointError(f"tensor '{name}' ({bytes_} bytes) is larger than the shard limit {max_shard_bytes}")
        if current and size + bytes_ > budget:
            groups.append(current)
            current, size = {}, 0
        current[name] = tensors[name]
        size += bytes_
    groups.append(current)
    files, weight_map = [], {}
    for k, group in enumerate(groups, 1):
        file = f"model-{k:05d}-of-{len(groups):05d}.safetensors"
        write_safetensors(os.path.join(directory, file), group, metadata)
        files.append(file)
        weight_map.update({name: file for name in group})
    index = {"metadata": {"total_size": total}, "weight_map": {n: weight_map[n] for n in sorted(weight_map)}}
    _atomic_write(os.path.join(directory, INDEX_FILE), lambda f: f.write((json.dumps(index, indent=2) + "\n").encode()))
    return files + [INDEX_FILE]


def read_weights(directory):
    single, index = os.path.join(directory, WEIGHTS_FILE), os.path.join(directory, INDEX_FILE)
    if os.path.exists(single):
        return read_safetensors(single)[0]
    if not os.path.exists(index):
        raise CheckpointError(f"{directory}: neither {WEIGHTS_FILE} nor {INDEX_FILE} (not a checkpoint folder?)")
    with open(index) as f:
        files = sorted(set(json.load(f)["weight_map"].values()))
    tensors = {}
    for file in files:
        tensors.update(read_safetensors(os.path.join(directory, file))[0])
    return tensors


def tokenizer_files(source):
    """ModelCheckpoint.TokenizerFiles: (path, name) pairs; None = our default tokenizer."""
    source = source or DEFAULT_TOKENIZER
    if os.path.isfile(source):
        return [(source, TOKENIZER_FILE)]
    if not os.path.isdir(source):
        raise CheckpointError(f"{source}: tokenizer file or folder not found")
    found = [(os.path.join(source, n), n) for n in TOKENIZER_FILES if os.path.exists(os.path.join(source, n))]
    if not found:
        raise CheckpointError(f"{source}: no tokenizer files in this folder")
    return found


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_checksums(directory):
    lines = [f"{sha256(os.path.join(directory, n))}  {n}\n" for n in sorted(os.listdir(directory), key=lambda n: n.encode())
             if n != CHECKSUM_FILE and not n.startswith(".") and os.path.isfile(os.path.join(directory, n))]
    _atomic_write(os.path.join(directory, CHECKSUM_FILE), lambda f: f.write("".join(lines).encode()))


def verify(directory):
    """None when every file listed in checksums.sha256 matches (and the trainer's files are listed); else why not."""
    path = os.path.join(directory, CHECKSUM_FILE)
    if not os.path.exists(path):
        return f"no {CHECKSUM_FILE} (incomplete: written by a process that was killed?)"
    listed = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                listed[line[66:]] = line[:64]
    for required in (CONFIG_FILE, OPTIMIZER_FILE, GENERATOR_FILE, STATE_FILE):
        if required not in listed:
            return f"{CHECKSUM_FILE} does not list {required}"
    for name, digest in listed.items():
        file = os.path.join(directory, name)
        if not os.path.exists(file):
            return f"{name} is missing"
        if sha256(file) != digest:
            return f"{name} does not match its checksum"
    return None


QWEN_MASK_TOKEN_ID = 151665  # Qwen2Import.QwenMaskTokenId


def _net_number(value):
    """A number as System.Text.Json writes a double: integral values without a fraction, exponents as 1E-06."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value).upper()
    return json.dumps(value)


def hugging_face_config_json(config, torch_dtype="float32"):
    """HuggingFaceQwen2Config.FromModelConfig(...).ToJson(): the Qwen2ForCausalLM config.json of a causal model
    (docs/recipe.md §1), keys sorted, 2-space indent, as the C# trainer writes it."""
    hd = config["head_dim"]
    fields = {
        "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": config["eos_token_id"],
        "eos_token_id": config["eos_token_id"], "hidden_act": "silu", "hidden_size": config["hidden_size"],
        "initializer_range": 0.02, "intermediate_size": config["intermediate_size"], "mask_token_id": config["mask_token_id"],
        "max_position_embeddings": config["max_position_embeddings"], "max_window_layers": config["num_hidden_layers"],
        "model_type": "qwen2", "num_attention_heads": config["num_attention_heads"],
        "num_hidden_layers": config["num_hidden_layers"], "num_key_value_heads": config["num_key_value_heads"],
        "pad_token_id": config["pad_token_id"], "rms_norm_eps": float(config["rms_norm_eps"]), "rope_scaling": None,
        "rope_theta": float(config["rope_theta"]), "sliding_window": config["max_position_embeddings"],
        "tie_word_embeddings": True, "torch_dtype": torch_dtype, "transformers_version": "4.44.0", "use_cache": True,
        "use_sliding_window": False, "vocab_size": config["vocab_size"],
    }
    if hd > 0 and hd != config["hidden_size"] // config["num_attention_heads"]:
        fields["head_dim"] = hd
    lines = []
    for key in sorted(fields):
        value = fields[key]
        text = "[\n    " + ",\n    ".join(json.dumps(v) for v in value) + "\n  ]" if isinstance(value, list) else _net_number(value)
        lines.append(f'  "{key}": {text}')
    return "{\n" + ",\n".join(lines) + "\n}"


def is_hugging_face_config(raw):
    return isinstance(raw, dict) and "model_type" in raw


def model_config_from_hugging_face(raw, source):
    """Qwen2Import's config for Architecture.Causal: how our AR folders (and HF Qwen2 folders) load as the causal model."""
    from .config import model_config
    if raw.get("model_type") not in (None, "qwen2"):
        raise CheckpointError(f"{source}: model_type is '{raw.get('model_type')}', expected 'qwen2' (Qwen2ForCausalLM)")
    if raw.get("hidden_act", "silu") != "silu":
        raise CheckpointError(f"{source}: hidden_act '{raw['hidden_act']}' is not supported (our MLP is SwiGLU with silu)")
    if raw.get("rope_scaling") is not None:
        raise CheckpointError(f"{source}: rope_scaling is not supported (only plain RoPE)")
    if raw.get("use_sliding_window"):
        raise CheckpointError(f"{source}: use_sliding_window = true is not supported")
    if not raw.get("tie_word_embeddings", False):
        raise CheckpointError(f"{source}: tie_word_embeddings = false (an lm_head) is not supported by the torch engine (import it with `ancoder import-qwen`)")
    first = lambda v: v[0] if isinstance(v, list) else v  # noqa: E731
    try:
        heads = raw["num_attention_heads"]
        eos = first(raw.get("eos_token_id")) if raw.get("eos_token_id") is not None else 0
        return model_config({
            "architecture": "causal", "vocab_size": raw["vocab_size"], "hidden_size": raw["hidden_size"],
            "intermediate_size": raw["intermediate_size"], "num_hidden_layers": raw["num_hidden_layers"],
            "num_attention_heads": heads, "num_key_value_heads": raw.get("num_key_value_heads") or heads,
            "head_dim": raw.get("head_dim") or 0, "rope_theta": raw.get("rope_theta", 10000.0),
            "rms_norm_eps": raw.get("rms_norm_eps", 1e-6), "max_position_embeddings": raw.get("max_position_embeddings", 32768),
            "mask_token_id": raw.get("mask_token_id") if raw.get("mask_token_id") is not None else QWEN_MASK_TOKEN_ID,
            "pad_token_id": first(raw["pad_token_id"]) if raw.get("pad_token_id") is not None else eos, "eos_token_id": eos,
        }, source)
    except KeyError as e:
        raise CheckpointError(f"{source}: missing {e.args[0]} (is this a Qwen2 config.json?)")


def config_text(config):
    """config.json of a model folder: ours, or Hugging Face's for the causal (AR) model (ModelCheckpoint.ConfigJson)."""
    if config["architecture"] == "causal":
        return hugging_face_config_json(config)
    return model_config_json(config)


def save_folder(directory, config, state_dict, tokenizer=None, max_shard_bytes=None, extra=None):
    """Writes a whole model folder atomically: staging sibling → rename (replacing an older folder at the end)."""
    target = os.path.abspath(directory).rstrip(os.sep)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    staging = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.tmp-{uuid.uuid4().hex[:8]}")
    os.makedirs(staging)
    try:
        text = (config_text(config) + "\n").encode()
        _atomic_write(os.path.join(staging, CONFIG_FILE), lambda f: f.write(text))
        tensors = {k: v.detach().float().cpu() if v.is_floating_point() else v.detach().cpu() for k, v in state_dict.items()}
        write_weights(staging, tensors, metadata_for(config), max_shard_bytes)
        for source, name in tokenizer_files(tokenizer):
            shutil.copyfile(source, os.path.join(staging, name))
        if extra is not None:
            extra(staging)
        if os.path.exists(target):
            old = f"{staging}.old"
            os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def load_model(directory):
    """A DiffusionModel with the folder's config and weights (names, shapes checked; stored bf16 → fp32). A Hugging
    Face Qwen2ForCausalLM folder (what AR runs write) loads as the causal model."""
    from .config import model_config
    from .model import DiffusionModel
    config_path = os.path.join(directory, CONFIG_FILE)
    if not os.path.exists(config_path):
        raise CheckpointError(f"{directory}: no {CONFIG_FILE} (not a checkpoint folder?)")
    try:
        with open(config_path) as f:
            raw = json.load(f)
    except ValueError as e:
        raise CheckpointError(f"{config_path}: not valid JSON ({e})")
    config = model_config_from_hugging_face(raw, config_path) if is_hugging_face_config(raw) else model_config(raw, config_path)
    model = DiffusionModel(config)
    load_state(model, read_weights(directory), directory)
    return model


def load_state(model, tensors, source):
    expected = model.state_dict()
    problems = [f"missing {n}" for n in expected if n not in tensors]
    problems += [f"unexpected {n}" for n in tensors if n not in expected]
    problems += [f"{n}: shape {list(tensors[n].shape)}, model {list(expected[n].shape)}"
                 for n in expected if n in tensors and tensors[n].shape != expected[n].shape]
    if problems:
        raise CheckpointError(f"{source} does not fit the model: " + "; ".join(problems))
    with torch.no_grad():
        for name, target in expected.items():
            target.copy_(tensors[name].to(target.dtype))
