#!/usr/bin/env bash
# Train on a GPU machine that has torch (2.x with CUDA) but no .NET: the PyTorch engine (python/ancoder_torch) on
# shards written by `ancoder prepare`, for a wall-clock budget, leaving a checkpoint folder that every `ancoder` verb
# loads (model/, safetensors shards of at most --max-shard-mb) and metrics.jsonl. README "Scaling out".
#
#   tools/gpu/train.sh --data DATA_DIR --out RUN_DIR --seconds 480 --max-steps 4000 [--nproc N] [--export DIR] \
#       [any option of `python -m ancoder_torch.train`, e.g. --model small --strategy anchortree --micro-batch 64]
#
# --data        a prepared folder (manifest.json + .ancshard files); it must stay within --max-input-mb (default 64)
# --seconds     training budget: at the budget the run checkpoints and saves model/ (the LR schedule is --max-steps')
# --nproc       processes (default: the number of CUDA devices, 1 on CPU); DDP over NCCL on CUDA, gloo on CPU
# --export DIR  copy model/ and metrics.jsonl there (e.g. $OUT of a lent machine), checked against 8 files ≤ 16 MiB
# --device      cuda (default when available) or cpu (the CI dry run)
# Precision defaults to bf16 autocast on CUDA (fp32 master weights) and fp32 on CPU.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python="${PYTHON:-python3}"
data="" out="" seconds="" nproc="" export_dir="" device="auto" max_input_mb=64 max_shard_mb=15 precision=""
passthrough=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --data) data="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        --nproc) nproc="$2"; shift 2 ;;
        --export) export_dir="$2"; shift 2 ;;
        --device) device="$2"; shift 2 ;;
        --max-input-mb) max_input_mb="$2"; shift 2 ;;
        --max-shard-mb) max_shard_mb="$2"; shift 2 ;;
        --precision) precision="$2"; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) passthrough+=("$1"); shift ;;
    esac
done
fail() { echo "train.sh: $*" >&2; exit 2; }
[[ -n "$data" && -f "$data/manifest.json" ]] || fail "--data must name a folder with manifest.json (written by \`ancoder prepare\`)"
[[ -n "$out" ]] || fail "--out RUN_DIR is required"
[[ -n "$seconds" ]] || fail "--seconds BUDGET is required"
"$python" -c "import torch" 2>/dev/null || fail "$python cannot import torch"

input_bytes=$(du -cb "$data"/manifest.json "$data"/*.ancshard | tail -n1 | cut -f1)
(( input_bytes <= max_input_mb * 1024 * 1024 )) || fail "the data is $((input_bytes / 1048576)) MiB, over the ${max_input_mb} MiB limit"

cuda_devices=$("$python" -c "import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)")
[[ "$device" == "auto" ]] && device=$([[ "$cuda_devices" -gt 0 ]] && echo cuda || echo cpu)
[[ -z "$nproc" ]] && nproc=$([[ "$device" == cuda ]] && echo "$cuda_devices" || echo 1)
[[ -z "$precision" ]] && precision=$([[ "$device" == cuda ]] && echo bf16 || echo fp32)
echo "train.sh: $nproc process(es) on $device ($precision), budget ${seconds} s, data $((input_bytes / 1024)) KiB, torch $("$python" -c 'import torch; print(torch.__version__)')"

export PYTHONPATH="$repo_root/python${PYTHONPATH:+:$PYTHONPATH}"
args=(--data "$data" --out "$out" --time-budget "$seconds" --max-shard-mb "$max_shard_mb" --device "$device" --precision "$precision" "${passthrough[@]}")
if [[ "$nproc" -gt 1 ]] && command -v torchrun >/dev/null && "$python" -c "import sys, torch; sys.exit(int(torch.__version__.split('.')[0]) < 2)"; then
    torchrun --standalone --nproc_per_node "$nproc" -m ancoder_torch.train "${args[@]}"
else
    "$python" -m ancoder_torch.launch --nproc "$nproc" "${args[@]}"
fi

[[ -f "$out/model/config.json" ]] || fail "no model was written to $out/model"
if [[ -n "$export_dir" ]]; then
    mkdir -p "$export_dir/model"
    cp "$out/model/"* "$export_dir/model/"
    cp "$out/metrics.jsonl" "$export_dir/"
    files=$(find "$export_dir" -type f | wc -l)
    largest=$(find "$export_dir" -type f -printf '%s\n' | sort -n | tail -n1)
    (( files <= 8 )) || echo "train.sh: warning: $files files to return (limit 8): use a smaller model or a larger --max-shard-mb" >&2
    (( largest <= 16 * 1024 * 1024 )) || echo "train.sh: warning: a file of $((largest / 1048576)) MiB (limit 16)" >&2
    echo "train.sh: exported $files files to $export_dir"
fi
echo "train.sh: done: $out/model, $out/metrics.jsonl"
