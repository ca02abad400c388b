"""`python -m ancoder_torch.train`: the PyTorch engine of `ancoder train` (README "Scaling out").

One process, or `torchrun --nproc_per_node N` (DDP; gloo on CPU, NCCL on CUDA). The global micro-batch is the
config's micro_batch: rank r of N takes rows [r·B/N, (r+1)·B/N) of each global batch the C# DataLoader order gives,
t and masks are drawn for the whole global batch from one seeded generator on every rank, and each micro-batch's
loss is divided by the valid tokens of the whole global batch, so N processes compute the gradient one process
would (docs/algorithms.md §1, §5). Rank 0 alone writes metrics.jsonl, checkpoints and the final model.
"""
import argparse
import json
import math
import os
import signal
import sys
import time

import numpy as np
import torch
import torch.distributed as dist

from . import checkpoint as ckpt
from .config import (ConfigError, PRESETS, MODEL_DEFAULTS, anchor_weight_options, diffusion_settings, learning_rate,
                     load_model_config, load_training_config, model_config, total_steps)
from .data import DataLoader, ShardError, open_split, read_manifest
from .diffusion import forward_mask, key_mask, loss_sums, mask_with_draws, stratified_times, warmup_scale
from .model import DiffusionModel
from . import next_token
from . import sharding

METRICS_FILE = "metrics.jsonl"
VALIDATION_SEED = 0  # Trainer.ValidationSeed: every run is validated on the same rows with the same masks (issue 16)


class TrainingError(Exception):
    pass


def step_folder(step):
    return f"step-{step:07d}"


def list_checkpoints(run):
    root = os.path.join(run, "checkpoints")
    found = []
    if os.path.isdir(root):
        for name in os.listdir(root):
            if name.startswith("step-") and name[5:].isdigit() and len(name) >= 12:
                found.append((int(name[5:]), os.path.join(root, name)))
    return sorted(found, reverse=True)


def latest_valid_checkpoint(run, warn):
    for step, path in list_checkpoints(run):
        problem = ckpt.verify(path)
        if problem is None:
            return step, path
        warn(f"ignoring checkpoint {path}: {problem}")
    return None


def architecture_of(training):
    """TrainingRun.ArchitectureOf: causal for the ar objective, else mdlm or anchored by strategy."""
    if training["objective"] == "ar":
        return "causal"
    return "mdlm" if training["strategy"] == "mdlm" else "anchored"


def run_label(training):
    """TrainingConfig.RunLabel: what metrics.jsonl records as `strategy`."""
    return "ar" if training["objective"] == "ar" else training["strategy"]


def residual_output_names(prefix, layers):
    """Adaptation.ResidualOutputNames: each layer's attention and MLP output projections (docs/recipe.md §3)."""
    return [f"{prefix}.layers.{i}.{name}" for i in range(layers) for name in ("self_attn.o_proj.weight", "mlp.down_proj.weight")]


def build_model(training, data_config):
    """TrainingRun.BuildModel, then denoiser_init identity: ψ's residual outputs zeroed, so ψ starts as the identity
    on its input (Adaptation.ZeroResidualOutputs; a no-op on weights `ancoder train --engine torch` already adapted)."""
    model = _initial_model(training, data_config)
    if training["denoiser_init"] == "identity" and model.config["architecture"] == "anchored":
        parameters = dict(model.named_parameters())
        with torch.no_grad():
            for name in residual_output_names("denoiser", model.config["denoiser_layers"]):
                parameters[name].zero_()
    return model


def parameter_groups(named, training, architecture):
    """TrainingRun.ParameterGroups: with pretrained_learning_rate and a pretrained start (init), the parameters copied
    from the pretrained model at that peak and the fresh ones (ψ's zeroed residual outputs under denoiser_init
    identity, the linear denoiser input) at learning_rate; else one group. Each group keeps its peak in "peak"."""
    named = [(sharding.clean_name(n), p) for n, p in named]
    rate = training["pretrained_learning_rate"]
    if rate is None or not training["init"]:
        return [{"params": [p for _, p in named], "peak": training["learning_rate"]}]
    fresh = {n for n, _ in named if n.startswith("denoiser_input.")}
    if training["denoiser_init"] == "identity" and architecture == "anchored":
        layers = 1 + max((int(n.split(".")[2]) for n, _ in named if n.startswith("denoiser.layers.")), default=-1)
        fresh |= set(residual_output_names("denoiser", layers))
    groups = [{"params": [p for n, p in named if n not in fresh], "peak": rate},
              {"params": [p for n, p in named if n in fresh], "peak": training["learning_rate"]}]
    return [g for g in groups if g["params"]]


