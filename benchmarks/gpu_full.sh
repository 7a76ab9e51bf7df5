#!/usr/bin/env bash
# notbugs at the full preset on one lent GPU, in calls that each end inside the device tool's 10-minute limit.
#
#   bash benchmarks/gpu_full.sh STEP     STEP: bench | paper | all | cifar   (results under $OUT)
#
# Every reproduction here computes in fp32 (--precision fp32; the store's keys record the device, the GPU and
# whether TF32 matmuls were on) over one store in .gpu-cache/ (ignored by git; kept on the machine between calls
# while it stays warm). A step stopped by its timeout resumes where it stopped when called again: call `paper`
# until it prints rc=0, then `all` (which reuses the paper's models), then `cifar`. The paper comes first: its
# claims are what the GPU is lent for.
#
# The machine has no network: the data travel with the working tree in .data/ (ignored by git, 41 MB as gzipped
# IDX files, read in place). Prepare here, then hand the device tool `bash benchmarks/gpu_full.sh paper` with
# carry [".data"]:
#   mkdir -p .data/fashion-mnist .data/mnist
#   cp /usr/share/datasets/fashion-mnist/*.gz .data/fashion-mnist/
#   for f in ~/.cache/notbugs/mnist/*-ubyte; do gzip -c "$f" > .data/mnist/$(basename "$f").gz; done
set -u
step=${1:?"give a step: bench, paper, all or cifar"}
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD NOTBUGS_DATA=$PWD/.data
OUT=${OUT:-/tmp/notbugs-gpu}; mkdir -p "$OUT"
LIMIT=${LIMIT:-540}  # seconds a reproduction may run in one call: the tool's 600 less the start and the copy back
log="$OUT/log.txt"
nb="python3 -m notbugs"
{ echo "== $step $(date +%T)"; nvidia-smi -L
  python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(),
'tf32 matmul', torch.backends.cuda.matmul.allow_tf32, 'tf32 cudnn', torch.backends.cudnn.allow_tf32)"; } >>"$log" 2>&1

reproduce() {  # NAME ARGS...: one bounded call of a reproduction over the shared store; its report comes back
  local name=$1; shift
  local start; start=$(date +%s)
  timeout "$LIMIT" $nb reproduce "$@" --precision fp32 --device cuda --cache .gpu-cache --out "$OUT/$name" \
    --quiet >>"$log" 2>&1
  local rc=$?
  echo "$name: rc=$rc wall=$(( $(date +%s) - start )) s$([ $rc = 124 ] && echo ' (stopped by the limit: call again to resume)')" \
    | tee -a "$log"
}

case $step in
  bench) $nb bench --device cuda --dataset fashion-mnist --arch cnn --batch-size 128 --steps 7 --json \
           >"$OUT/bench-cnn-b128.json" 2>>"$log"; echo "bench: rc=$?" | tee -a "$log" ;;
  paper) reproduce full-paper paper --preset full ;;
  all)   reproduce full-all all --preset full ;;
  cifar) # the cifar10 preset's code path on CIFAR-shaped data (real CIFAR-10 is not obtainable here): 10,000
         # learnable images in the release's format, written on the device, at configs/cifar10-smoke.toml's sizes
         python3 -c "import sys; sys.path.insert(0, 'tests'); from pathlib import Path; from cifar_files import \
write_cifar_tree; write_cifar_tree(Path('.data/cifar10/cifar-10-batches-py'), per_batch=2000, test=1000)" >>"$log" 2>&1
         reproduce cifar10-shaped all --preset cifar10 --config configs/cifar10-smoke.toml ;;
  *) echo "unknown step '$step': give bench, paper, all or cifar" >&2; exit 2 ;;
esac
