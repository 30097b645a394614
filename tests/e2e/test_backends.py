"""The networks under either Keras backend: a cnn search under JAX meets the contract, its
whole train step is jitted with the augmentation inside, and its export loads in
TensorFlow's safe mode and predicts what JAX predicted.

Keras takes its backend once per process, at import (this process has TensorFlow's), so
the JAX side runs in processes of its own. CI installs JAX with the test extras; where
it is missing the tests fail, as a broken install should."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT, Tiny

pytestmark = pytest.mark.slow


def python(*argv, backend: str = "jax", cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.run([sys.executable, *map(str, argv)], cwd=cwd or ROOT, env=env, capture_output=True, text=True)


def test_under_jax_the_whole_train_step_is_jitted_with_the_augmentation_inside():
    code = (
        "from trainables import backend, deep, networks\n"
        "config = {'backbone': 'cnn', 'depth': 2, 'width': 16, 'optimizer': 'adam', 'learning_rate': 1e-3,"
        " 'batch_size': 32, 'dropout': 0.1, 'label_smoothing': 0.0, 'augment': 0.5, 'class_weight': 'none'}\n"
        "plain = networks.build(config); deep.compile_for_phase(plain, config, 0)\n"
        "ours = backend.jit_whole_step(networks.build(config)); deep.compile_for_phase(ours, config, 0)\n"
        "import keras; print(keras.backend.backend(), plain.jit_compile, ours.jit_compile)\n")
    proc = python("-c", code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Keras's own resolution: its random layers turn the jit off; ours, under JAX, on
    assert proc.stdout.split()[-3:] == ["jax", "False", "True"]


def test_a_cnn_search_under_jax_exports_a_model_that_tensorflow_loads_and_that_predicts_the_same(tmp_path):
    search = python("-m", "search", "cnn", "--backend", "jax", "--data", Tiny.NETWORK_DATA, "--trials", 1, "--max-epochs", 2,
                    "--fix", "width=16", "--fix", "depth=2", "--no-tracking", "--name", "under-jax",
                    "--results-dir", tmp_path / "results", "--models-dir", tmp_path / "models", cwd=tmp_path)
    assert search.returncode == 0, search.stderr[-3000:]
    reports = [json.loads(line) for f in (tmp_path / "results" / "under-jax").glob("*/result.json")
               for line in f.read_text().splitlines()]
    assert [r["epoch"] for r in reports] == [1, 2]
    assert {"val_accuracy", "val_loss", "train_accuracy", "train_loss", "epoch"} <= set(reports[-1])
    model = tmp_path / "models" / "cnn_best.keras"
    card = json.loads((tmp_path / "models" / "cnn_best.json").read_text())
    assert card["metrics"]["test"]["accuracy"] > 0

    from trainables import demo

    faces = demo.generate(64, seed=11).images[..., None]
    np.save(tmp_path / "faces.npy", faces)
    under_jax = python("-c", "import sys, numpy as np, keras; m = keras.models.load_model(sys.argv[1], safe_mode=True); "
                             "np.save(sys.argv[3], m.predict(np.load(sys.argv[2]), verbose=0))",
                       model, tmp_path / "faces.npy", tmp_path / "jax.npy")
    assert under_jax.returncode == 0, under_jax.stderr[-3000:]

    import keras  # this process: TensorFlow's backend

    assert keras.backend.backend() == "tensorflow"
    loaded = keras.models.load_model(model, safe_mode=True)
    assert np.allclose(loaded.predict(faces, verbose=0), np.load(tmp_path / "jax.npy"), atol=1e-4)


def test_a_backend_that_keras_has_not_loaded_here_is_refused_in_one_line(tmp_path):
    import keras  # noqa: F401  (loaded with TensorFlow in this process)

    from tests.conftest import run_cli

    result = run_cli("cnn", "--backend", "jax", "--data", "demo:100", "--no-tracking", "--results-dir", tmp_path)
    assert result.code == 2 and "--backend jax: Keras is loaded with tensorflow in this process already" in result.err
