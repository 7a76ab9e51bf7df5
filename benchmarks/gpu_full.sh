#!/usr/bin/env bash
# The whole argument at the full preset on one lent GPU, and the bench beside it (issue 13, part 5).
# The GPU machine has no network: the data travel with the working tree in .data/ (ignored by git, 41 MB as
# gzipped IDX files, read in place). Prepare here, then hand the device tool this script with carry [".data"]:
#   mkdir -p .data/fashion-mnist .data/mnist
#   cp /usr/share/datasets/fashion-mnist/*.gz .data/fashion-mnist/
#   for f in ~/.cache/notbugs/mnist/*-ubyte; do gzip -c "$f" > .data/mnist/$(basename "$f").gz; done
#   (device) bash benchmarks/gpu_full.sh    # results under $OUT: log.txt, bench-*.json, full-gpu/
set -u
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD NOTBUGS_DATA=$PWD/.data
OUT=${OUT:-/tmp/notbugs-gpu}; mkdir -p "$OUT"
log="$OUT/log.txt"
nb="python3 -m notbugs"
{ nvidia-smi -L; python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
  $nb data list; } >>"$log" 2>&1
$nb bench --device cuda --dataset fashion-mnist --arch cnn --batch-size 128 --steps 7 --json \
  >"$OUT/bench-cnn-b128.json" 2>>"$log"
echo "bench done $(date +%T)" >>"$log"
start=$(date +%s)
# stops short of the device tool's 10-minute limit so that whatever finished still comes back
timeout "${LIMIT:-480}" $nb reproduce all --preset full --device cuda --out "$OUT/full-gpu" --quiet >>"$log" 2>&1
echo "reproduce all --preset full: rc=$? wall=$(( $(date +%s) - start )) s" >>"$log"
rm -rf "$OUT/full-gpu/cache"  # models and datasets: too large to bring back; results.json and report.html stay
# The cifar10 preset's code path on CIFAR-shaped data (real CIFAR-10 is not obtainable here): 10,000 learnable
# images in the release's format, written on the device, at configs/cifar10-smoke.toml's sizes
python3 -c "import sys; sys.path.insert(0, 'tests'); from pathlib import Path; from conftest import write_cifar_tree; \
write_cifar_tree(Path('.data/cifar10/cifar-10-batches-py'), per_batch=2000, test=1000)" >>"$log" 2>&1
start=$(date +%s)
timeout "${LIMIT_CIFAR:-300}" $nb reproduce all --preset cifar10 --config configs/cifar10-smoke.toml --device cuda \
  --out "$OUT/cifar10-shaped" --quiet >>"$log" 2>&1
echo "reproduce all --preset cifar10 (smoke sizes, CIFAR-shaped): rc=$? wall=$(( $(date +%s) - start )) s" >>"$log"
rm -rf "$OUT/cifar10-shaped/cache"
