"""End to end through the CLI on a small demo set, with real Ray, Optuna and scikit-learn.

The contract test runs over every registered family (ids = family names): a search
reports the shared metric keys at every fidelity rung, exports a model with its card and
leaderboard rows, and the exported model, reloaded, reproduces its recorded test score.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from search import registry
from tests.conftest import ROOT, TINY_DEMO, run_cli

pytestmark = pytest.mark.slow


def search(family, workdir, *extra):
    return run_cli(family, "--data", TINY_DEMO, "--trials", 4, "--seed", 3,
                   "--results-dir", workdir["results"], "--models-dir", workdir["models"], *extra)


CLASSICAL = [name for name, f in registry.FAMILIES.items() if not f.is_network]  # networks: tests/test_networks.py


@pytest.mark.parametrize("family", CLASSICAL)
def test_family_contract(ray_local, workdir, family, tmp_path):
    result = search(family, workdir, "--name", f"contract-{family}")
    assert result.code == 0, result.err
    assert "refitting" not in result.out  # the best trial's own fit on all of train is exported
    assert not list((workdir["results"] / f"contract-{family}").rglob("model.skops"))  # and the trials' copies go

    # every trial reported the shared keys at each rung it reached, rungs in order
    rungs = list(registry.get(family).space().FIDELITY["rungs"])
    experiment = workdir["results"] / f"contract-{family}"
    reports = [pd.read_json(p, lines=True) for p in experiment.glob("*/result.json")]
    assert len(reports) == 4
    for r in reports:
        assert {"val_accuracy", "train_accuracy", "train_fraction", "fit_seconds", "train_size"} <= set(r.columns)
        assert r["train_fraction"].tolist() == pytest.approx(rungs[: len(r)])
        assert r["train_size"].is_monotonic_increasing

    # leaderboard rows: one per trial, best first, with the best trial's test score and model
    board = pd.read_csv(workdir["results"] / "leaderboard.csv")
    assert len(board) == 4 and set(board["family"]) == {family} and set(board["search"]) == {f"contract-{family}"}
    assert board["val_accuracy"].is_monotonic_decreasing
    assert set(board["status"]) <= {"finished", "stopped"} and "finished" in set(board["status"])
    exported = board.dropna(subset=["model"])
    assert len(exported) == 1

    # the model and its card
    model = workdir["models"] / f"{family}_best.skops"
    card = json.loads((workdir["models"] / f"{family}_best.json").read_text())
    assert exported["model"].iloc[0] == str(model) and model.exists()
    assert card["family"] == family and card["trial_id"] == exported["trial_id"].iloc[0]
    assert card["data"]["fingerprint"] == "demo-v1-700" and card["data"]["source"] == TINY_DEMO
    assert set(card["metrics"]) == {"val", "test"} and "--trials 4" in card["command"]
    assert card["metrics"]["val"]["accuracy"] == pytest.approx(exported["val_accuracy"].iloc[0])
    assert card["metrics"]["test"]["accuracy"] == exported["test_accuracy"].iloc[0] > 1 / 7

    # reloaded by evaluate (which reads the data named in the card), the exact same score
    out = tmp_path / "eval.json"
    result = run_cli("evaluate", model, "--json", out)
    assert result.code == 0, result.err
    report = json.loads(out.read_text())
    assert set(report) == {"accuracy", "macro_f1", "per_class", "confusion_matrix"}
    assert report["accuracy"] == card["metrics"]["test"]["accuracy"]
    assert np.array(report["confusion_matrix"]).sum() == card["data"]["sizes"]["test"]


def test_a_failing_trial_does_not_take_the_search_down(ray_local, workdir, monkeypatch):
    import cloudpickle

    import tests.failing_trainable

    # Workers import our packages by name; this test-only module travels by value instead.
    cloudpickle.register_pickle_by_value(tests.failing_trainable)
    flaky = registry.Family("flaky", "svm whose first trial fails", "spaces.svm", "tests.failing_trainable", "skops")
    monkeypatch.setitem(registry.FAMILIES, "flaky", flaky)
    try:
        result = search("flaky", workdir, "--name", "with-a-failure")
    finally:
        cloudpickle.unregister_pickle_by_value(tests.failing_trainable)
    assert result.code == 0, result.err
    board = pd.read_csv(workdir["results"] / "leaderboard.csv")
    assert (board["status"] == "failed").sum() == 1 and len(board) == 4
    failed = board[board["status"] == "failed"].iloc[0]
    assert failed["param_C"] == registry.get("svm").space().DEFAULTS["C"] and np.isnan(failed["val_accuracy"])
    assert "1 failed" in result.out
    assert (workdir["models"] / "flaky_best.skops").exists()


def test_time_budget_stops_launching_trials(ray_local, workdir):
    result = run_cli("svm", "--data", TINY_DEMO, "--trials", 200, "--time-budget", "1s", "--scheduler", "none",
                     "--results-dir", workdir["results"], "--models-dir", workdir["models"], "--name", "budget")
    assert result.code == 0, result.err
    board = pd.read_csv(workdir["results"] / "leaderboard.csv")
    assert 1 <= len(board) < 200
    assert set(board["status"]) == {"finished"}  # scheduler none: every started trial ran to the end


def test_random_searcher_and_a_name_is_never_reused(ray_local, workdir):
    result = search("rf", workdir, "--name", "again", "--searcher", "random", "--trials", 2)
    assert result.code == 0, result.err
    again = search("rf", workdir, "--name", "again", "--searcher", "random", "--trials", 2)
    assert again.code == 2 and "already holds a search named 'again'" in again.err
    board = pd.read_csv(workdir["results"] / "leaderboard.csv")
    assert len(board) == 2 and set(board["search"]) == {"again"}


def test_a_worse_search_keeps_the_better_model(ray_local, workdir):
    first = search("svm", workdir, "--name", "good", "--trials", 1)
    assert first.code == 0, first.err
    card = json.loads((workdir["models"] / "svm_best.json").read_text())
    card["metrics"]["val"]["accuracy"] = 2.0  # pretend the exported model is unbeatable
    (workdir["models"] / "svm_best.json").write_text(json.dumps(card))
    second = search("svm", workdir, "--name", "worse", "--trials", 1)
    assert second.code == 0, second.err
    assert "kept" in second.out and json.loads((workdir["models"] / "svm_best.json").read_text())["search"] == "good"


def test_the_real_command_line(tmp_path):
    """`python -m search` in a fresh process: it starts (and stops) its own Ray on 127.0.0.1."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "search", "svm", "--data", TINY_DEMO, "--trials", "2",
         "--results-dir", str(tmp_path / "results"), "--models-dir", str(tmp_path / "models")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[svm] 2/2 done" in proc.stdout and "best svm: val_accuracy" in proc.stdout
    assert (tmp_path / "models" / "svm_best.skops").exists()
    assert "Traceback" not in proc.stderr
    board = subprocess.run([sys.executable, "-m", "search", "leaderboard", "--results-dir", str(tmp_path / "results")],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert board.returncode == 0 and board.stdout.count(" svm ") == 2
