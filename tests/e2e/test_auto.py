"""`python -m search auto` end to end on the demo set: one budget across the families, kept
from start to exit, the final choice written and taken by evaluate; stopped and resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from mlflow import MlflowClient

from search.stores.leaderboard import read_file as read_board
from tests.conftest import ROOT, TINY_DEMO, prepare_store, run_cli

pytestmark = pytest.mark.slow


@pytest.mark.alone  # its assertion is the wall-clock budget
def test_auto_spends_one_budget_across_the_families_and_ends_with_the_best_model_or_ensemble(ray_local, tiny):
    budget = 120
    folders = tiny.tracked_folders  # the empty MLflow store made beforehand: not the command's time
    started = time.time()
    result = run_cli("auto", "--data", TINY_DEMO, "--time-budget", budget, "--name", "a", *folders)
    took = time.time() - started
    assert result.code == 0, result.err
    assert took <= budget * 1.02, f"{took:.1f} s for a {budget} s budget"
    out = result.out
    assert "no GPU: resnet50 and resnet101 left out" in out
    for family in ("svm", "rf", "cnn"):  # each probed with its defaults, once, every decision with its reason
        assert sum(line.startswith("[auto]") and f": {family}, " in line and "probe" in line for line in out.splitlines()) == 1
    for family in ("svm", "rf", "cnn"):  # Ray Tune's pickle of each search, copied on every sync, holds no faces
        assert (tiny.results / f"a-{family}" / "tuner.pkl").stat().st_size < 700 * 48 * 48
    record = json.loads((tiny.results / "a" / "auto.json").read_text())
    assert record["decisions"] and all(d["why"] for d in record["decisions"])

    manifest = json.loads((tiny.models / "auto_best.json").read_text())
    assert manifest["kind"] == "fer-search ensemble" and manifest["auto"] == "a"
    choice = manifest["choice"]
    best_member_val = max(c["val"] for c in choice["candidates"])
    assert manifest["metrics"]["val"]["accuracy"] >= best_member_val  # never below its best member on val
    assert {c["family"] for c in choice["candidates"]} <= {"svm", "rf", "cnn"} and len(choice["candidates"]) >= 2
    assert f"final: {choice['method']}" in out and "time: " in out

    evaluated = run_cli("evaluate", tiny.models / "auto_best.json", "--json", tiny.results / "eval.json")
    assert evaluated.code == 0, evaluated.err
    # evaluate predicts in a new process and sums the TTA views in another order; a forest's
    # exact ties once fell the other way there (one test face of 79): soft_vote.decide
    # keeps a tie a tie, so the two agree exactly.
    report = json.loads((tiny.results / "eval.json").read_text())
    assert report["accuracy"] == pytest.approx(manifest["metrics"]["test"]["accuracy"], abs=1e-9)

    board = read_board(tiny.results)
    assert {"a-svm", "a-rf", "a-cnn"} <= set(board["search"]), out
    report = run_cli("report", "--name", "a", *tiny.folders)
    assert report.code == 0, report.err
    page = (tiny.results / "a" / "report.html").read_text()
    assert all(f"<h2>{h}</h2>" in page for h in ("Auto run a", "Decisions", "Search a-svm", "Search a-cnn"))
    c = MlflowClient(f"sqlite:///{tiny.results / 'mlflow.db'}")
    runs = c.search_runs([e.experiment_id for e in c.search_experiments()], "tags.`fer_search.kind` = 'search'")
    parent = next(r for r in runs if r.data.tags["fer_search.family"] == "auto")
    families = [r for r in runs if r.data.tags["fer_search.search"].startswith("a-")]
    assert len(families) == 3 and all(r.data.tags.get("mlflow.parentRunId") == parent.info.run_id for r in families)
    assert parent.info.status == "FINISHED" and "val_accuracy" in parent.data.metrics


def test_a_budget_that_cannot_hold_the_probes_and_the_end_is_refused_before_any_work(ray_local, tiny):
    result = run_cli("auto", "--data", TINY_DEMO, "--time-budget", "5s", *tiny.folders, "--no-tracking")
    assert result.code == 2
    assert "--time-budget 5s: too short here for even" in result.err and "hint: give at least" in result.err
    assert not list(tiny.results.iterdir()) and not list(tiny.models.iterdir())


@pytest.mark.alone  # its 200-s budget must reach the cnn's first epoch, on a deadline
def test_auto_stopped_by_a_signal_concludes_and_resumes_where_it_stopped(tmp_path):
    results, models = tmp_path / "results", tmp_path / "models"
    prepare_store(results)
    argv = [sys.executable, "-m", "search", "auto", "--data", TINY_DEMO, "--families", "svm,cnn", "--name", "r",
            "--time-budget", "200", "--results-dir", str(results), "--models-dir", str(models)]
    proc = subprocess.Popen(argv, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    cnn_epochs = results / "r-cnn"
    deadline = time.time() + 150
    while time.time() < deadline and not list(cnn_epochs.glob("*/result.json")):  # the cnn has reported an epoch
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)  # as `kill`, `timeout` or a scheduler sends it
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 143, err[-3000:]
    assert "continue with python -m search auto --resume --name r" in out
    assert "Traceback" not in err and "SIGTERM received" not in err  # no native crash dump
    stopped = json.loads((results / "r" / "auto.json").read_text())
    epochs_before = [json.loads(line)["epoch"] for f in cnn_epochs.glob("*/result.json") for line in f.read_text().splitlines()]

    resumed = run_cli("auto", "--resume", "--name", "r", "--time-budget", "90", "--results-dir", results, "--models-dir", models)
    assert resumed.code == 0, resumed.err
    record = json.loads((results / "r" / "auto.json").read_text())
    assert len(record["runs"]) == 2 and len(record["decisions"]) > len(stopped["decisions"])
    epochs = [json.loads(line)["epoch"] for f in cnn_epochs.glob("*/result.json") for line in f.read_text().splitlines()]
    assert len(epochs) > len(epochs_before) and epochs == sorted(set(epochs))  # the cnn went on, no epoch again
    assert (models / "auto_best.json").exists()
    # what the stopped run exported stays a candidate (the svm, probed first, whose slices the
    # resumed run may never come back to), so the final is no worse on val than the stopped
    # run's best member: a family's export is replaced only by one no worse on val, and the
    # final is never worse than its best member. (Not than the stopped run's final: the way
    # to blend the members is chosen again on held-out halves of val, and an ensemble of the
    # new members may score below the old one on all of val; in CI once 0.635 against 0.651.)
    before, after = stopped["final"]["choice"]["candidates"], record["final"]["choice"]["candidates"]
    assert {c["family"] for c in before} <= {c["family"] for c in after}, resumed.out
    assert record["final"]["metrics"]["val"]["accuracy"] >= max(c["val"] for c in before), (before, after)
    c = MlflowClient(f"sqlite:///{results / 'mlflow.db'}")
    autos = c.search_runs([e.experiment_id for e in c.search_experiments()], "tags.`fer_search.family` = 'auto'")
    assert len(autos) == 1 and autos[0].info.status == "FINISHED"


def reports(folder) -> list[dict]:
    return [json.loads(line) for f in sorted(folder.glob("*/result.json")) for line in f.read_text().splitlines()]


@pytest.mark.alone  # its assertion is the budget, and the lanes' overlap in time
def test_with_a_gpu_networks_train_while_classical_trials_use_the_other_cores_and_a_stop_resumes_both(tmp_path):
    """The CPU twin of a GPU workstation (``tests/fakes/logical_gpu.py``: Ray claims a GPU,
    Keras finds none and trains on the CPU): the cnn's lane and the svm's run at once, a
    SIGTERM stops both lanes' fits and concludes, and ``--resume`` continues both."""
    results, models = tmp_path / "results", tmp_path / "models"
    prepare_store(results)
    command = [sys.executable, "-m", "tests.fakes.logical_gpu", "auto", "--data", TINY_DEMO, "--families", "svm,cnn",
               "--name", "g", "--results-dir", str(results), "--models-dir", str(models)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([*command, "--time-budget", "240"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 180
    while time.time() < deadline and len(reports(results / "g-cnn")) < 2:  # the cnn's second epoch, the svm's trials beside it
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 143, err[-3000:]
    assert "auto: two lanes at once: cnn on the GPU, svm on 1 of the 2 CPUs" in out
    assert "continue with python -m search auto --resume --name g" in out and "Traceback" not in err
    epochs, fits = reports(results / "g-cnn"), reports(results / "g-svm")
    assert len(epochs) >= 2 and fits
    # svm trials reported while a cnn epoch ran: the lanes ran at once, not in turns
    spans = [(e["timestamp"] - e["time_this_iter_s"], e["timestamp"]) for e in epochs]
    assert any(start <= f["timestamp"] <= end for f in fits for start, end in spans), (spans, [f["timestamp"] for f in fits])
    stopped = json.loads((results / "g" / "auto.json").read_text())
    cnn_trials = [f.parent for f in (results / "g-cnn").glob("*/result.json")]

    resumed = subprocess.run([*command, "--resume", "--time-budget", "90"], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    used = next(line for line in resumed.stdout.splitlines() if line.startswith("time: "))
    # the CLI's clock (Ray's start is the launcher's), with some slack: in CI once 1m32s of
    # 1m30s, cause not measured (the "GPU"'s epochs share the two CPUs with the svm's lane,
    # and that machine throttles in windows); here 1m15s
    assert float(used.rsplit("(", 1)[1].rstrip("%)")) <= 105.0, resumed.stdout[-4000:]  # its decisions and ends, to tell why
    record = json.loads((results / "g" / "auto.json").read_text())
    assert len(record["runs"]) == 2 and len(record["decisions"]) > len(stopped["decisions"])
    for trial in cnn_trials:  # each went on from its checkpoint, no epoch again
        after = [json.loads(line)["epoch"] for line in (trial / "result.json").read_text().splitlines()]
        assert after == sorted(set(after)), (trial.name, after)
    assert len(reports(results / "g-cnn")) > len(epochs)
    assert len(reports(results / "g-svm")) > len(fits)
    assert {c["family"] for c in record["final"]["choice"]["candidates"]} == {"svm", "cnn"}
    assert (models / "auto_best.json").exists()
