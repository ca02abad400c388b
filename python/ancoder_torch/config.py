"""Model and training configs: the snake_case JSON of ModelConfig.cs and TrainingConfig.cs, read and resolved."""
import json

# src/AnCoder.Diffusion/Configuration/ModelConfig.cs defaults.
MODEL_DEFAULTS = {
    "architecture": "anchored", "vocab_size": 8192, "mask_token_id": 1, "pad_token_id": 2, "eos_token_id": 0,
    "hidden_size": 128, "intermediate_size": 352, "num_hidden_layers": 2, "denoiser_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 0, "rope_theta": 10000.0,
    "rms_norm_eps": 1e-6, "max_position_embeddings": 1024, "denoiser_input": "softmax", "shift": False,
}
DIFFUSION_DEFAULTS = {
    "schedule": "cosine2", "schedule_epsilon": 1e-3, "time_epsilon": 1e-3, "strategy": "anchortree",
    "anchor_lambda": 0.03, "anchor_rho": 0.8, "anchor_d0": 2, "anchor_loss_on": "all", "anchor_warmup": False,
    # The left-to-right rows (docs/recipe.md §10) are a C#-engine training option: `--engine torch` refuses them
    # (TorchEngine.UnsupportedSettings); a model config carries them at these values, written as C# writes them.
    "left_to_right_fraction": 0, "left_to_right_block": 1,
}

# ModelPresets.cs (a test compares these with the C# presets).
PRESETS = {
    "tiny": dict(hidden_size=128, intermediate_size=352, num_hidden_layers=2, denoiser_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024),
    "small": dict(hidden_size=256, intermediate_size=704, num_hidden_layers=6, denoiser_layers=3,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048),
    "ancoder-809m": dict(vocab_size=151936, mask_token_id=151665, pad_token_id=151643, eos_token_id=151643,
                         hidden_size=896, intermediate_size=4864, num_hidden_layers=24, denoiser_layers=12,
                         num_attention_heads=14, num_key_value_heads=2, head_dim=64, rope_theta=1000000.0,
                         rms_norm_eps=1e-6, max_position_embeddings=32768),
}

# The TrainingConfig.cs fields this engine implements, with their C# defaults (docs/algorithms.md §10). The one list of
# them on the C# side is TorchEngine.SupportedFields (src/AnCoder.Diffusion/Training/TorchEngine.cs; a test compares the
# two): `ancoder train --engine torch` refuses every other field that differs from its default and hands over only
# these, so a new C# option touches only TrainingConfig.cs and its consumer. Given directly, a field not listed here is
# refused (training_config), never silently ignored.
TRAINING_DEFAULTS = {
    "model": "tiny", "model_config_file": None, "strategy": "anchortree", "anchor_lambda": None, "anchor_rho": None,
    "anchor_d0": None, "schedule": "cosine2", "anchor_loss_on": "all", "anchor_warmup": False, "data": None,
    "sft": False, "train_split": "train", "valid_split": "valid", "packing": "pack", "context_length": 256, "micro_batch": 8,
    "gradient_accumulation": 1, "max_steps": None, "max_tokens": None, "learning_rate": 3e-4, "warmup_ratio": 0.01,
    "min_lr_ratio": 0.1, "weight_decay": 0.0, "beta1": 0.9, "beta2": 0.999, "adam_epsilon": 1e-8, "grad_clip": 1.0,
    "precision": "fp32", "seed": 0, "threads": 0, "log_interval": 10, "validation_interval": 200,
    "validation_batches": 8, "checkpoint_interval": 500, "keep_last": 3, "output": None, "init": None,
    "objective": "diffusion", "denoiser_init": "copy", "pretrained_learning_rate": None,
}

# AnchorWeightOptions.Defaults: (λ, ρ, d0) per strategy (docs/algorithms.md §5).
STRATEGY_DEFAULTS = {"keyword": (0.1, 1.0, 0), "identifier": (0.003, 1.0, 0), "anchortree": (0.03, 0.8, 2)}
STRATEGIES = ["mdlm", "null", "keyword", "identifier", "anchortree"]


class ConfigError(Exception):
    pass


def head_dim(c):
    return c["head_dim"] or c["hidden_size"] // c["num_attention_heads"]


def load_model_config(path):
    with open(path) as f:
        raw = json.load(f)
    return model_config(raw, path)


def model_config(raw, source="config.json"):
    unknown = set(raw) - set(MODEL_DEFAULTS) - {"diffusion"}
    if unknown:
        raise ConfigError(f"{source}: unknown field(s) {', '.join(sorted(unknown))}")
    config = {**MODEL_DEFAULTS, **{k: v for k, v in raw.items() if k != "diffusion"}}
    config["diffusion"] = {**DIFFUSION_DEFAULTS, **raw.get("diffusion", {})}
    unknown = set(config["diffusion"]) - set(DIFFUSION_DEFAULTS)
    if unknown:
        raise ConfigError(f"{source}: unknown diffusion field(s) {', '.join(sorted(unknown))}")
    if config["architecture"] not in ("mdlm", "anchored", "causal"):
        raise ConfigError(f"{source}: architecture '{config['architecture']}' must be mdlm, anchored or causal")
    if config["denoiser_input"] not in ("softmax", "logits", "linear"):
        raise ConfigError(f"{source}: denoiser_input '{config['denoiser_input']}' must be softmax, logits or linear")
    return config


