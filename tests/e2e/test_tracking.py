"""MLflow tracking against a real `mlflow server` on 127.0.0.1 (SQLite backend), and the
embedded default store; sync; leaderboard from MLflow."""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from search import registry
from search.stores.leaderboard import read_file as read_board
from tests.conftest import TINY_DEMO, missing, run_cli

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MlflowServer:
    """An `mlflow server` process on 127.0.0.1 over a SQLite file; restartable on its port."""

    def __init__(self, folder: Path):
        self.folder, self.port, self.proc = folder, free_port(), None
        self.uri = f"http://127.0.0.1:{self.port}"

    def start(self):
        cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(self.port),
               "--backend-store-uri", f"sqlite:///{self.folder / 'mlflow.db'}",
               "--artifacts-destination", str(self.folder / "artifacts"), "--workers", "1"]
        self.log = open(self.folder / "server.log", "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"mlflow server did not answer: {(self.folder / 'server.log').read_text()[-2000:]}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(timeout=30)
        self.log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = MlflowServer(tmp_path_factory.mktemp("mlflow-server")).start()
    yield s
    s.stop()


def client(uri):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri)


def runs_of(c, search):
    exps = [e.experiment_id for e in c.search_experiments()]
    return c.search_runs(exps, f"tags.`fer_search.search` = '{search}'", max_results=500)


@pytest.fixture
def flaky_family(test_family):
    """svm whose first trial (the space's defaults) fails: a failure inside a real search."""
    return test_family("flaky", "spaces.svm", "tests.fakes.failing_trainable")


def test_a_search_lands_in_the_tracking_server(ray_local, server, tiny, flaky_family):
    result = run_cli(flaky_family, "--data", TINY_DEMO, "--trials", 5, "--seed", 1, "--name", "tracked",
                     "--tracking-uri", server.uri, "--experiment", "fer-tests",
                     *tiny.folders)
    assert result.code == 0, result.err
    c = client(server.uri)
    runs = runs_of(c, "tracked")
    parent = [r for r in runs if r.data.tags["fer_search.kind"] == "search"]
    children = [r for r in runs if r.data.tags["fer_search.kind"] == "trial"]
    assert len(parent) == 1 and len(children) == 5
    parent = parent[0]
    tags = parent.data.tags
    assert tags["fer_search.family"] == "flaky" and tags["fer_search.data_fingerprint"] == "demo-v1-700"
    assert tags["fer_search.searcher"] == "tpe" and tags["fer_search.seed"] == "1" and "--trials 5" in tags["fer_search.command"]
    assert len(tags["fer_search.git_commit"]) in (40, 7) or tags["fer_search.git_commit"] == "unknown"
    assert all(ch.data.tags["mlflow.parentRunId"] == parent.info.run_id for ch in children)

    # params, stepped metrics, statuses, nodes
    statuses = {ch.data.tags["fer_search.status"] for ch in children}
    assert "failed" in statuses and "finished" in statuses
    for ch in children:
        status = ch.data.tags["fer_search.status"]
        assert ch.info.status == ("FAILED" if status == "failed" else "FINISHED")
        assert "C" in ch.data.params and "hog_cells" in ch.data.params
        if status == "failed":  # the trial that raises, and the one whose worker is SIGKILLed
            error = ch.data.tags["fer_search.error"]
            assert "fails on purpose" in error or "actor died unexpectedly" in error, error
            continue
        history = c.get_metric_history(ch.info.run_id, "val_accuracy")
        fractions = c.get_metric_history(ch.info.run_id, "train_fraction")
        assert [m.step for m in history] == list(range(1, len(history) + 1))
        rungs = list(registry.get("svm").fidelity().rungs)
        assert [m.value for m in fractions] == pytest.approx(rungs[: len(fractions)])
        assert (status == "finished") == (len(history) == len(rungs))
        assert len(ch.data.tags["fer_search.node"]) == 56  # Ray's node id

    # the end of the search, on the parent run
    assert {"val_accuracy", "test_accuracy", "test_macro_f1"} <= set(parent.data.metrics)
    artifacts = {a.path for folder in ("", "best", "optuna", "search_space") for a in c.list_artifacts(parent.info.run_id, folder or None)}
    assert {"best/confusion_matrix_test.png", "best/metrics_per_split.json", "optuna/optimization_history.png",
            "optuna/param_importances.png", "search_space/svm.py"} <= artifacts
    card = json.loads((tiny.models / "flaky_best.json").read_text())
    best_child = [ch for ch in children if ch.data.tags.get("fer_search.model")]
    assert len(best_child) == 1 and best_child[0].data.tags["fer_search.trial_id"] == card["trial_id"]

    # registered, tagged with its test accuracy, loadable as a pyfunc model that predicts
    versions = c.search_model_versions("name='fer-flaky'")
    assert len(versions) == 1
    version = versions[0]
    assert float(version.tags["test_accuracy"]) == card["metrics"]["test"]["accuracy"]
    import mlflow.pyfunc

    from search.stores import models
    from trainables import demo

    mlflow.set_tracking_uri(server.uri)
    try:
        loaded = mlflow.pyfunc.load_model(f"models:/fer-flaky/{version.version}")
    finally:
        mlflow.set_tracking_uri(None)
    faces = demo.generate(40, seed=9).images
    assert np.array_equal(np.asarray(loaded.predict(faces)), models.load(tiny.models / "flaky_best.skops").predict(faces))


