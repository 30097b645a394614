"""Interrupt and resume, for real: `python -m search` in its own process, sent SIGINT (a
Ctrl-C) or killed with SIGKILL mid-search, then `--resume`d."""

import json
import os
import pickle
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from search.stores.leaderboard import read_file as read_board
from tests.conftest import ROOT, TINY_DEMO, Tiny, prepare_store, run_cli

pytestmark = pytest.mark.slow
TRIALS = 4


def start(tmp_path, *extra):
    """A search in a new process session (its Ray's processes share the group)."""
    argv = [sys.executable, "-m", "search", "svm", "--data", TINY_DEMO, "--trials", str(TRIALS), "--scheduler", "none",
            "--seed", "4", "--name", "long", "--results-dir", str(tmp_path / "results"), "--models-dir", str(tmp_path / "models"),
            *extra]
    prepare_store(tmp_path / "results")
    return subprocess.Popen(argv, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def finished_trials(experiment) -> int:
    """Trials that Ray Tune's saved experiment state holds as terminated. (A trial's
    result.json has its last report a moment before the state records the trial as
    ended: a kill in between rightly runs that trial again on resume.)"""
    states = sorted(experiment.glob("experiment_state-*.json"))
    try:
        saved = json.loads(states[-1].read_text()) if states else {"trial_data": []}
        trials = [json.loads(t[0]) if isinstance(t[0], str) else t[0] for t in saved["trial_data"]]
    except (OSError, ValueError, KeyError, IndexError, TypeError):  # caught mid-write: look again
        return 0
    return sum(t.get("status") == "TERMINATED" for t in trials)


def wait_for_finished(proc, experiment, at_least: int, timeout: float = 240):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the search ended before it was interrupted:\n{out[-2000:]}\n{err[-2000:]}")
        if experiment.exists() and finished_trials(experiment) >= at_least:
            return
        time.sleep(0.2)
    proc.kill()
    pytest.fail("no trial finished in time")


def full_fidelity_runs(experiment) -> dict[str, int]:
    """trial folder -> how many times it reported its full-fidelity fit (2: it ran twice)."""
    runs = {}
    for f in experiment.glob("*/result.json"):
        lines = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
        runs[f.parent.name] = sum(r.get("train_fraction") == 1.0 for r in lines)
    return runs


def check_resumed(tmp_path, resumed):
    assert resumed.code == 0, resumed.err
    assert "resuming search long" in resumed.out
    board = read_board(tmp_path / "results")
    assert len(board) == TRIALS and board["trial_id"].is_unique  # the original --trials, each trial once
    assert set(board["status"]) == {"finished"}
    assert max(full_fidelity_runs(tmp_path / "results" / "long").values()) == 1  # no finished trial ran twice
    from mlflow import MlflowClient

    c = MlflowClient(f"sqlite:///{tmp_path / 'results' / 'mlflow.db'}")
    runs = c.search_runs([e.experiment_id for e in c.search_experiments()], "tags.`fer_search.search` = 'long'")
    kinds = [r.data.tags["fer_search.kind"] for r in runs]
    assert kinds.count("search") == 1 and kinds.count("trial") == TRIALS  # one parent, one child per trial
    assert {r.info.status for r in runs} == {"FINISHED"}


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_a_stop_signal_concludes_then_resume_completes_the_search(tmp_path, ray_local, stop):
    proc = start(tmp_path)
    wait_for_finished(proc, tmp_path / "results" / "long", at_least=1)
    if stop == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
    else:
        proc.send_signal(signal.SIGTERM)  # what kill, timeout, Docker, Slurm and systemd send: the process
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == {"ctrl-c": 130, "sigterm": 143}[stop], err[-3000:]
    assert "interrupted: continue with python -m search svm --resume --name long" in out
    assert "Tuner.restore" not in out + err and "Traceback" not in err
    assert "SIGTERM received" not in err  # no native crash dump (Ray's or absl's)
    board = read_board(tmp_path / "results")
    assert "interrupted" in set(board["status"]) or len(board) < TRIALS
    assert "failed" not in set(board["status"])
    assert (tmp_path / "models" / "svm_best.skops").exists()  # the best so far is exported

    resumed = run_cli("svm", "--resume", "--name", "long", "--results-dir", tmp_path / "results",
                      "--models-dir", tmp_path / "models")
    check_resumed(tmp_path, resumed)


@pytest.mark.parametrize("then", ["--resume", "sync"])
def test_a_killed_search_resumes_and_its_parent_run_says_it_was_killed(tmp_path, ray_local, then):
    proc = start(tmp_path)
    wait_for_finished(proc, tmp_path / "results" / "long", at_least=1)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its Ray, at once: nothing concludes
    proc.communicate(timeout=60)
    if then == "--resume":
        resumed = run_cli("svm", "--resume", "--results-dir", tmp_path / "results", "--models-dir", tmp_path / "models")
        check_resumed(tmp_path, resumed)
    else:
        synced = run_cli("sync", "--results-dir", tmp_path / "results")
        assert synced.code == 0, synced.err
    from mlflow import MlflowClient

    c = MlflowClient(f"sqlite:///{tmp_path / 'results' / 'mlflow.db'}")
    [parent] = c.search_runs([e.experiment_id for e in c.search_experiments()], "tags.`fer_search.kind` = 'search'")
    # left RUNNING by the kill: said so by whichever came next
    assert f"ended without concluding (a SIGKILL or a lost machine); found by {then}" in parent.data.tags["fer_search.killed"]
    assert parent.info.status == "FINISHED"


def test_resume_refuses_what_would_change_the_search_and_says_when_there_is_nothing(tiny, ray_local):
    nothing = run_cli("svm", "--resume", *tiny.folders)
    assert nothing.code == 2 and "--resume: nothing to resume: no svm search in" in nothing.err
    first = tiny.search("svm", "--trials", 1, "--name", "short", "--no-tracking")
    assert first.code == 0, first.err
    changed = run_cli("svm", "--resume", "--seed", 9, *tiny.folders, "--no-tracking")
    assert changed.code == 2 and "--seed 9 differs from the search's 0" in changed.err
    other = run_cli("rf", "--resume", "--name", "short", *tiny.folders, "--no-tracking")
    assert other.code == 2 and "short is a svm search, not rf" in other.err


def test_retry_failed_runs_the_failed_trials_again_and_optuna_learns_their_results(ray_local, tiny, test_family, tmp_path):
    family = test_family("fails_until_fixed", "spaces.svm", "tests.fakes.failing_until_fixed")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "broken").touch()
    common = (*tiny.folders, "--cache-dir", cache, "--no-tracking")
    first = run_cli(family, "--data", TINY_DEMO, "--trials", 4, "--seed", 5, "--scheduler", "none", "--name", "retry", *common)
    assert first.code == 0, first.err
    before = read_board(tiny.results).set_index("trial_id")
    [failed] = before.index[before["status"] == "failed"]
    (cache / "broken").unlink()  # the user fixes the fault

    # without --retry-failed a failed trial stays failed
    again = run_cli(family, "--resume", "--name", "retry", *common)
    assert again.code == 0, again.err
    assert read_board(tiny.results).set_index("trial_id").loc[failed, "status"] == "failed"

    retried = run_cli(family, "--resume", "--name", "retry", "--retry-failed", *common)
    assert retried.code == 0, retried.err
    after = read_board(tiny.results).set_index("trial_id")
    assert set(after.index) == set(before.index) and set(after["status"]) == {"finished"}  # the same 4 trials
    assert max(full_fidelity_runs(tiny.results / "retry").values()) == 1  # none ran twice

    # Optuna's study (in the searcher state Ray Tune saved) learnt the retried trial's result
    import optuna

    [result_file] = (tiny.results / "retry").glob(f"*{failed}*/result.json")
    value = pd.read_json(result_file, lines=True)["val_accuracy"].iloc[-1]
    # one state file per run of the search, named by its start (the files' times are all alike)
    state_file = sorted((tiny.results / "retry").glob("searcher-state-*.pkl"))[-1]
    study = pickle.loads(state_file.read_bytes())["_ot_study"]
    by_state = {s: [t for t in study.trials if t.state == s] for s in optuna.trial.TrialState}
    [first_run] = by_state[optuna.trial.TrialState.FAIL]
    assert len(by_state[optuna.trial.TrialState.COMPLETE]) == 4
    assert any(t.params == first_run.params and t.value == pytest.approx(value) for t in by_state[optuna.trial.TrialState.COMPLETE])


