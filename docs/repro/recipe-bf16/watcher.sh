#!/bin/bash
# Copies AR checkpoints into the curve folder as training goes; starts the second worker once the AR SFT model exists.
cd /work/main
export LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
OUT=/work/exp/s8/recipe
C="dotnet /work/exp/s8/cli/ancoder.dll"
copy() { # checkpoints/step-000NNNN of a stage -> curve/STAGE-NNNN once complete
  local stage=$1 step=$2 src=$OUT/runs/$1/checkpoints/$(printf 'step-%07d' $2) dst=$OUT/curve/$1-$2
  if [ ! -d $dst ] && [ -f $src/trainer_state.json ]; then mkdir -p $OUT/curve; sleep 3; cp -r $src $OUT/curve/.tmp-$1-$2 && mv $OUT/curve/.tmp-$1-$2 $dst && echo "$(date +%T) copied $dst"; fi
}
while [ ! -f $OUT/runs/ar-sft/model/model.safetensors ]; do
  for s in 1000 1500 2000 2500; do copy ar-base $s; done
  for s in 300 700; do copy ar-sft $s; done
  sleep 10
done
echo "$(date +%T) ar-sft done; starting worker 2"
$C repro --config examples/repro-recipe-bf16.json --out $OUT --worker > /work/exp/s8/repro-worker2.log 2>&1
echo "$(date +%T) worker 2 ended"
