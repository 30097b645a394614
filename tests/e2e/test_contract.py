"""The contract every registered family keeps, run over ``registry.FAMILIES`` (test ids =
family names), in the manner of Optuna's shared sampler tests: a family registered
tomorrow gets this test for free.

A 2-trial search through the CLI on tiny data: every trial reports the shared metric
keys and the family's fidelity attribute, rung by rung; the search exports a model in the
family's format with its card; the exported model, reloaded in a fresh process, gives
exactly the recorded test accuracy; the trials land in the leaderboard, the exported one
first; ``predict`` gives the model's seven probabilities for a face.
"""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from search import registry
from search.stores import models
from search.stores.leaderboard import read_file as read_board
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

SHARED_KEYS = {"val_accuracy", "train_accuracy", "time_total_s"}


@pytest.mark.parametrize("family", list(registry.FAMILIES))
def test_family_contract(ray_local, tiny, family, tmp_path):
    f = registry.get(family)
    fidelity = f.fidelity(1 if f.is_network else None)  # tiny: networks train one epoch
    name = f"contract-{family}"
    result = tiny.search(family, "--trials", 2, "--seed", 3, "--name", name)
    assert result.code == 0, result.err
    assert "warning" not in result.out  # MLflow took the model in the family's flavour too
    assert "refitting" not in result.out  # the best trial's own model is exported

    # every trial reported the shared keys and the fidelity attribute, growing rung by rung;
    # a classical search's first point (the defaults) fits on all of train at once
    reports = [pd.read_json(p, lines=True) for p in (tiny.results / name).glob("*/result.json")]
    assert len(reports) == 2
    defaults = f.space().DEFAULTS
    is_defaults = [all(r["config"].iloc[0].get(k) == v for k, v in defaults.items()) for r in reports]
    assert f.is_network or sum(is_defaults) == 1  # (the tiny ResNets hold input_size and unfreeze_blocks)
    for r, first in zip(reports, is_defaults):
        assert SHARED_KEYS | {fidelity.attr} <= set(r.columns)
        reached = r[fidelity.attr].tolist()
        if first and not f.is_network:
            assert reached == [pytest.approx(fidelity.max)]
        else:
            assert reached[0] == pytest.approx(fidelity.grace)
        assert reached[-1] <= fidelity.max + 1e-9 and all(a < b for a, b in zip(reached, reached[1:]))

    # the leaderboard: both trials, best first; the exported one is the first that finished
    board = read_board(tiny.results)
    assert len(board) == 2 and set(board["family"]) == {family} and set(board["search"]) == {name}
    assert board["val_accuracy"].is_monotonic_decreasing
    exported = board.dropna(subset=["model"])
    assert len(exported) == 1 and exported.index[0] == board.index[board["status"] == "finished"][0]

    # of the ended trials only the exported one keeps checkpoints (a network's best few; a
    # classical trial's model is taken by the export)
    kept = {folder.name.split("_")[1] for folder in (tiny.results / name).glob("train_*") if list(folder.glob("checkpoint_*"))}
    assert kept <= {str(exported["trial_id"].iloc[0])} and (kept or not f.is_network)

    # the model, in the family's format, and its card
    model = tiny.models / f"{family}_best{models.FORMATS[f.model_format].suffix}"
    card = json.loads(models.card_path(model).read_text())
    assert exported["model"].iloc[0] == str(model) and model.exists()
    assert card["family"] == family and card["trial_id"] == str(exported["trial_id"].iloc[0])
    assert set(card["metrics"]) == {"val", "test"} and "--trials 2" in card["command"]
    assert card["metrics"]["val"]["accuracy"] == pytest.approx(exported["val_accuracy"].iloc[0])
    assert card["metrics"]["test"]["accuracy"] == pytest.approx(exported["test_accuracy"].iloc[0])

    # reloaded in a fresh process by `evaluate` (on the data named in the card): the same score
    out = tmp_path / "eval.json"
    proc = subprocess.run([sys.executable, "-m", "search", "evaluate", str(model), "--json", str(out)],
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "absl" not in proc.stderr and "cuInit" not in proc.stderr  # TensorFlow's start-up lines stay off the terminal
    report = json.loads(out.read_text())
    assert report["accuracy"] == card["metrics"]["test"]["accuracy"]
    assert sum(sum(row) for row in report["confusion_matrix"]) == card["data"]["sizes"]["test"]

    # every family's model predicts probabilities (an SVC through its card's calibration)
    from tests.conftest import png, run_cli
    from trainables import demo

    face = tmp_path / "face.png"
    face.write_bytes(png(demo.generate(5, seed=4).images[0]))
    result = run_cli("predict", model, face, "--json", tmp_path / "faces.json")
    assert result.code == 0, result.err
    [found] = json.loads((tmp_path / "faces.json").read_text())[str(face)]
    assert len(found["probabilities"]) == 7 and sum(found["probabilities"].values()) == pytest.approx(1.0)