def test_sigterm_mid_network_trial_concludes_then_resume_completes_it(tmp_path, ray_local):
    """A network search stopped by SIGTERM between its epochs: one line of resume, no native
    dump (TensorFlow's absl), its best so far exported; --resume finishes every trial."""
    folders = ["--results-dir", str(tmp_path / "results"), "--models-dir", str(tmp_path / "models")]
    argv = [sys.executable, "-m", "search", "cnn", "--data", Tiny.NETWORK_DATA, "--trials", "1", "--max-epochs", "2",
            "--scheduler", "none", "--name", "long-net", "--no-tracking", *folders]
    proc = subprocess.Popen(argv, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    experiment, deadline = tmp_path / "results" / "long-net", time.time() + 240
    while time.time() < deadline and not any(f.read_text().strip() for f in experiment.glob("*/result.json")):
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)  # after the trial's first epoch, before its second
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 143, err[-3000:]
    assert "interrupted: continue with python -m search cnn --resume --name long-net" in out
    assert "Traceback" not in err and "SIGTERM received" not in err
    assert (tmp_path / "models" / "cnn_best.keras").exists()

    resumed = run_cli("cnn", "--resume", "--name", "long-net", *folders)
    assert resumed.code == 0, resumed.err
    board = read_board(tmp_path / "results")
    assert len(board) == 1 and set(board["status"]) == {"finished"}
    [result] = experiment.glob("*/result.json")
    assert [json.loads(line)["epoch"] for line in result.read_text().splitlines()] == [1, 2]  # continued, not rerun


def test_a_search_that_ran_out_of_time_resumes_with_a_new_budget_and_proposes_trials_again(tiny, ray_local):
    """A budgeted search ends when its next trial no longer fits: its searcher said
    FINISHED, which Ray Tune saves and restores. Resumed with a new --time-budget, it goes
    on proposing (before, it continued only its unfinished trials: 65 of 200 stayed 65)."""
    common = ("--no-tracking", *tiny.folders)
    first = run_cli("svm", "--data", TINY_DEMO, "--trials", 500, "--time-budget", 25, "--name", "timed", *common)
    assert first.code == 0, first.err
    board = read_board(tiny.results)
    before = int((board["search"] == "timed").sum())
    assert 0 < before < 500, first.out
    resumed = run_cli("svm", "--resume", "--name", "timed", "--time-budget", 25, *common)
    assert resumed.code == 0, resumed.err
    board = read_board(tiny.results)
    assert int((board["search"] == "timed").sum()) > before, resumed.out