def _initial_model(training, data_config):
    """From our checkpoint or an AR (Hugging Face Qwen2) folder (init), a model config file, or a preset; seeded."""
    architecture = architecture_of(training)
    settings = diffusion_settings(training)
    if training["init"]:
        model = ckpt.load_model(training["init"])
        if model.config["architecture"] == "causal" and architecture != "causal":
            raise TrainingError(f"{training['init']}: adapting an autoregressive (Hugging Face Qwen2) folder to diffusion is not in the "
                                "torch engine yet: convert it with `ancoder import-qwen` and pass that folder to init")
        if model.config["architecture"] != architecture:
            raise TrainingError(f"{training['init']}: an {model.config['architecture']} model cannot train with "
                                f"{'objective `ar`' if architecture == 'causal' else 'strategy `' + training['strategy'] + '`'}")
        model.config["diffusion"] = settings
        return model
    if training["model_config_file"]:
        shape = load_model_config(training["model_config_file"])
    elif training["model"] in PRESETS:
        shape = model_config({**MODEL_DEFAULTS, **PRESETS[training["model"]]})
    else:
        raise ConfigError(f"model '{training['model']}' is not a preset ({', '.join(PRESETS)}); give model_config_file")
    torch.manual_seed(training["seed"])
    return DiffusionModel({**shape, "architecture": architecture, "diffusion": settings})


