"""The network families: model contract, unfreezing, and searches through the CLI.

All on CPU with --weights none (tests never download)."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest

from search import registry
from search.stores.leaderboard import read_file as read_board
from tests.conftest import Tiny, run_cli
from trainables import networks
from trainables.backbones import BACKBONES
from trainables.deep import learning_rate_at

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=[("resnet50", 16), ("resnet101", 33)], ids=["resnet50", "resnet101"])
def resnet(request):
    name, blocks = request.param
    model = networks.build({"backbone": name, "input_size": 32, "unfreeze_blocks": 0})
    return BACKBONES[name].block_pattern, blocks, model, networks.backbone_of(model)


@pytest.mark.parametrize("unfreeze", [0, 1, 3, "all"])
def test_unfreezing_counts_blocks_from_the_top(resnet, unfreeze):
    pattern, blocks, model, backbone = resnet
    k = blocks if unfreeze == "all" else unfreeze
    assert len(networks.residual_blocks(backbone, pattern)) == blocks
    networks.unfreeze(backbone, k, pattern)
    top = set(networks.residual_blocks(backbone, pattern)[blocks - k:]) if k else set()
    for layer in backbone.layers:
        m = networks.block_of(layer.name, pattern)
        in_top = m is not None and m in top
        expected = in_top or (k == blocks and m is None)
        assert layer.trainable == expected, layer.name
    trainable_bn = [l for l in backbone.layers if isinstance(l, keras.layers.BatchNormalization) and l.trainable]
    per_block = 4 if k else 0  # a bottleneck block holds 3 BatchNorms, a first block 4 (its shortcut)
    assert len(trainable_bn) <= per_block * k + (1 if k == blocks else 0)
    assert (len(trainable_bn) > 0) == (k > 0)


def test_frozen_batchnorm_runs_in_inference_mode(resnet):
    pattern, blocks, _, backbone = resnet
    networks.unfreeze(backbone, 1, pattern)
    frozen = next(l for l in backbone.layers if isinstance(l, keras.layers.BatchNormalization) and not l.trainable)
    x = np.random.default_rng(0).normal(3.0, 2.0, (8, 4, 4, frozen.gamma.shape[0])).astype("float32")
    assert np.allclose(np.asarray(frozen(x, training=True)), np.asarray(frozen(x, training=False)), atol=1e-5)


@pytest.mark.parametrize("config", [
    {"backbone": "resnet50", "input_size": 48, "augment": 0.5},
    {"backbone": "resnet50", "input_size": 96, "augment": 0.0},
    {"backbone": "cnn", "depth": 3, "width": 16, "augment": 1.0},
], ids=["resnet50-48", "resnet50-96", "cnn"])
def test_input_contract_raw_faces_in_seven_probabilities_out(config):
    model = networks.build(config)
    assert tuple(model.inputs[0].shape) == (None, 48, 48, 1) and model.inputs[0].dtype == "uint8"
    faces = np.random.default_rng(1).integers(0, 256, (3, 48, 48, 1), dtype=np.uint8)
    out = np.asarray(model.predict(faces, verbose=0))
    assert out.shape == (3, 7) and np.allclose(out.sum(axis=1), 1.0, atol=1e-4)
    assert not any(isinstance(l, keras.layers.Lambda) for l in model.layers)


def reload_in_a_fresh_process(path, faces_file):
    """Safe-mode load by a process that never imported our code; its predictions, and the
    dtype policies of a few layers by name."""
    code = ("import sys, numpy as np, keras\n"
            "m = keras.models.load_model(sys.argv[1], safe_mode=True, compile=False)\n"
            "assert not any(k.startswith(('search', 'trainables', 'spaces')) for k in sys.modules)\n"
            "print(' '.join(map(str, m.predict(np.load(sys.argv[2]), verbose=0).argmax(1))))\n"
            "print(' '.join(f'{l.name}={l.dtype_policy.name}' for l in m.layers if l.name in ('emotion', 'block1_conv1', 'pool')))\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", code, str(path), str(faces_file)], env=env, cwd="/",
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    predictions, policies = proc.stdout.strip().splitlines()[-2:]
    return np.array(predictions.split(), dtype=int), dict(p.split("=") for p in policies.split())


@pytest.mark.parametrize("config, policy", [
    ({"backbone": "cnn", "depth": 2, "width": 8, "augment": 0.5}, "float32"),
    ({"backbone": "cnn", "depth": 2, "width": 8}, "mixed_bfloat16"),
    ({"backbone": "resnet50", "input_size": 32, "unfreeze_blocks": 2, "augment": 0.5}, "mixed_float16"),
], ids=["cnn-float32", "cnn-bfloat16", "resnet50-float16"])
def test_a_saved_network_loads_in_safe_mode_without_our_code(tmp_path, config, policy):
    """What a search exports (tests/test_contract.py checks the search's side): a .keras
    file that plain Keras loads in safe mode in a process that never imported our code,
    with its layers' dtype policies and its predictions intact."""
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = networks.build(config)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    path = tmp_path / "net.keras"
    model.save(path)
    faces = np.random.default_rng(2).integers(0, 256, (6, 48, 48, 1), dtype=np.uint8)
    np.save(tmp_path / "faces.npy", faces)
    predicted, policies = reload_in_a_fresh_process(path, tmp_path / "faces.npy")
    assert np.array_equal(predicted, np.asarray(model.predict(faces, verbose=0)).argmax(1))
    assert policies == {"emotion": "float32", "pool": policy, **({"block1_conv1": policy} if config["backbone"] == "cnn" else {})}


def test_a_network_trained_in_mixed_precision_is_exported_in_float32(ray_local, tiny, tmp_path):
    # (Tiny's small cnn: the dtype policy is what is tested here, not the network)
    result = tiny.search("cnn", "--trials", 1, "--precision", "mixed_bfloat16", "--name", "bf16", "--no-tracking")
    assert result.code == 0, result.err
    # one trial and no --cpus-per-trial: it trains on the session Ray's 2 CPUs, not 1 beside an idle one
    assert "cnn: 2 CPUs a trial, the machine shared among 1 trial(s)" in result.out
    reports = pd.read_json(next((tiny.results / "bf16").glob("*/result.json")), lines=True)
    assert len(reports) == 1  # it trained, in mixed_bfloat16
    assert_exported_in_float32(tiny.models / "cnn_best.keras", tmp_path)


def assert_exported_in_float32(model, tmp_path):
    """The exported network reloads (safe mode, a fresh process) with float32 layers only,
    and scores on the tiny test split exactly the accuracy its card says."""
    card = json.loads(model.with_suffix(".json").read_text())
    from trainables import data as fer

    d = fer.load(Tiny.NETWORK_DATA)
    test = fer.make_splits(d, need=("test",)).index["test"]
    np.save(tmp_path / "faces.npy", d.images[test][..., None])
    predicted, policies = reload_in_a_fresh_process(model, tmp_path / "faces.npy")
    assert set(policies.values()) == {"float32"}
    assert np.mean(predicted == d.labels[test]) == card["metrics"]["test"]["accuracy"]  # scored from the float32 file


@pytest.fixture
def network_with(test_family, monkeypatch):
    """``network_with(trainable)``: a cnn family whose trials run ``tests.fakes.deep_trainables.<trainable>``."""
    import tests.fakes.deep_trainables as module

    def register(trainable):
        monkeypatch.setattr(module, "train", getattr(module, trainable), raising=False)
        return test_family("netx", "spaces.cnn", "tests.fakes.deep_trainables", registry.NETWORK)

    return register


def test_a_nan_loss_fails_its_trial_and_the_others_finish(ray_local, tiny, network_with):
    family = network_with("train_nan_on_defaults")
    result = run_cli(family, *tiny.argv(family), "--trials", 2, "--seed", 2, "--no-tracking")
    assert result.code == 0, result.err
    board = read_board(tiny.results)
    assert (board["status"] == "failed").sum() == 1 and (board["status"] == "finished").sum() == 1
    errors = list(tiny.results.glob("*/*/error.txt"))
    assert errors and "diverges" in errors[0].read_text()


def test_a_trial_resumes_from_its_checkpoint_at_the_next_epoch(ray_local, tiny, network_with):
    family = network_with("train_crash_once")
    result = run_cli(family, *tiny.argv(family), "--trials", 1, "--max-epochs", 3, "--scheduler", "none",
                     "--no-tracking")
    assert result.code == 0, result.err
    assert list(tiny.results.glob("*/*/crashed-once"))
    reports = pd.read_json(next(tiny.results.glob("*/*/result.json")), lines=True)
    epochs = reports["epoch"].tolist()
    # the retry went on from its checkpoint: epoch 2 next, epoch 1 never trained twice
    assert epochs[-2:] == [2, 3] and epochs.count(1) <= 1
    # and on the same learning-rate curve (the space's defaults: cosine over 3 epochs)
    config = json.loads(next(tiny.results.glob("*/*/params.json")).read_text())
    assert reports["learning_rate"].tolist()[-2:] == pytest.approx([learning_rate_at(config, e, 3) for e in (1, 2)])
    assert read_board(tiny.results)["status"].tolist() == ["finished"]
    # and on from where its random draws stood: the augmentation's and the dropout's seed
    # generators are where three epochs in one go leave them, one or two draws a batch
    # (RandomTranslation draws twice); restarted from their seeds, two epochs' draws
    n_train = round(reports["images_per_second"].iloc[-1] * reports["epoch_seconds"].iloc[-1])
    steps = -(-n_train // int(config["batch_size"]))
    last = max(next(tiny.results.glob("*/*/params.json")).parent.glob("checkpoint_*"))
    generators = json.loads((last / "epoch.json").read_text())["generators"]
    assert {"random_flip/0", "random_contrast/0", "head_dropout/0"} <= set(generators)
    assert all(state[1] in (3 * steps, 2 * 3 * steps) for state in generators.values()), generators


def test_a_network_loaded_from_its_checkpoint_draws_on_where_it_stood(tmp_path):
    """A .keras file does not keep the seed generators' states: loaded, a network draws
    its first augmentations and dropout masks again, unless its states are set back."""
    from trainables import rng

    model = networks.build({"backbone": "cnn", "depth": 2, "width": 8, "augment": 0.8, "dropout": 0.4}, seed=3)
    faces = np.random.default_rng(4).integers(0, 256, (8, 48, 48, 1), dtype=np.uint8)
    for _ in range(3):
        model(faces, training=True)  # three batches' draws
    states = rng.generator_states(model)
    assert states and all(state[1] in (3, 6) for state in states.values())  # one or two draws a batch
    model.save(tmp_path / "model.keras")
    expected = np.asarray(model(faces, training=True))

    restored = keras.models.load_model(tmp_path / "model.keras", safe_mode=True)
    assert rng.set_generator_states(restored, states) == len(states)
    assert np.allclose(np.asarray(restored(faces, training=True)), expected)
    replaying = keras.models.load_model(tmp_path / "model.keras", safe_mode=True)  # its states from the seeds
    assert not np.allclose(np.asarray(replaying(faces, training=True)), expected)


def test_offline_without_cached_imagenet_weights_stops_at_once_with_the_way_out(tiny, monkeypatch):
    """No download here: Keras' fetch is replaced by what it raises offline."""
    def offline(fname, origin, **kwargs):
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    result = run_cli("resnet101", "--data", Tiny.NETWORK_DATA, "--trials", 1, "--results-dir", tiny.results)
    assert result.code == 2
    error, hint = result.err.strip().splitlines()[-2:]
    assert BACKBONES["resnet101"].weights_file in error and "could not be downloaded" in error
    assert str(networks.keras_cache()) in hint and "--weights none" in hint and "--weights PATH" in hint
    assert not any(tiny.results.iterdir())  # stopped before anything was logged or run (the folder was checked)


def test_weights_from_a_local_file_are_the_backbones_start(tmp_path):
    config = {"backbone": "resnet50", "input_size": 32, "unfreeze_blocks": 2}
    source = networks.backbone_of(networks.build(config, seed=3))
    path = tmp_path / "resnet50_notop.weights.h5"
    source.save_weights(path)
    weights = networks.resolve_weights("resnet50", str(path))
    loaded = networks.backbone_of(networks.build(config, weights=weights, seed=4))
    assert all(np.array_equal(a, b) for a, b in zip(source.get_weights(), loaded.get_weights()))
    fresh = networks.backbone_of(networks.build(config, seed=4))  # built afresh: other weights
    assert not all(np.array_equal(a, b) for a, b in zip(source.get_weights(), fresh.get_weights()))
