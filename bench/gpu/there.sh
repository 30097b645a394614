#!/usr/bin/env bash
# On a lent GPU machine (the device tool's H200: Python 3.12 with JAX and CUDA, no
# TensorFlow, Ray, Optuna, Keras or MLflow, no package registry), in the repository root:
#   KIT=.device/kit OUT=$OUT DATA=demo:12000 bash bench/gpu/there.sh
# It installs the kit (python -m bench.gpu.kit build, here) with no index, prints
# nvidia-smi and pip list, then runs each stage under its own time limit, every stage's
# output in a file of its own under $OUT (nothing waits on a pipe):
#   (a) a cnn search, two trials side by side on the GPU (--gpus-per-trial 0.5), mixed_float16;
#   (b) a resnet50 trial at 224 pixels with every block training;
#   (c) the training benchmark: our trainable's faces/s against a bare model.fit.
#   (d) auto over svm and cnn: on a GPU, two lanes at once (the cnn on it, the svm's
#       trials on the cores left), within its budget (AUTO_LIMIT less 30 s).
# The call's limit must hold the install and 3 x LIMIT + AUTO_LIMIT (LIMIT=120: 9 minutes).
# The networks run under Keras on JAX, untracked. DATA: a FER2013 zip carried in a call of
# its own, else the demo set generated there. GPUS=0 rehearses it on a CPU (rehearse.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."
KIT=${KIT:-.device/kit}
OUT=${OUT:-results/gpu}
PY=${PY:-python3}
DATA=${DATA:-demo:12000}
GPUS=${GPUS:-0.5}
LIMIT=${LIMIT:-150}  # seconds per stage
CPUS=${CPUS:-4}  # per trial (the H200 machine has 16 cores)
BENCH=${BENCH:-}  # --quick: the training benchmark's smoke size (the CPU rehearsal)
AUTO_LIMIT=${AUTO_LIMIT:-120}  # seconds for the auto stage
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false RAY_USAGE_STATS_ENABLED=0 \
    FER_SEARCH_CACHE="$OUT/cache" KERAS_HOME="$OUT/keras" MPLCONFIGDIR="$OUT/mpl" MLFLOW_DISABLE_TELEMETRY=true
say() { echo "=== [+${SECONDS}s] $*"; }
stage() {  # name, seconds, command...: its output in $OUT/NAME.txt, its last lines and exit status here
    local name=$1 seconds=$2; shift 2
    say "$name (at most ${seconds}s): $*"
    timeout -k 10 "$seconds" "$@" > "$OUT/$name.txt" 2>&1
    echo "exit $?" >> "$OUT/$name.txt"
    grep -v -E "^(WARNING|[IWE]0000|\[(cnn|resnet50)\] [0-9]+ )" "$OUT/$name.txt" | tail -12
}

say machine
(nvidia-smi || echo "no nvidia-smi here") > "$OUT/nvidia-smi.txt" 2>&1; head -12 "$OUT/nvidia-smi.txt"
say install
$PY -m pip install --no-index --no-deps "$KIT"/wheels/*.whl > "$OUT/install.txt" 2>&1 && \
    $PY -m pip install --no-index --no-deps --no-build-isolation -e . >> "$OUT/install.txt" 2>&1
echo "install exit $?"; tail -2 "$OUT/install.txt"
$PY -m pip list > "$OUT/pip-list.txt" 2>&1
grep -i -E "^(jax|jaxlib|keras|ray|optuna|numpy|scikit-learn) " "$OUT/pip-list.txt"
$PY -c "import jax, keras; print('keras', keras.__version__, keras.backend.backend(), jax.devices())"

COMMON=(--backend jax --data "$DATA" --no-tracking --results-dir "$OUT/results" --models-dir "$OUT/models" --seed 0)
stage cnn-two-per-gpu "$LIMIT" $PY -m search cnn "${COMMON[@]}" --trials 2 --max-epochs 6 --scheduler none \
    --gpus-per-trial "$GPUS" --cpus-per-trial "$CPUS" --precision mixed_float16 --name cnn-two
stage resnet50-224 "$LIMIT" $PY -m search resnet50 "${COMMON[@]}" --weights none --fix input_size=224 \
    --fix unfreeze_blocks=16 --trials 1 --max-epochs 2 --gpus-per-trial "${GPUS/0.5/1}" --cpus-per-trial "$CPUS" --name r50-224
stage training "$LIMIT" $PY -m bench --only training $BENCH --data "$DATA" --out "$OUT/bench"
stage auto-lanes "$AUTO_LIMIT" $PY -m search auto "${COMMON[@]}" --families svm,cnn --max-epochs 30 \
    --time-budget $((AUTO_LIMIT - 30)) --name auto-lanes
grep -E "^(auto: |\[auto\]|final: |time: )" "$OUT/auto-lanes.txt" | tail -12
say "per trial: epochs, faces/s, policy, device"
$PY - "$OUT/results" <<'PY'
import json, pathlib, sys
for f in sorted(pathlib.Path(sys.argv[1]).glob("*/*/result.json")):
    rows = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    later = sorted(r.get("images_per_second", 0) for r in rows[1:] or rows)
    last = rows[-1] if rows else {}
    print(f.parent.parent.name, f.parent.name[:20], "epochs", last.get("epoch"), "best val", round(last.get("best_val_accuracy", 0), 4),
          "faces/s after the first epoch", round(later[len(later) // 2]) if later else None, last.get("precision"), last.get("device"))
PY
say done