def test_embedded_store_by_default_and_the_leaderboard_from_it(ray_local, tiny):
    import matplotlib.pyplot as plt

    for family in ("svm", "rf"):
        open_figures = set(plt.get_fignums())
        result = run_cli(family, "--data", TINY_DEMO, "--trials", 3, "--name", f"embedded-{family}",
                         *tiny.folders)
        assert result.code == 0, result.err
        assert f"mlflow ui --backend-store-uri sqlite:///{tiny.results.resolve()}/mlflow.db" in result.out
        # its figures (the confusion matrix, Optuna's) logged, then closed: none left open
        assert set(plt.get_fignums()) <= open_figures
    assert (tiny.results / "mlflow.db").exists()
    c = client(f"sqlite:///{tiny.results / 'mlflow.db'}")
    assert len(runs_of(c, "embedded-svm")) == 4 and len(runs_of(c, "embedded-rf")) == 4
    artifact_uri = runs_of(c, "embedded-svm")[0].info.artifact_uri
    assert artifact_uri.startswith(f"file://{tiny.results.resolve()}/mlartifacts/")

    # the leaderboard in every format, from MLflow: both families, best first
    out = run_cli("leaderboard", "--results-dir", tiny.results, "--format", "json")
    records = json.loads(out.out)
    assert len(records) == 6 and {r["family"] for r in records} == {"svm", "rf"}
    assert all({"search", "family", "trial_id", "status", "val_accuracy"} <= set(r) for r in records)
    scores = [r["val_accuracy"] for r in records]
    assert scores == sorted(scores, reverse=True)
    assert sum(1 for r in records if r.get("model")) == 2 and all(r["node"] for r in records)
    csv = pd.read_csv(pd.io.common.StringIO(run_cli("leaderboard", "--results-dir", tiny.results, "--format", "csv").out), dtype={"trial_id": str})
    assert csv["trial_id"].tolist() == [r["trial_id"] for r in records]
    md = run_cli("leaderboard", "--results-dir", tiny.results, "--format", "markdown", "--family", "rf").out.splitlines()
    assert md[0].startswith("| search | family | trial_id") and md[1].startswith("| --- |") and len(md) == 5
    table = run_cli("leaderboard", "--results-dir", tiny.results, "--top", 2).out.splitlines()
    assert len(table) == 3 and records[0]["trial_id"] in table[1]
    # the files are rewritten from the same rows
    assert read_board(tiny.results)["trial_id"].tolist() == csv["trial_id"].tolist()
    assert pd.read_parquet(tiny.results / "leaderboard.parquet")["trial_id"].tolist() == csv["trial_id"].tolist()


def test_sync_is_idempotent(ray_local, tiny):
    result = run_cli("rf", "--data", TINY_DEMO, "--trials", 3, "--name", "offline", "--no-tracking",
                     *tiny.folders)
    assert result.code == 0, result.err
    assert not (tiny.results / "mlflow.db").exists()
    uri = f"sqlite:///{tiny.results / 'mlflow.db'}"
    first = run_cli("sync", "--results-dir", tiny.results)
    assert first.code == 0, first.err
    count = len(runs_of(client(uri), "offline"))
    second = run_cli("sync", "--name", "offline", "--results-dir", tiny.results)
    assert second.code == 0 and "0 new report(s)" in second.out
    runs = runs_of(client(uri), "offline")
    assert count == len(runs) == 4
    children = [r for r in runs if r.data.tags["fer_search.kind"] == "trial"]
    assert all(len(client(uri).get_metric_history(r.info.run_id, "val_accuracy")) >= 1 for r in children)


