#!/usr/bin/env bash
# The device kit rehearsed here, on the CPU, before a GPU machine is lent: a fresh venv
# holding only what the machine's image has (no TensorFlow, no Ray, Optuna, Keras or
# MLflow), the kit built for this Python and installed with no index, then there.sh's
# stages on the demo set with no GPU.
#   bash bench/gpu/rehearse.sh          (OUT=.device/rehearsal)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-.device/rehearsal}
VENV=${VENV:-.device/venv}
PYV=$(python3 -c 'import sys; print(f"{sys.version_info.major}.{sys.version_info.minor}")')
rm -rf "$VENV" "$OUT" && mkdir -p "$OUT"
python3 -m venv "$VENV"
# what the image holds, of what we use (KINDS.md's list): from the registry, here only
"$VENV/bin/pip" install -q numpy pandas pyarrow scikit-learn scipy 'opencv-python-headless<5' jax absl-py h5py \
    ml-dtypes rich protobuf msgpack click filelock pyyaml requests tqdm packaging attrs psutil aiohttp grpcio fsspec \
    matplotlib jinja2 pillow cloudpickle typing-extensions \
    setuptools wheel 2>&1 | tail -1
.venv/bin/python -m bench.gpu.kit build --python "$PYV" --out .device/kit-rehearsal
# two cores here: a CPU a trial, the benchmark at its smoke size
KIT=.device/kit-rehearsal OUT="$OUT" PY="$VENV/bin/python" DATA=${DATA:-demo:400} GPUS=0 CPUS=1 BENCH=--quick LIMIT=${LIMIT:-300} \
    bash bench/gpu/there.sh