def model_config_json(config):
    """config.json text in ModelConfig.ToJson's field order (2-space indent, trailing newline added by the writer)."""
    ordered = {k: config[k] for k in MODEL_DEFAULTS}
    ordered["diffusion"] = {k: config["diffusion"][k] for k in DIFFUSION_DEFAULTS}
    return json.dumps(ordered, indent=2)


def anchor_weight_options(training):
    """(strategy, λ, ρ, d0) with the strategy's defaults filled in."""
    strategy = training["strategy"]
    lam, rho, d0 = STRATEGY_DEFAULTS.get(strategy, (0.0, 1.0, 0))
    pick = lambda given, default: default if given is None else given  # noqa: E731
    return strategy, pick(training["anchor_lambda"], lam), pick(training["anchor_rho"], rho), pick(training["anchor_d0"], d0)


def diffusion_settings(training):
    """TrainingRun.Settings: the model's diffusion block from the training config."""
    _, lam, rho, d0 = anchor_weight_options(training)
    return {**DIFFUSION_DEFAULTS, "schedule": training["schedule"], "strategy": training["strategy"],
            "anchor_lambda": lam, "anchor_rho": rho, "anchor_d0": d0, "anchor_loss_on": training["anchor_loss_on"],
            "anchor_warmup": training["anchor_warmup"]}


def load_training_config(path, overrides=None):
    with open(path) as f:
        raw = json.load(f)
    return training_config(raw, path, overrides)


def training_config(raw, source="training config", overrides=None):
    unknown = set(raw) - set(TRAINING_DEFAULTS)
    if unknown:
        raise ConfigError(f"{source}: field(s) {', '.join(sorted(unknown))} are not implemented by the torch engine (train them with "
                          "the C# engine; `ancoder train --engine torch` hands over only the fields this engine implements)")
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    config = {**TRAINING_DEFAULTS, **raw, **given}
    if "max_steps" in given:
        config["max_tokens"] = None
    problems = []
    if config["strategy"] not in STRATEGIES:
        problems.append(f"strategy '{config['strategy']}' is not one of {', '.join(STRATEGIES)}")
    if not config["data"]:
        problems.append("data must name a folder written by `ancoder prepare`")
    if not config["output"]:
        problems.append("output must name the run folder")
    if (config["max_steps"] is None) == (config["max_tokens"] is None):
        problems.append("give exactly one of max_steps and max_tokens")
    if config["precision"] not in ("fp32", "bf16"):
        problems.append(f"precision '{config['precision']}' must be fp32 or bf16")
    if config["packing"] not in ("pack", "truncate"):
        problems.append(f"packing '{config['packing']}' must be pack or truncate")
    if config["objective"] not in ("diffusion", "ar"):
        problems.append(f"objective '{config['objective']}' must be diffusion or ar")
    if config["denoiser_init"] not in ("copy", "identity"):
        problems.append(f"denoiser_init '{config['denoiser_init']}' must be copy or identity")
    if config["pretrained_learning_rate"] is not None and not config["pretrained_learning_rate"] > 0:
        problems.append(f"pretrained_learning_rate must be positive (got {config['pretrained_learning_rate']})")
    if config["sft"] and config["packing"] != "pack":
        problems.append(f"packing '{config['packing']}' does not apply with sft (one pair per row)")
    for name in ("context_length", "micro_batch", "gradient_accumulation", "learning_rate", "log_interval", "keep_last"):
        if not config[name] > 0:
            problems.append(f"{name} must be positive (got {config[name]})")
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))
    return config


def total_steps(training):
    if training["max_steps"] is not None:
        return int(training["max_steps"])
    per_step = training["micro_batch"] * training["gradient_accumulation"] * training["context_length"]
    return (int(training["max_tokens"]) + per_step - 1) // per_step


def learning_rate(step, total, peak, warmup_ratio, min_lr_ratio):
    """LearningRateSchedule.At: linear warm-up over ⌈ratio·total⌉ steps, then cosine to peak·min_lr_ratio."""
    import math
    step = min(max(step, 0), total - 1)
    warmup = 0 if warmup_ratio <= 0 else min(total, math.ceil(warmup_ratio * total - 1e-9))
    if step < warmup:
        return peak * (step + 1) / warmup
    decay = total - warmup - 1
    progress = 0.0 if decay <= 0 else (step - warmup) / decay
    floor = peak * min_lr_ratio
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * progress))
