#!/usr/bin/env bash
# The GPU checks, on a machine with an NVIDIA GPU and TensorFlow's CUDA build installed:
#   .venv/bin/pip install -e '.[test]' 'tensorflow[and-cuda]'
#   bash bench/gpu.sh [FER2013_ZIP]        (OUT=folder for the figures; default results/gpu)
# A cnn search of two trials per GPU (--gpus-per-trial 0.5, mixed_float16) on the real
# data, the training benchmark (our trainable against a bare fit, the ResNet at 224
# pixels), the GPU-marked tests, and a ResNet50 search with every block training at 96
# and 224 pixels. Each stage is time-boxed; everything lands in $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-$(ls data/fer2013.zip ../shared/fer2013/fer2013.zip 2>/dev/null | head -1)}
OUT=${OUT:-results/gpu}
PY=${PY:-.venv/bin/python}
[ -n "$DATA" ] || { echo "no FER2013 zip: bash bench/gpu.sh PATH"; exit 2; }
command -v nvidia-smi >/dev/null || { echo "no NVIDIA GPU here (no nvidia-smi)"; exit 2; }
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 FER_SEARCH_CACHE=${FER_SEARCH_CACHE:-$OUT/cache}
exec > >(tee -a "$OUT/log.txt") 2>&1
T0=$(date +%s)
say() { echo "=== [+$(( $(date +%s) - T0 ))s] $*"; }
quiet() { grep --line-buffered -v -E "^(WARNING|[IWE]0000)"; }
trials() {  # per trial: epochs, best val, median images/s after the first epoch, dtype policy, device
    $PY - "$1" <<'PY'
import json, pathlib, sys
for f in sorted(pathlib.Path(sys.argv[1]).glob("*/*/result.json")):
    rows = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    if rows:
        last, ips = rows[-1], sorted(r.get("images_per_second", 0) for r in rows[1:] or rows)
        print(f.parent.parent.name, f.parent.name[:24], "epochs", last.get("epoch"), "best val",
              round(last.get("best_val_accuracy", 0), 4), "images/s", round(ips[len(ips) // 2]),
              last.get("precision"), last.get("device"), "input", last.get("config", {}).get("input_size"))
PY
}

say machine; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
$PY -c "import tensorflow as tf; print('tensorflow', tf.__version__, tf.config.list_physical_devices('GPU'))" 2>&1 | tail -1

say "cnn search, --gpus-per-trial 0.5 (mixed_float16)"
timeout 900 $PY -m search cnn --data "$DATA" --trials 10 --max-epochs 10 --time-budget 5m --gpus-per-trial 0.5 \
    --cpus-per-trial 4 --seed 0 --results-dir "$OUT/results" --models-dir "$OUT/models" 2>&1 | quiet | tail -20
trials "$OUT/results"

say "training benchmark: the trainable against a bare fit"
timeout 900 $PY -m bench --only training --data "$DATA" --out "$OUT/bench" 2>&1 | quiet | tail -8

say "pytest -m gpu"
timeout 600 $PY -m pytest -m gpu -p no:cacheprovider -q -rA tests/test_gpu.py 2>&1 | tail -12

say "resnet50 search, every block training, 96 and 224 pixels"
for size in 96 224; do
    timeout 900 $PY -m search resnet50 --data "$DATA" --train-limit 8000 --trials 2 --max-epochs 3 --scheduler none \
        --gpus-per-trial 0.5 --cpus-per-trial 4 --fix input_size=$size --fix unfreeze_blocks=16 --fix two_phase=False \
        --seed 0 --results-dir "$OUT/results" --models-dir "$OUT/models" --no-tracking 2>&1 | quiet | tail -6
done
trials "$OUT/results" | grep resnet50
say done
