"""End to end through the CLI on a small demo set, with real Ray, Optuna and scikit-learn:
what a search does beyond the contract every family keeps (tests/test_contract.py).
"""

import json
import time

import pytest

from search import registry
from search.stores.leaderboard import read_file as read_board
from tests.conftest import TINY_DEMO, run_cli

pytestmark = pytest.mark.slow


def search(family, tiny, *extra):
    return run_cli(family, "--data", TINY_DEMO, "--trials", 4, "--seed", 3, *tiny.tracked_folders, *extra)


def test_a_failing_trial_does_not_take_the_search_down(ray_local, tiny, test_family):
    # its first trial raises; another one's worker is killed by SIGKILL, again on its retry
    flaky = test_family("flaky", "spaces.svm", "tests.fakes.failing_trainable")
    result = search(flaky, tiny, "--name", "with-failures")
    assert result.code == 0, result.err
    board = read_board(tiny.results)
    failed = board[board["status"] == "failed"]
    assert len(failed) == 2 and len(board) == 4 and failed["val_accuracy"].isna().all()
    assert registry.get("svm").space().DEFAULTS["C"] in set(failed["param_C"])
    assert "2 failed" in result.out
    # each failure is named in one line, with its cause
    victim = (tiny.results / "with-failures" / "victim").read_text()
    assert "failed: RuntimeError: this trial fails on purpose" in result.out
    assert any(line.startswith(f"trial {victim} failed: ") and "died" in line.lower() for line in result.out.splitlines())
    assert (tiny.models / "flaky_best.skops").exists()


def test_fixed_parameters_hold_in_every_trial(ray_local, tiny):
    result = search("svm", tiny, "--trials", 3, "--fix", "C=3", "--fix", "mirror=False", "--name", "held")
    assert result.code == 0, result.err
    configs = [json.loads(p.read_text()) for p in (tiny.results / "held").glob("*/params.json")]
    assert len(configs) == 3 and all(c["C"] == 3.0 and c["mirror"] is False for c in configs)
    assert len({c["pca_components"] for c in configs}) > 1  # the rest is still searched


@pytest.mark.alone  # its assertion is the wall-clock budget
def test_a_time_budget_bounds_the_whole_command(ray_local, tiny):
    """--time-budget is the user's whole wait, the export and MLflow included: work that
    would end past it does not start (the budget plus 2% is the contract)."""
    budget = 30
    folders = tiny.tracked_folders  # the empty MLflow store made beforehand (seconds cold): not the command's
    started = time.time()
    result = run_cli("svm", "--data", TINY_DEMO, "--trials", 200, "--time-budget", budget, *folders, "--name", "budget")
    took = time.time() - started
    assert result.code == 0, result.err
    assert took <= budget * 1.02, f"{took:.1f} s for a {budget} s budget"
    board = read_board(tiny.results)
    assert 1 <= len(board) < 200 and set(board["status"]) <= {"finished", "stopped"}
    assert (tiny.models / "svm_best.skops").exists()


def test_a_budget_too_short_for_one_trial_and_the_end_is_refused_before_any_work(ray_local, tiny):
    result = run_cli("svm", "--data", TINY_DEMO, "--time-budget", "2s", *tiny.folders, "--no-tracking")
    assert result.code == 2
    assert "--time-budget: too short here for one svm trial's first unit" in result.err
    assert len(result.err.strip().splitlines()) == 2  # the line and its hint
    assert not (tiny.results / "leaderboard.csv").exists() and not any(tiny.models.iterdir())


def test_random_searcher_and_a_name_is_never_reused(ray_local, tiny):
    result = search("rf", tiny, "--name", "again", "--searcher", "random", "--trials", 2)
    assert result.code == 0, result.err
    again = search("rf", tiny, "--name", "again", "--searcher", "random", "--trials", 2)
    assert again.code == 2 and "already holds a search named 'again'" in again.err
    board = read_board(tiny.results)
    assert len(board) == 2 and set(board["search"]) == {"again"}


def test_a_worse_search_keeps_the_better_model(ray_local, tiny):
    first = search("svm", tiny, "--name", "good", "--trials", 1)
    assert first.code == 0, first.err
    card = json.loads((tiny.models / "svm_best.json").read_text())
    card["metrics"]["val"]["accuracy"] = 2.0  # pretend the exported model is unbeatable
    (tiny.models / "svm_best.json").write_text(json.dumps(card))
    second = search("svm", tiny, "--name", "worse", "--trials", 1)
    assert second.code == 0, second.err
    assert "kept" in second.out and json.loads((tiny.models / "svm_best.json").read_text())["search"] == "good"


def test_a_trial_larger_than_this_machine_is_refused_in_one_line(tiny):
    """In a process of its own, so that the search starts its own Ray (one it joins may be a
    cluster that an autoscaler grows: there Ray's own warning stands)."""
    import os
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "search", "svm", "--data", TINY_DEMO, "--cpus-per-trial", "64",
                           "--no-tracking", *map(str, tiny.folders)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    assert proc.returncode == 2
    assert "--cpus-per-trial 64: this machine has" in proc.stderr and "so no trial could start" in proc.stderr
    assert "Traceback" not in proc.stderr and not list(tiny.results.glob("*/"))  # no search folder left
