#!/usr/bin/env bash
# One GPU session's checks, run from the repository root by the device tool:
# bench figures for the small CNN (Fashion-MNIST shape) and ResNet-18 (CIFAR-10 shape),
# fp32 and bf16 autocast; the D_det sweep on real Fashion-MNIST; the quick preset on the GPU.
# Needs the Fashion-MNIST IDX files in .data/fashion-mnist (carried; the machine has no network).
set -u
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD NOTBUGS_DATA=$PWD/.data
OUT=${OUT:-/tmp/notbugs-gpu}; mkdir -p "$OUT"
log="$OUT/log.txt"
{ nvidia-smi -L; python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"; } >>"$log" 2>&1
nb="python3 -m notbugs"
$nb bench --device cuda --dataset fashion-mnist --arch cnn --batch-size 128 --steps 7 --json >"$OUT/bench-cnn-b128.json" 2>>"$log"
$nb bench --device cuda --dataset fashion-mnist --arch cnn --batch-size 512 --steps 7 --amp --json >"$OUT/bench-cnn-b512-amp.json" 2>>"$log"
$nb bench --device cuda --dataset cifar10 --arch resnet18 --batch-size 128 --steps 7 --json >"$OUT/bench-resnet18-b128.json" 2>>"$log"
$nb bench --device cuda --dataset cifar10 --arch resnet18 --batch-size 128 --steps 7 --amp --json >"$OUT/bench-resnet18-b128-amp.json" 2>>"$log"
echo "bench done $(date +%T)" >>"$log"
sweep="python3 benchmarks/ddet_sweep.py --device cuda --out $OUT/ddet.jsonl"
$sweep --sizes 8000,16000,32000,60000 --eps 3 --epochs 40 >>"$log" 2>&1
$sweep --sizes 16000 --eps 3 --epochs 40 --sources 3 >>"$log" 2>&1
$sweep --sizes 60000 --eps 2,2.5 --epochs 40 >>"$log" 2>&1
echo "sweep done $(date +%T)" >>"$log"
timeout 150 $nb reproduce --preset quick --device cuda --out /tmp/quick-gpu --quiet >>"$log" 2>&1
cp /tmp/quick-gpu/results.json "$OUT/quick-gpu-results.json" 2>/dev/null
echo "end $(date +%T)" >>"$log"
