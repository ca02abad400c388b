"""FSDP for the large presets (README "Scaling out"): parameters, gradients and AdamW state sharded across ranks.

DDP keeps a whole replica and its AdamW moments on every rank: 809M parameters are ~13 GB of fp32 weights, gradients
and moments per GPU before activations. FSDP (FullyShardedDataParallel) keeps 1/N of them per rank and gathers each
decoder layer only while it runs. The rest of the trainer is unchanged: the same global batch order, t and mask draws,
loss normalisation (FSDP averages gradients over ranks as DDP does), and checkpoints are written once, by rank 0, in
our folder format: the full weights (gathered to rank 0) as model.safetensors and the full AdamW state as optimizer.pt.

What runs where: torch 2.x on CUDA (NCCL) or CPU (gloo); torch 1.13's FSDP on CUDA only (its compute device is
hard-wired to CUDA). Debian's torch 1.13 under Python 3.11 cannot even import torch.distributed.fsdp (a dataclass
with a mutable default): `fsdp on` fails there in one line, `fsdp auto` falls back to DDP.
"""
import functools
import importlib

import torch

# `fsdp auto` shards models at least this large (the ancoder-809m preset; tiny and small stay on DDP).
AUTO_PARAMETERS = 300_000_000
_WRAPPER_PREFIXES = ("_fsdp_wrapped_module.", "_checkpoint_wrapped_module.", "_orig_mod.")


def torch_major():
    return int(torch.__version__.split(".")[0])


def unavailable(device):
    """None when FSDP can run on this device with this torch; else why, in one line."""
    if device.type != "cuda" and torch_major() < 2:
        return f"FSDP on CPU needs torch 2.x (torch {torch.__version__}'s FSDP runs on CUDA only)"
    try:
        importlib.import_module("torch.distributed.fsdp")
    except Exception as e:  # noqa: BLE001 (Debian 1.13 + Python 3.11: ValueError from dataclasses)
        return f"torch.distributed.fsdp cannot be imported with torch {torch.__version__} ({type(e).__name__}: {str(e).splitlines()[0]})"
    return None


def decide(mode, parameters, world, device):
    """(use FSDP?, a line to log or None). mode: on | off | auto (FSDP for ≥ AUTO_PARAMETERS with several processes).
    Raises ValueError (one line) when FSDP is asked for and cannot run."""
    if mode == "off" or (mode == "auto" and (world < 2 or parameters < AUTO_PARAMETERS)):
        return False, None
    reason = unavailable(device)
    if mode == "on":
        if world < 2:
            raise ValueError("fsdp on needs at least 2 processes (--nproc)")
        if reason:
            raise ValueError(reason)
        return True, None
    if reason:
        return False, f"fsdp auto: {parameters:,} parameters would be sharded, but {reason}; using DDP"
    return True, f"fsdp auto: {parameters:,} parameters, sharded over {world} processes"


def clean_name(name):
    for prefix in _WRAPPER_PREFIXES:
        name = name.replace(prefix, "")
    return name


def wrap(model, device):
    """FSDP with one unit per decoder layer (the embeddings, norms and the linear denoiser input stay in the root
    unit, which the tied unembedding reads inside the root forward). torch 2.x keeps the original parameters
    (use_orig_params) so the pretrained/fresh AdamW groups of the recipe work."""
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
    from torch.distributed.fsdp.wrap import transformer_auto_wrap_policy
    from .model import DecoderLayer
    kwargs = {"auto_wrap_policy": functools.partial(transformer_auto_wrap_policy, transformer_layer_cls={DecoderLayer})}
    if device.type == "cuda":
        kwargs["device_id"] = device
    if torch_major() >= 2:
        kwargs["use_orig_params"] = True
    return FSDP(model, **kwargs)


def full_weights(net):
    """The whole state dict, gathered to rank 0 on the CPU (every rank must call; the others get {})."""
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP, FullStateDictConfig, StateDictType
    with FSDP.state_dict_type(net, StateDictType.FULL_STATE_DICT, FullStateDictConfig(offload_to_cpu=True, rank0_only=True)):
        state = net.state_dict()
    return {clean_name(k): v for k, v in state.items()}


def full_optimizer_state(net, optimizer):
    """The whole AdamW state on rank 0 (every rank must call)."""
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
    return FSDP.full_optim_state_dict(net, optimizer)


def load_optimizer_state(net, optimizer, full):
    """Every rank passes the whole saved state; each keeps its shard."""
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
    optimizer.load_state_dict(FSDP.shard_full_optim_state_dict(full, net))
