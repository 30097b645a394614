"""The GPU paths: trials sharing one GPU (``--gpus-per-trial 0.5``) under mixed_float16, the
export of such a network in float32, a ResNet with every block training at 224 pixels.

Marked ``gpu``; skipped where TensorFlow sees no GPU (CI, this project's CPU machines).
Their CPU twins are tests/test_networks.py's mixed-precision tests and every other
network search in the suite.
"""

import shutil

import pandas as pd
import pytest

from tests.e2e.test_networks import assert_exported_in_float32

# nvidia-smi first: importing TensorFlow to find no GPU would cost every CPU run seconds
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(shutil.which("nvidia-smi") is None, reason="no NVIDIA GPU here")]


@pytest.fixture(scope="module", autouse=True)
def gpu():
    from trainables import backend

    if not backend.gpus():
        pytest.skip(f"Keras's backend ({backend.current()}) sees no GPU (a CPU-only build, or no CUDA libraries)")


def trial_reports(results, name) -> list[pd.DataFrame]:
    return [pd.read_json(f, lines=True) for f in sorted((results / name).glob("*/result.json"))]


def test_two_cnn_trials_share_one_gpu_in_mixed_float16_and_export_float32(ray_local, tiny, tmp_path):
    import ray

    assert ray.cluster_resources().get("GPU", 0) >= 1
    result = tiny.search("cnn", "--trials", 2, "--max-epochs", 3, "--scheduler", "none", "--gpus-per-trial", 0.5,
                         "--cpus-per-trial", 1, "--fix", "width=16", "--name", "shared", "--no-tracking")
    assert result.code == 0, result.err
    reports = trial_reports(tiny.results, "shared")
    assert len(reports) == 2 and all(len(r) == 3 for r in reports)
    for r in reports:  # "auto" is mixed_float16 on a GPU, and each trial saw one
        assert set(r["precision"]) == {"mixed_float16"} and set(r["device"]) == {"GPU"}
    # side by side on the one GPU: each trial's epochs began before the other's ended
    spans = [(r["timestamp"].iloc[0] - r["time_this_iter_s"].iloc[0], r["timestamp"].iloc[-1]) for r in reports]
    (a_start, a_end), (b_start, b_end) = spans
    assert a_start < b_end and b_start < a_end, spans
    assert_exported_in_float32(tiny.models / "cnn_best.keras", tmp_path)  # trained in mixed_float16


def test_a_resnet_with_every_block_training_at_224_pixels(ray_local, tiny):
    result = tiny.search("resnet50", "--trials", 1, "--gpus-per-trial", 1, "--fix", "input_size=224",
                         "--fix", "unfreeze_blocks=16", "--fix", "two_phase=False", "--fix", "batch_size=64",
                         "--name", "wide", "--no-tracking")
    assert result.code == 0, result.err
    (r,) = trial_reports(tiny.results, "wide")
    assert set(r["device"]) == {"GPU"} and set(r["precision"]) == {"mixed_float16"}
    assert (tiny.models / "resnet50_best.keras").exists()
