#!/bin/bash
# Continuation of 7 Dec's recipe experiment (/work/exp/s8/recipe, hard-linked copy): the same config plus
# recipe.longer_steps [600, 900, 1200] (the MDLM row trained on), and the AR curve checkpoints put back into curve/.
cd /work/main
export LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
OUT=/work/exp/s9/recipe
C="dotnet /work/exp/s9/cli/ancoder.dll"
echo "$(date +%T) start"
$C repro --config examples/repro-recipe-bf16.json --out $OUT --workers 2 > /work/exp/s9/repro-parent.log 2>&1
echo "$(date +%T) done rc=$?"
