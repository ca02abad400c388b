#!/bin/bash
# Recipe stages by hand (issue 16), in the folder layout `repro` recipe mode reads: runs/ar-base (running already),
# runs/ar-sft, runs/V-sS/adapt, runs/V-sS/sft. Two workers (`stages.sh 1`, `stages.sh 2`), one torch thread each,
# share the job list through mkdir locks; a job waits for its input model; done jobs (model exists) are skipped.
EXP=/work/exp/recipe
export LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
cd /work/main  # the CLI finds data/prepared and data/sft from the repository it runs in
anc() { dotnet /work/exp/cli/ancoder.dll "$@"; }
COMMON="--context 256 --threads 1 --log-interval 5"
STEPS_ADAPT=${STEPS_ADAPT:-50}; STEPS_SFT=${STEPS_SFT:-50}
jobs=()
jobs+=("ar-sft|$EXP/runs/ar-base/model|--objective ar --sft --init $EXP/runs/ar-base/model --micro-batch 16 --steps 700 --lr 5e-4 --warmup-ratio 0.03 --valid-interval 100 --valid-batches 8 --checkpoint-interval 50 --keep-last 1")
for s in 0 1 2; do
  for v in anchortree null mdlm keyword identifier; do
    extra="--denoiser-layers 2 --denoiser-init identity"; [ $v = mdlm ] && extra=""
    jobs+=("$v-s$s/adapt|$EXP/runs/ar-base/model|--strategy $v --init-qwen $EXP/runs/ar-base/model $extra --shift --lr 1e-3 --pretrained-lr 5e-4 --micro-batch 8 --steps $STEPS_ADAPT --warmup-ratio 0.05 --seed $s --valid-interval 0 --valid-batches 8 --checkpoint-interval 20 --keep-last 1")
    jobs+=("$v-s$s/sft|$EXP/runs/$v-s$s/adapt/model|--sft --strategy $v --init $EXP/runs/$v-s$s/adapt/model --lr 1e-3 --pretrained-lr 5e-4 --micro-batch 8 --steps $STEPS_SFT --warmup-ratio 0.05 --seed $s --valid-interval 0 --valid-batches 8 --checkpoint-interval 20 --keep-last 1")
  done
done
for job in "${jobs[@]}"; do
  IFS='|' read -r name dep args <<<"$job"
  out=$EXP/runs/$name
  [ -f $out/model/model.safetensors ] && continue
  [ -f $EXP/locks/${name//\//_}.failed ] && continue
  lock=$EXP/locks/${name//\//_}
  mkdir $lock 2>/dev/null || continue
  echo "$(date +%T) worker $1: $name waits for $dep" >> $EXP/logs/stages.log
  depjob=${dep#$EXP/runs/}; depjob=${depjob%/model}; depjob=${depjob//\//_}
  while [ ! -f $dep/model.safetensors ]; do
    if [ -f $EXP/locks/$depjob.failed ]; then echo "$(date +%T) worker $1: $name skipped ($depjob failed)" >> $EXP/logs/stages.log; touch $EXP/locks/${name//\//_}.failed; continue 2; fi
    sleep 15
  done
  sleep 5
  echo "$(date +%T) worker $1: $name starts" >> $EXP/logs/stages.log
  resume=""; [ -f $out/config.json ] && resume="--resume"
  anc train $args $COMMON --out $out $resume > $EXP/logs/${name//\//_}.log 2>&1; rc=$?
  [ $rc != 0 ] && touch $EXP/locks/${name//\//_}.failed
  echo "$(date +%T) worker $1: $name exit $rc $(tail -c 200 $EXP/logs/${name//\//_}.log | grep -o 'trained.*' | head -1)" >> $EXP/logs/stages.log
  rmdir $lock 2>/dev/null
done
echo "$(date +%T) worker $1: no jobs left" >> $EXP/logs/stages.log