def test_unreachable_server_at_start_stops_before_any_work(tiny):
    result = run_cli("svm", "--data", TINY_DEMO, "--tracking-uri", f"http://127.0.0.1:{free_port()}",
                     *tiny.folders)
    assert result.code == 2
    assert result.err.startswith("python -m search: error: MLflow at http://127.0.0.1:") and "unreachable" in result.err
    assert not list(tiny.results.glob("*/")) and not list(tiny.models.glob("*"))  # the folders checked, nothing in them


def test_server_gone_mid_search_then_sync(ray_local, tiny, tmp_path):
    server = MlflowServer(tmp_path).start()
    c = client(server.uri)
    stop = threading.Event()

    def kill_when_first_trial_logged():
        while not stop.is_set():
            try:
                if any(r.data.tags.get("fer_search.kind") == "trial" for r in runs_of(c, "interrupted")):
                    server.stop()
                    return
            except Exception:
                pass
            time.sleep(0.3)

    killer = threading.Thread(target=kill_when_first_trial_logged)
    killer.start()
    try:
        result = run_cli("rf", "--data", TINY_DEMO, "--trials", 5, "--name", "interrupted", "--tracking-uri", server.uri,
                         *tiny.folders)
    finally:
        stop.set()
        killer.join()
    assert result.code == 0, result.err
    assert result.out.count("warning: MLflow logging failed") == 1
    assert "python -m search sync --name interrupted" in result.out
    board = read_board(tiny.results)
    assert len(board) == 5 and (tiny.models / "rf_best.skops").exists()

    server.start()  # back on the same port and database
    synced = run_cli("sync", "--name", "interrupted", "--results-dir", tiny.results, "--tracking-uri", server.uri)
    assert synced.code == 0, synced.err
    runs = runs_of(c, "interrupted")
    children = [r for r in runs if r.data.tags["fer_search.kind"] == "trial"]
    assert len(children) == 5 and all(r.data.tags["fer_search.status"] in ("finished", "stopped") for r in children)
    for r in children:
        steps = [m.step for m in c.get_metric_history(r.info.run_id, "val_accuracy")]
        assert steps == sorted(set(steps)) and steps[0] == 1  # nothing logged twice
    server.stop()


@pytest.mark.skipif(not shutil.which("chromium"), reason=missing("chromium", "Debian's chromium is not installed (.ci/run installs it)"))
def test_the_mlflow_ui_lists_the_search(ray_local, tiny, tmp_path):
    result = run_cli("svm", "--data", TINY_DEMO, "--trials", 2, "--name", "seen-in-the-ui",
                     *tiny.tracked_folders)
    assert result.code == 0, result.err
    uri = f"sqlite:///{tiny.results.resolve() / 'mlflow.db'}"
    experiment = client(uri).get_experiment_by_name("fer-search-demo").experiment_id
    port = free_port()
    ui = subprocess.Popen([sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", "127.0.0.1",
                           "--port", str(port), "--workers", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          start_new_session=True)
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        shot = Path(os.environ.get("FER_SEARCH_TEST_ARTIFACTS", tmp_path)) / "mlflow-ui-runs.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        url = f"http://127.0.0.1:{port}/#/experiments/{experiment}/runs"  # the page the summary names
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path / 'chromium'}", "--virtual-time-budget=20000", "--window-size=1400,900",
                 "--enable-logging=stderr", "--v=0"]
        # one load of the UI for both: headless Chromium carries out each command it is given
        dom = subprocess.run(["chromium", *flags, "--dump-dom", f"--screenshot={shot}", url], capture_output=True,
                             text=True, timeout=180)
    finally:
        os.killpg(ui.pid, 9)
    assert "seen-in-the-ui" in dom.stdout, dom.stdout[-2000:]
    assert client(uri).get_experiment(experiment).tags["mlflow.experimentKind"] == "custom_model_development"
    assert "MLflow: experiment fer-search-demo, search run " in result.out
    assert shot.exists() and shot.stat().st_size > 10_000
    console_errors = [line for line in dom.stderr.splitlines() if "CONSOLE" in line and ("Uncaught" in line or "fer_search" in line)]
    assert not console_errors, console_errors