class Run:
    def __init__(self, training, args):
        self.training, self.args = training, args
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.distributed = self.world > 1
        use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
        if self.distributed:
            dist.init_process_group("nccl" if use_cuda else "gloo")
        self.device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}" if use_cuda else "cpu")
        if use_cuda:
            torch.cuda.set_device(self.device)
        threads = training["threads"] or max(1, (os.cpu_count() or 1) // max(1, self.world if not use_cuda else 1))
        torch.set_num_threads(threads)
        if training["micro_batch"] % self.world:
            raise TrainingError(f"micro_batch {training['micro_batch']} must be a multiple of the {self.world} processes")
        self.output = os.path.abspath(training["output"])
        self.stop_requested = False
        self.sharded, self.net = False, None

    def log(self, message):
        if self.rank == 0:
            print(message, file=sys.stderr, flush=True)

    def all_sum(self, values):
        t = torch.tensor(values, dtype=torch.float64)
        if self.distributed:
            if self.device.type == "cuda":
                t = t.to(self.device)
            dist.all_reduce(t)
        return t.cpu().tolist()

    def run(self):
        tr, args = self.training, self.args
        os.makedirs(self.output, exist_ok=True)
        checkpoint = None
        if args.resume:
            newest = list_checkpoints(self.output)[:1]
            if newest and os.path.exists(os.path.join(newest[0][1], "optimizer.bin")) and not os.path.exists(os.path.join(newest[0][1], ckpt.OPTIMIZER_FILE)):
                raise TrainingError(f"{self.output}: written by the C# engine ({newest[0][1]} holds TorchSharp optimizer state, which this engine "
                                    f"does not read): continue it with `ancoder train --out {self.output} --resume`, or start a torch run from its weights with init {newest[0][1]}")
            checkpoint = latest_valid_checkpoint(self.output, self.log)
            if checkpoint is None:
                self.log(f"no valid checkpoint in {self.output}: starting from step 0")
        elif list_checkpoints(self.output):
            raise TrainingError(f"{self.output} already holds checkpoints of a run: continue it with --resume, or choose another output folder")
        manifest = read_manifest(tr["data"])
        data = manifest["config"]
        if tr["sft"] and manifest.get("kind") != "sft":
            raise TrainingError(f"{tr['data']}: holds a pre-training corpus; sft trains on fine-tuning pairs (run `ancoder prepare --sft`)")
        if not tr["sft"] and manifest.get("kind") == "sft":
            raise TrainingError(f"{tr['data']}: holds fine-tuning pairs; train on them with sft = true (--sft)")
        model = build_model(tr, data)
        c = model.config
        problems = []
        if data["vocab_size"] > c["vocab_size"]:
            problems.append(f"the data's vocabulary ({data['vocab_size']}) is larger than the model's vocab_size ({c['vocab_size']})")
        if data["mask_id"] != c["mask_token_id"]:
            problems.append(f"mask id: data {data['mask_id']}, model {c['mask_token_id']}")
        if data["pad_id"] != c["pad_token_id"]:
            problems.append(f"pad id: data {data['pad_id']}, model {c['pad_token_id']}")
        if tr["context_length"] > c["max_position_embeddings"]:
            problems.append(f"context_length {tr['context_length']} exceeds the model's max_position_embeddings {c['max_position_embeddings']}")
        if problems:
            raise TrainingError(f"{tr['data']}: data and model do not fit: " + "; ".join(problems))
        tokenizer = data.get("tokenizer")
        self.tokenizer = tokenizer if tokenizer and os.path.exists(tokenizer) else None

        options = anchor_weight_options(tr)
        mode = "sft" if tr["sft"] else tr["packing"]
        shards = open_split(tr["data"], tr["train_split"])
        local = range(self.rank * tr["micro_batch"] // self.world, (self.rank + 1) * tr["micro_batch"] // self.world)
        loader = DataLoader(shards, tr["context_length"], tr["micro_batch"], tr["seed"], options, data["eos_id"], data["pad_id"], mode)
        valid_shards = open_split(tr["data"], tr["valid_split"], optional=True)
        valid_loader = None
        if sum(s.tokens for s in valid_shards) > 0 and tr["validation_batches"] > 0:
            valid_loader = DataLoader(valid_shards, tr["context_length"], tr["micro_batch"], VALIDATION_SEED, options, data["eos_id"], data["pad_id"], mode)

        model.to(self.device)
        total = total_steps(tr)
        parameter_count = sum(p.numel() for p in model.parameters())
        try:
            self.sharded, note = sharding.decide(args.fsdp, parameter_count, self.world, self.device)
        except ValueError as e:
            raise TrainingError(str(e))
        if note:
            self.log(note)
        state = self.restore_weights(checkpoint[1], model, total) if checkpoint is not None else None
        # Weights first (FSDP shards what the model holds when it is wrapped), then the optimizer over what trains.
        net = model
        if self.sharded:
            net = sharding.wrap(model, self.device)
        elif self.distributed:
            net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        self.net = net
        groups = parameter_groups((net if self.sharded else model).named_parameters(), tr, c["architecture"])
        optimizer = torch.optim.AdamW(groups, lr=tr["learning_rate"], betas=(tr["beta1"], tr["beta2"]),
                                      eps=tr["adam_epsilon"], weight_decay=tr["weight_decay"])
        generator = torch.Generator().manual_seed(tr["seed"])
        step, tokens, wall_before = 0, 0, 0.0
        if checkpoint is not None:
            peaks = [g["peak"] for g in optimizer.param_groups]
            step, tokens, wall_before = self.restore_state(checkpoint[1], state, net, optimizer, generator, loader)
            for group, peak in zip(optimizer.param_groups, peaks):
                group["peak"] = peak
        if self.rank == 0 and checkpoint is None:
            with open(os.path.join(self.output, "config.json"), "w") as f:
                json.dump({k: v for k, v in tr.items()}, f, indent=2)
                f.write("\n")
        autocast = tr["precision"] == "bf16"
        params = [p for p in net.parameters()]
        autoregressive = c["architecture"] == "causal"
        self.log(f"training {parameter_count:,} parameters, {run_label(tr)}, steps {step}→{total}, "
                 f"{self.world} process(es) on {self.device.type}{' (FSDP)' if self.sharded else ''}, "
                 f"global micro-batch {tr['micro_batch']} × {tr['gradient_accumulation']}")

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: setattr(self, "stop_requested", True))
        metrics = self.open_metrics(step) if self.rank == 0 else None
        start, window = time.time(), []
        last_checkpoint = checkpoint[1] if checkpoint else None
        status = "completed"
        while step < total:
            lr = learning_rate(step, total, tr["learning_rate"], tr["warmup_ratio"], tr["min_lr_ratio"])
            for group in optimizer.param_groups:  # every group follows the same warm-up and cosine from its own peak
                group["lr"] = learning_rate(step, total, group["peak"], tr["warmup_ratio"], tr["min_lr_ratio"])
            step_start = time.time()
            scale = warmup_scale(c["diffusion"]["anchor_lambda"], step, total) if c["diffusion"]["anchor_warmup"] else 1.0
            loss_v = den_v = anc_v = 0.0
            step_tokens = 0
            accumulation = tr["gradient_accumulation"]
            for micro in range(accumulation):
                b = loader.next_batch(local)
                ids = torch.from_numpy(b.ids)
                weights, cond, valid = torch.from_numpy(b.weights), torch.from_numpy(b.prompt), torch.from_numpy(b.valid)
                dev = lambda x: x.to(self.device, non_blocking=True)  # noqa: E731
                sync = (not self.distributed) or micro == accumulation - 1
                context = net.no_sync() if (self.distributed and not sync) else _Null()
                if autoregressive:
                    # docs/recipe.md §1: clean rows, nothing masked, no draws (the C# AR step uses no generator).
                    ids_d, cond_d, valid_d = map(dev, (ids, cond, valid))
                    with context:
                        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=autocast):
                            logits, _ = net(ids_d, key_mask(valid_d))
                        den, n_valid = next_token.loss_sums(logits, ids_d, cond_d, valid_d, c["mask_token_id"])
                        anc, anc_value = None, 0.0
                        g_den, g_anc, g_valid, g_rows_valid = self.all_sum([float(den), 0.0, n_valid, int(b.valid.sum())])
                        denominator = max(g_valid, 1.0)
                        (den * (self.world / denominator / accumulation)).backward()
                    loss_v += g_den / denominator / accumulation
                    den_v += g_den / denominator / accumulation
                    step_tokens += int(g_rows_valid)
                    continue
                # t and masks for the whole global batch from the shared generator; this rank keeps its rows.
                t_all = stratified_times(tr["micro_batch"], c["diffusion"]["time_epsilon"], generator)
                draws = torch.rand((tr["micro_batch"], tr["context_length"]), dtype=torch.float64, generator=generator)
                t = t_all[local.start:local.stop]
                noisy, _ = mask_with_draws(ids, t, draws[local.start:local.stop], c["diffusion"]["schedule"],
                                           c["diffusion"]["schedule_epsilon"], cond, c["mask_token_id"])
                ids_d, noisy_d, weights_d, cond_d, valid_d, t_d = map(dev, (ids, noisy, weights, cond, valid, t))
                with context:
                    with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=autocast):
                        denoiser_logits, anchor_logits = net(noisy_d, key_mask(valid_d))
                    den, anc, n_valid, _ = loss_sums(denoiser_logits, anchor_logits, ids_d, weights_d, cond_d, valid_d, noisy_d,
                                                     t_d, c["diffusion"], c["mask_token_id"], scale)
                    anc_value = 0.0 if anc is None else float(anc)
                    g_den, g_anc, g_valid, g_rows_valid = self.all_sum([float(den), anc_value, n_valid, int(b.valid.sum())])
                    denominator = max(g_valid, 1.0)
                    local_loss = den if anc is None else den + anc
                    (local_loss * (self.world / denominator / accumulation)).backward()
                loss_v += (g_den + g_anc) / denominator / accumulation
                den_v += g_den / denominator / accumulation
                anc_v += g_anc / denominator / accumulation
                step_tokens += int(g_rows_valid)
            max_norm = tr["grad_clip"] if tr["grad_clip"] > 0 else float("inf")
            grad_norm = float(net.clip_grad_norm_(max_norm) if self.sharded else torch.nn.utils.clip_grad_norm_(params, max_norm))
            if not (math.isfinite(loss_v) and math.isfinite(grad_norm)):
                self.log(f"stopped at step {step + 1}: loss {loss_v}, gradient norm {grad_norm} (try a lower learning_rate or fp32); last good checkpoint: {last_checkpoint or 'none'}")
                status = "diverged"
                break
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            tokens += step_tokens
            window.append((loss_v, den_v, anc_v, grad_norm, step_tokens, time.time() - step_start))
            elapsed = wall_before + time.time() - start
            if self.rank == 0 and not args.quiet:
                print(f"step {step}/{total} loss {loss_v:.4f} (denoiser {den_v:.4f}, anchor {anc_v:.4f}) lr {lr:.2e} "
                      f"grad {grad_norm:.3f} {step_tokens / max(1e-9, time.time() - step_start):,.0f} tok/s", file=sys.stderr, flush=True)
            last = step == total
            over_budget = args.time_budget is not None and time.time() - start >= args.time_budget
            stop = self.all_sum([1.0 if (self.stop_requested or over_budget) else 0.0])[0] > 0
            valid_nelbo = None
            # Rank 0 alone validates on its whole replica; sharded, every rank takes part in each forward.
            if valid_loader is not None and (self.rank == 0 or self.sharded) and (last or stop or (tr["validation_interval"] > 0 and step % tr["validation_interval"] == 0)):
                valid_nelbo = self.validate(net if self.sharded else model, valid_loader, c)
                if self.rank != 0:
                    valid_nelbo = None
            if self.rank == 0 and (last or stop or step % tr["log_interval"] == 0 or valid_nelbo is not None):
                n = len(window)
                record = {"step": step, "tokens": tokens, "wall_seconds": round(elapsed, 3), "lr": lr,
                          "loss": sum(w[0] for w in window) / n, "denoiser_nll": sum(w[1] for w in window) / n,
                          "anchor_nll": sum(w[2] for w in window) / n, "grad_norm": sum(w[3] for w in window) / n,
                          "tokens_per_second": round(sum(w[4] for w in window) / max(1e-9, sum(w[5] for w in window)), 1)}
                if valid_nelbo is not None:
                    record["valid_nelbo"] = valid_nelbo
                record["strategy"] = run_label(tr)
                metrics.write(json.dumps(record) + "\n")
                metrics.flush()
                window = []
            if last or stop or (tr["checkpoint_interval"] > 0 and step % tr["checkpoint_interval"] == 0):
                last_checkpoint = self.save_checkpoint(model, optimizer, generator, loader, step, total, tokens, elapsed, lr)
            if args.exit_after_step is not None and step == args.exit_after_step:
                os._exit(3)  # test hook: a process killed right after this step (no clean-up, no final model)
            if stop and not last:
                status = "time budget reached" if over_budget else "interrupted"
                break
        if metrics:
            metrics.close()
        if status in ("completed", "time budget reached"):
            weights = sharding.full_weights(net) if self.sharded else model.state_dict()
            if self.rank == 0:
                model_dir = os.path.join(self.output, "model")
                ckpt.save_folder(model_dir, c, weights, self.tokenizer, self.max_shard_bytes())
                self.log(f"{status}: {step} of {total} steps, {tokens:,} tokens; model: {model_dir}")
        else:
            self.log(f"{status} after step {step} of {total}; checkpoint {last_checkpoint}; continue with --resume")
        if self.distributed:
            dist.barrier()
            dist.destroy_process_group()
        return 0 if status in ("completed", "time budget reached", "interrupted") else 1

    def open_metrics(self, step):
        """MetricsLog: keep the lines through the step the run (re)starts from, drop later and torn ones, append."""
        path = os.path.join(self.output, METRICS_FILE)
        kept = []
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    try:
                        if json.loads(line)["step"] <= step:
                            kept.append(line if line.endswith("\n") else line + "\n")
                    except (ValueError, KeyError):
                        pass
        with open(path, "w") as f:
            f.writelines(kept)
        return open(path, "a")

    def max_shard_bytes(self):
        return None if self.args.max_shard_mb is None else int(self.args.max_shard_mb * 1024 * 1024)

    @torch.no_grad()
    def validate(self, model, loader, c):
        """Trainer.Validate: mean plain NELBO over the first validation batches with a fixed generator; for the AR
        objective the next-token NLL summed over those batches and divided by their target count."""
        tr = self.training
        loader.position = (-1, 0)
        batches = min(tr["validation_batches"], (loader.rows + loader.batch_size - 1) // loader.batch_size)
        generator = torch.Generator().manual_seed(VALIDATION_SEED + 7919)
        total, targets = 0.0, 0
        for _ in range(batches):
            b = loader.next_batch()
            ids, cond, valid = torch.from_numpy(b.ids), torch.from_numpy(b.prompt), torch.from_numpy(b.valid)
            if c["architecture"] == "causal":
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=tr["precision"] == "bf16"):
                    logits, _ = model(ids.to(self.device), key_mask(valid.to(self.device)))
                nll, count = next_token.loss_sums(logits, ids.to(self.device), cond.to(self.device), valid.to(self.device), c["mask_token_id"])
                total += float(nll)
                targets += count
                continue
            t = stratified_times(ids.shape[0], c["diffusion"]["time_epsilon"], generator)
            noisy, _ = forward_mask(ids, t, c["diffusion"]["schedule"], c["diffusion"]["schedule_epsilon"], cond, c["mask_token_id"], generator)
            dev = lambda x: x.to(self.device)  # noqa: E731
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=tr["precision"] == "bf16"):
                logits, _ = model(dev(noisy), key_mask(dev(valid)))
            den, _, n_valid, _ = loss_sums(logits, None, dev(ids), dev(torch.from_numpy(b.weights)), dev(cond), dev(valid), dev(noisy),
                                           dev(t), c["diffusion"], c["mask_token_id"], 0.0)
            total += float(den) / max(n_valid, 1)
        return total / max(targets, 1) if c["architecture"] == "causal" else total / batches

    def save_checkpoint(self, model, optimizer, generator, loader, step, total, tokens, wall, lr):
        directory = os.path.join(self.output, "checkpoints", step_folder(step))
        # Sharded, every rank takes part in gathering; rank 0 alone writes (one folder, our format).
        weights = sharding.full_weights(self.net) if self.sharded else None
        optimizer_state = sharding.full_optimizer_state(self.net, optimizer) if self.sharded else None
        if self.rank == 0:
            epoch, cursor = loader.position
            state = {"version": 1, "step": step, "total_steps": total, "tokens": tokens, "wall_seconds": wall,
                     "loader_epoch": epoch, "loader_cursor": cursor, "strategy": self.training["strategy"], "learning_rate": lr,
                     "engine": "torch", "world_size": self.world, "fsdp": self.sharded}

            def extra(staging):
                torch.save(optimizer_state if self.sharded else optimizer.state_dict(), os.path.join(staging, ckpt.OPTIMIZER_FILE))
                torch.save(generator.get_state(), os.path.join(staging, ckpt.GENERATOR_FILE))
                with open(os.path.join(staging, ckpt.STATE_FILE), "w") as f:
                    f.write(json.dumps(state, indent=2) + "\n")
                ckpt.write_checksums(staging)
            ckpt.save_folder(directory, model.config, weights if self.sharded else model.state_dict(), self.tokenizer, self.max_shard_bytes(), extra)
            for _, old in list_checkpoints(self.output)[self.training["keep_last"]:]:
                import shutil
                shutil.rmtree(old, ignore_errors=True)
            self.log(f"checkpoint {directory}")
        if self.distributed:
            dist.barrier()
        return directory

    def restore_weights(self, directory, model, total):
        """The checkpoint's trainer state (checked against this run) and its weights, into the unwrapped model."""
        try:
            with open(os.path.join(directory, ckpt.STATE_FILE)) as f:
                state = json.load(f)
            if state["total_steps"] != total:
                raise TrainingError(f"{directory}: the checkpoint belongs to a {state['total_steps']}-step schedule, the config asks for {total} steps")
            if state["strategy"] != self.training["strategy"]:
                raise TrainingError(f"{directory}: checkpoint strategy `{state['strategy']}`, config strategy `{self.training['strategy']}`")
            if bool(state.get("fsdp", False)) != self.sharded:
                raise TrainingError(f"{directory}: written {'with' if state.get('fsdp') else 'without'} FSDP; resume it with --fsdp "
                                    f"{'on' if state.get('fsdp') else 'off'} (the AdamW state is stored differently)")
            ckpt.load_state(model, ckpt.read_weights(directory), directory)
            model.to(self.device)
        except (OSError, KeyError, ValueError, ckpt.CheckpointError) as e:
            raise TrainingError(f"cannot resume from {directory}: {e}")
        return state

    def restore_state(self, directory, state, net, optimizer, generator, loader):
        """AdamW state (each rank its shard under FSDP), the draw generator and the loader position."""
        try:
            saved = torch.load(os.path.join(directory, ckpt.OPTIMIZER_FILE), map_location="cpu" if self.sharded else self.device)
            if self.sharded:
                sharding.load_optimizer_state(net, optimizer, saved)
            else:
                optimizer.load_state_dict(saved)
            generator.set_state(torch.load(os.path.join(directory, ckpt.GENERATOR_FILE)))
            loader.position = (state["loader_epoch"], state["loader_cursor"])
        except (OSError, KeyError, ValueError) as e:
            raise TrainingError(f"cannot resume from {directory}: {e}")
        self.log(f"resumed from {directory} (step {state['step']})")
        return state["step"], state["tokens"], state["wall_seconds"]


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m ancoder_torch.train", description=__doc__.split("\n")[0])
    p.add_argument("--config", help="training config JSON (TrainingConfig's snake_case fields, as `ancoder train` writes run/config.json)")
    p.add_argument("--data", help="folder written by `ancoder prepare` (manifest.json + shards)")
    p.add_argument("--out", help="run folder (metrics.jsonl, checkpoints/, model/)")
    p.add_argument("--model", help="preset: tiny, small, ancoder-809m")
    p.add_argument("--model-config", help="a model config.json (overrides --model)")
    p.add_argument("--init", help="initialise from one of our checkpoint folders")
    p.add_argument("--strategy", help="mdlm, null, keyword, identifier or anchortree")
    p.add_argument("--max-steps", type=int)
    p.add_argument("--micro-batch", type=int, help="global micro-batch (split across processes)")
    p.add_argument("--gradient-accumulation", type=int)
    p.add_argument("--context-length", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--precision", choices=["fp32", "bf16"])
    p.add_argument("--seed", type=int)
    p.add_argument("--threads", type=int, help="torch threads per process (0 = cores / processes)")
    p.add_argument("--checkpoint-interval", type=int)
    p.add_argument("--log-interval", type=int)
    p.add_argument("--resume", action="store_true", help="continue from the newest valid checkpoint in --out")
    p.add_argument("--time-budget", type=float, help="stop after this many seconds of training, checkpoint and save the model")
    p.add_argument("--max-shard-mb", type=float, help="split model.safetensors into shards of at most this many MiB")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--fsdp", choices=["auto", "on", "off"], default="auto",
                   help="shard parameters, gradients and AdamW state (FSDP) instead of DDP; auto: for models of ≥ 300M "
                        "parameters (the ancoder-809m preset) with several processes, where this torch supports it")
    p.add_argument("--quiet", action="store_true", help="no per-step line")
    p.add_argument("--exit-after-step", type=int, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    overrides = {"data": args.data, "output": args.out, "model": args.model, "model_config_file": args.model_config,
                 "init": args.init, "strategy": args.strategy, "max_steps": args.max_steps, "micro_batch": args.micro_batch,
                 "gradient_accumulation": args.gradient_accumulation, "context_length": args.context_length,
                 "learning_rate": args.lr, "precision": args.precision, "seed": args.seed, "threads": args.threads,
                 "checkpoint_interval": args.checkpoint_interval, "log_interval": args.log_interval}
    try:
        if args.config:
            training = load_training_config(args.config, overrides)
        else:
            from .config import training_config
            training = training_config({}, "command line", overrides)
        if args.max_steps is not None:
            training["max_tokens"] = None
        return Run(training, args).run()
    except (ConfigError, TrainingError, ShardError, ckpt.CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
