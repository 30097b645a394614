"""MLflow tracking: every trial of every search, written by the driver alone.

A parent run per search, a child run per trial (``mlflow.parentRunId``). The driver logs
what Ray Tune streams back to it (``TrackingCallback``), so the embedded SQLite store has
one writer and no worker needs to reach a tracking server. ``sync`` logs a search from
its Ray experiment folder afterwards, idempotently.

Our runs carry tags under ``fer_search.``: ``kind`` (search | trial), ``search``,
``family``, ``trial_id``, ``status``, ``node``, and on the exported trial
``test_accuracy`` and ``model``. (What is read back: ``tracking_reads.py``; the figures:
``tracking_figures.py``.)
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from trainables.errors import FerSearchError

from .. import registry
from ..text import first_line
from .tracking_figures import confusion_figure, optuna_figures

TAG = "fer_search."
PARENT = "mlflow.parentRunId"
# What Ray Tune adds to every result: bookkeeping, not metrics of the model.
TUNE_KEYS = {
    "training_iteration", "timestamp", "pid", "done", "iterations_since_restore", "time_since_restore",
    "time_this_iter_s", "trial_id", "date", "hostname", "node_ip", "config", "experiment_tag",
    "checkpoint_dir_name", "should_checkpoint", "node_id",
}
ERROR_CHARS = 4000  # MLflow tag values are bounded; the whole text goes in an artifact
# MLflow 3's UI opens an experiment on its GenAI overview (empty for us). This tag is what
# the UI's own "experiment type" choice writes: model training. (MLflow 3.17's page still
# opened on the overview in our headless test; the summary names the runs page.)
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")


def default_uri(results_dir: Path) -> str:
    return f"sqlite:///{Path(results_dir).resolve() / 'mlflow.db'}"


def resolve_uri(tracking_uri: str | None, results_dir: Path) -> str:
    """--tracking-uri, else $MLFLOW_TRACKING_URI, else the embedded results/mlflow.db."""
    return tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or default_uri(results_dir)


def default_experiment(source: str) -> str:
    """One experiment per data set: fer-search-demo, fer-search-fer2013, ..."""
    if source.startswith("demo"):
        return "fer-search-demo"
    stem = Path(source).stem or Path(source).name
    return f"fer-search-{'fer2013' if stem == 'archive' else stem}"


def _quiet_mlflow():
    import logging

    import mlflow  # noqa: F401  (it sets its loggers' levels on import: set ours after)

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def is_remote(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def client(uri: str, check: bool = True):
    """An MlflowClient for ``uri``; with ``check``, a FerSearchError if it cannot be reached."""
    _quiet_mlflow()
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    # one quick try at a server: search.environment sets MLflow's retries and timeout
    from mlflow import MlflowClient

    c = MlflowClient(tracking_uri=uri)
    if check:
        try:
            c.search_experiments(max_results=1)
        except Exception as e:
            raise FerSearchError(f"MLflow at {uri} is unreachable ({first_line(e)})",
                                 hint="start the tracking server, pass another --tracking-uri, or --no-tracking") from None
    return c


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parents[1],
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _number(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


class Tracker:
    """The MLflow writes of one search. Any MLflow failure warns once and disables
    further writes: the search goes on, and ``sync`` completes MLflow afterwards."""

    def __init__(self, uri: str, experiment: str, search: str, family: str, data: str, results_dir: Path, say=print):
        self.uri, self.search, self.family, self.data, self.say = uri, search, family, data, say
        self.client = client(uri, check=False)
        self.broken: str | None = None
        self.parent_id: str | None = None
        self.trial_runs: dict[str, str] = {}
        self.experiment_id = self._experiment(experiment, Path(results_dir))

    # -- plumbing
    def _experiment(self, name: str, results_dir: Path) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            if EXPERIMENT_KIND[0] not in found.tags:  # made by an older fer-search
                self.client.set_experiment_tag(found.experiment_id, *EXPERIMENT_KIND)
            return found.experiment_id
        location = None
        if self.uri.startswith("sqlite:"):  # embedded: artifacts beside the database, under results/
            location = (results_dir.resolve() / "mlartifacts" / name).as_uri()
        return self.client.create_experiment(name, artifact_location=location, tags=dict([EXPERIMENT_KIND]))

    def where(self) -> str:
        """Where this search's parent run is: the experiment and run, and its URL on a server."""
        experiment = self.client.get_experiment(self.experiment_id).name
        place = f"experiment {experiment}, search run {self.parent_id}"
        page = f"#/experiments/{self.experiment_id}/runs/{self.parent_id}"
        if is_remote(self.uri):
            return f"{place}: {self.uri.rstrip('/')}/{page}"
        return f"{place}: mlflow ui --backend-store-uri {self.uri}, then http://127.0.0.1:5000/{page}"

    def safely(self, what: str, fn, *args, **kwargs):
        if self.broken:
            return None
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            self.broken = f"{what}: {first_line(e)}"
            self.say(f"warning: MLflow logging failed ({self.broken}); the search goes on, its results stay in "
                     f"the Ray experiment folder, and `python -m search sync --name {self.search}` logs them later")
            return None

    def _find(self, kind: str, trial_id: str | None = None):
        query = f"tags.`{TAG}search` = '{self.search}' and tags.`{TAG}kind` = '{kind}'"
        if trial_id:
            query += f" and tags.`{TAG}trial_id` = '{trial_id}'"
        runs = self.client.search_runs([self.experiment_id], query, max_results=2)
        return runs[0] if runs else None

    # -- the search (parent run)
    def start_search(self, tags: dict, space_module, parent: str | None = None, found_by: str | None = None) -> str | None:
        """The search's parent run (found again when resumed or synced); ``parent``: a run
        above it (auto's, over each family's search). A run that ``found_by`` (a --resume,
        a sync) finds still RUNNING was left so by a process that never concluded (SIGKILL,
        a lost machine): it says so in a tag."""
        def start():
            run = self._find("search")
            if run is not None and run.info.status == "RUNNING" and found_by:
                self.client.set_tag(run.info.run_id, f"{TAG}killed",
                                    f"its process ended without concluding (a SIGKILL or a lost machine); found by "
                                    f"{found_by} at {time.strftime('%Y-%m-%d %H:%M:%S')}")
            if run is not None and run.info.status != "RUNNING":  # a resumed search, or a sync
                self.client.update_run(run.info.run_id, "RUNNING")
            if run is None:
                all_tags = {f"{TAG}kind": "search", f"{TAG}search": self.search, f"{TAG}family": self.family, f"{TAG}data": self.data,
                            **{f"{TAG}{k}": str(v) for k, v in tags.items()}, **({PARENT: parent} if parent else {})}
                run = self.client.create_run(self.experiment_id, run_name=self.search, tags=all_tags)
                if space_module is not None:
                    self.client.log_artifact(run.info.run_id, space_module.__file__, "search_space")
                    self.client.log_dict(run.info.run_id, {"defaults": space_module.DEFAULTS, "fidelity": space_module.FIDELITY.as_dict()},
                                         "search_space/defaults_and_fidelity.json")
            self.parent_id = run.info.run_id
            return self.parent_id
        return self.safely("starting the search run", start)

    # -- trials (child runs)
    def trial_run(self, trial_id: str, config: dict) -> str | None:
        if trial_id in self.trial_runs:
            return self.trial_runs[trial_id]

        def create():
            run = self._find("trial", trial_id)
            if run is None:
                from mlflow.entities import Param

                tags = {f"{TAG}kind": "trial", f"{TAG}search": self.search, f"{TAG}family": self.family,
                        f"{TAG}trial_id": trial_id, f"{TAG}status": "running", f"{TAG}data": self.data}
                if self.parent_id:
                    tags[PARENT] = self.parent_id
                run = self.client.create_run(self.experiment_id, run_name=f"{self.search}/{trial_id}", tags=tags)
                self.client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in config.items()])
            self.trial_runs[trial_id] = run.info.run_id
            return run.info.run_id
        return self.safely(f"creating the run of trial {trial_id}", create)

    def log_result(self, run_id: str | None, result: dict) -> None:
        if run_id is None:
            return
        from mlflow.entities import Metric, RunTag

        step = int(result.get("training_iteration", 0))
        stamp = int(result.get("timestamp", time.time()) * 1000)
        metrics = [Metric(k, _number(v), stamp, step) for k, v in result.items()
                   if k not in TUNE_KEYS and _number(v) is not None]
        tags = [RunTag(f"{TAG}node", str(result["node_id"]))] if result.get("node_id") else []
        self.safely("logging a result", self.client.log_batch, run_id, metrics=metrics, tags=tags)

    def end_trial(self, run_id: str | None, status: str, error: str | None = None) -> None:
        if run_id is None:
            return

        def end():
            self.client.set_tag(run_id, f"{TAG}status", status)
            if error:
                self.client.set_tag(run_id, f"{TAG}error", error[-ERROR_CHARS:])
                self.client.log_text(run_id, error, "error.txt")
            self.client.set_terminated(run_id, {"failed": "FAILED", "interrupted": "KILLED"}.get(status, "FINISHED"))
        self.safely("ending a trial run", end)

    def logged_steps(self, run_id: str, key: str = "val_accuracy") -> set[int]:
        return {m.step for m in self.client.get_metric_history(run_id, key)}

    # -- the end of the search
    def finish_search(self, best_row: dict | None, exported: dict | None, model, splits, study_rows: list[dict],
                      space_module, model_format, status: str = "FINISHED") -> None:
        if self.parent_id is None:
            return
        self.safely("logging the search's results", self._finish, best_row, exported, model, splits, study_rows, space_module,
                    model_format)
        self.end_search(status)

    def finish_auto(self, manifest: dict | None, record: dict, manifest_file, status: str = "FINISHED") -> None:
        """An auto run's own run: the final model's scores, its manifest and the run's record
        (every decision with its reason)."""
        if self.parent_id is None:
            return

        def finish():
            from mlflow.entities import Metric

            from . import ensembles

            now = int(time.time() * 1000)
            if manifest:
                metrics = [Metric(f"{split}_accuracy", float(scores["accuracy"]), now, 0)
                           for split, scores in manifest["metrics"].items() if scores.get("accuracy") is not None]
                self.client.log_batch(self.parent_id, metrics=metrics)
                self.client.set_tag(self.parent_id, f"{TAG}final", f"{manifest['choice']['method']}"
                                    f"{ensembles.tta_label(manifest)}: {', '.join(m['family'] for m in manifest['members'])}")
            if manifest_file:
                self.client.log_artifact(self.parent_id, str(manifest_file), "final")
            self.client.log_dict(self.parent_id, record, "auto.json")
        self.safely("logging the auto run's results", finish)
        self.end_search(status)

    def end_search(self, status: str) -> None:
        if self.parent_id is not None:
            self.safely("ending the search run", self.client.set_terminated, self.parent_id, status)

    def _finish(self, best_row, exported, model, splits, study_rows, space_module, model_format):
        from mlflow.entities import Metric

        run_id = self.parent_id
        now = int(time.time() * 1000)
        if best_row is not None and exported is not None:
            metrics = [Metric(f"{split}_{k}", float(v), now, 0) for split, scores in exported["metrics"].items()
                       for k, v in scores.items() if k in ("accuracy", "macro_f1")]
            self.client.log_batch(run_id, metrics=metrics)
            self.client.set_tag(run_id, f"{TAG}best_trial", best_row["trial_id"])
            self.client.log_dict(run_id, exported["metrics"], "best/metrics_per_split.json")
            self.client.log_dict(run_id, best_row["_config"], "best/config.json")
            if "test" in exported["metrics"]:
                self._log_figure(run_id, confusion_figure(exported["metrics"]["test"]["confusion_matrix"]),
                                 "best/confusion_matrix_test.png")
            found = None if best_row["trial_id"] in self.trial_runs else self._find("trial", best_row["trial_id"])
            trial_run_id = self.trial_runs.get(best_row["trial_id"]) or (found.info.run_id if found else None)
            if trial_run_id and "test" in exported["metrics"]:
                self.client.set_tag(trial_run_id, f"{TAG}test_accuracy", exported["metrics"]["test"]["accuracy"])
                if exported.get("written"):
                    self.client.set_tag(trial_run_id, f"{TAG}model", exported["model_file"])
            if model is not None:
                self._log_model(run_id, model, exported, splits, model_format)
        for name, figure in optuna_figures(space_module, study_rows):
            self._log_figure(run_id, figure, f"optuna/{name}.png")

    def _log_figure(self, run_id: str, figure, path: str) -> None:
        """Log a Matplotlib figure, then close it: pyplot keeps every figure it made until
        closed, and one process may run many searches (``auto``, the tests: Matplotlib
        warned of more than 20 open)."""
        import matplotlib.pyplot as plt

        try:
            self.client.log_figure(run_id, figure, path)
        finally:
            plt.close(figure)

    def _log_model(self, run_id: str, model, exported: dict, splits, model_format) -> None:
        """In the family's MLflow flavour (``models.ModelFormat.log``), registered as
        ``fer-<family>`` when it replaced the exported model."""
        register = f"fer-{self.family}" if exported.get("written") else None
        with _mlflow_run(self.uri, run_id):
            info = model_format.log(model, splits.x("val")[:2], register, registry.get(self.family))
        version = getattr(info, "registered_model_version", None)
        if version is not None and "test" in exported["metrics"]:
            self.client.set_model_version_tag(f"fer-{self.family}", str(version), "test_accuracy",
                                              str(exported["metrics"]["test"]["accuracy"]))
            self.client.set_model_version_tag(f"fer-{self.family}", str(version), "search", self.search)


class _mlflow_run:
    """Re-enter an existing run with the fluent API (log_model needs an active run), and
    put the process-wide tracking URI (an environment variable too) back afterwards."""

    def __init__(self, uri, run_id):
        self.uri, self.run_id = uri, run_id

    def __enter__(self):
        import mlflow

        self.previous = os.environ.get("MLFLOW_TRACKING_URI")
        mlflow.set_tracking_uri(self.uri)
        self.run = mlflow.start_run(run_id=self.run_id)
        return self.run

    def __exit__(self, *exc):
        import mlflow

        mlflow.end_run()  # finish_search sets the parent's final status right after
        mlflow.set_tracking_uri(self.previous)
        return False
