"""The trial loop shared by the scikit-learn families: fit on growing nested subsets.

A trial fits on nested, stratified subsets of train (by default 1/27, 1/9, 1/3, all)
and reports after each fit, so ASHA can stop a weak configuration after a cheap fit.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from .data import Splits
from .fast_svc import accelerated
from .metrics import accuracy
from .units import DEFAULT_EXPONENT, current_deadline, fits, next_rung_seconds

# train_accuracy is measured on at most this many of the fitted images: predicting all
# 25,000 with an RBF SVM would cost as much as the fit.
TRAIN_SCORE_SAMPLE = 2000
# Each rung's checkpoint holds its model: on all of train, the same fit as the export's
# refit (same rows, order and seed), so the export takes it instead of fitting again
# (minutes for an SVC on mirrored faces); below, what a deadline leaves to export.
FITTED_MODEL = "model.skops"
RUNG_FILE = "rung.json"  # the rung reached, and the sizes and seconds of the fits so far


def nested_order(labels: np.ndarray, seed: int) -> np.ndarray:
    """A permutation of range(len(labels)) whose every prefix is close to stratified.

    Each image gets the rank (k + u) / n_c, k its place in a shuffle of its class of size
    n_c and u uniform in [0, 1); sorting by rank interleaves the classes in proportion.
    """
    rng = np.random.default_rng(seed)
    rank = np.empty(len(labels))
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        rank[rng.permutation(members)] = (np.arange(len(members)) + rng.random(len(members))) / len(members)
    return np.argsort(rank, kind="stable")


def subset_size(n: int, fraction: float, n_classes: int) -> int:
    return min(n, max(int(round(n * fraction)), 2 * n_classes))


def training_set(config: dict, splits: Splits, features, rows: np.ndarray, x_all=None):
    """(X, y) of the images ``rows``, with their mirrored copies when ``config["mirror"]``
    (twice the faces, a known gain on FER2013)."""
    x_all = features(config, splits) if x_all is None else x_all
    x, y = x_all[rows], splits.labels[rows]
    if config.get("mirror"):
        x = np.concatenate([x, features(config, splits, mirrored=True)[rows]])
        y = np.concatenate([y, y])
    return x, y


def is_first_point(config: dict, points: list[dict]) -> bool:
    """Whether ``config`` is one of a search's first points (each point names the
    parameters it sets; the config may hold more, such as --fix values)."""
    return any(all(config.get(k) == v for k, v in point.items()) for point in points)


def fit_on_rungs(config: dict, splits: Splits, settings: dict, features, fit, exported,
                 fit_exponent: float = DEFAULT_EXPONENT):
    """Fit ``fit(config, X, y, settings) -> model`` at each rung and report to Ray Tune.

    ``features(config, splits, mirrored=False)`` returns the feature matrix of all images
    (cached), or of all images mirrored; ``exported(config, model)`` the exportable
    pipeline of a fitted model, saved (skops) in the checkpoint of every report with what
    the trial has done: a paused or resumed trial continues at its next rung, and the
    export takes the model that scored the trial's val. ``fit_exponent``: how the family's
    fit grows with the faces, until the trial has measured it (``trainables.units``).
    """
    import ray
    from ray import tune

    node = ray.get_runtime_context().get_node_id()  # the trial's node: hosts may share a name and address
    # the threads of oneDAL, a forest and BLAS: the CPUs Ray gave this trial (a search's
    # first points get a whole node, see search/engine/resources.py)
    cpus = tune.get_context().get_trial_resources().required_resources.get("CPU", settings["threads"])
    settings = {**settings, "threads": max(1, int(cpus))}

    started = time.perf_counter()
    if config.get("mirror") and settings["threads"] > 1:
        # the faces' and the mirrored faces' features side by side (OpenCV's HOG releases
        # the GIL: 3.1 s against 5.1 s for both sets of the real FER2013); both are cached
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(2) as pool:
            x_all, _ = pool.map(lambda mirrored: features(config, splits, mirrored=mirrored), (False, True))
    else:
        x_all = features(config, splits)
    features_seconds = time.perf_counter() - started
    train, val = splits.index["train"], splits.index["val"]
    y_train, y_val = splits.labels[train], splits.labels[val]
    n_classes = len(np.unique(y_train))
    order = nested_order(y_train, settings["seed"])
    # a search's first points (the measured defaults, an earlier search's best) earned the
    # full rung before this search began: they fit on all of train at once where that fits
    # before the deadline at the cost the driver foresees (else they climb the rungs, and
    # each fit's cost is measured before the next)
    jump = (is_first_point(config, settings.get("first_points", []))
            and fits(settings.get("first_point_seconds", 0.0), current_deadline(settings)))
    done = rungs_done(tune.get_checkpoint())
    rungs = [f for f in (settings["rungs"][-1:] if jump else settings["rungs"]) if f > done["train_fraction"]]
    sizes, seconds = done["sizes"], done["fit_seconds"]
    for i, fraction in enumerate(rungs):
        unit_started = time.perf_counter()
        subset = order[: subset_size(len(train), fraction, n_classes)]
        model = fit(config, *training_set(config, splits, features, train[subset], x_all), settings)
        sizes, seconds = [*sizes, len(subset)], [*seconds, time.perf_counter() - unit_started]
        # as the export and the final choice predict (``search/parallel.py:fast``): the same
        # labels, and for an RBF SVC several times faster than its own predict (the 2-hour
        # auto run's exported svm, val on one thread: 7 s against 50 s), so the reserve kept
        # for the end measures what the end does
        predictor = accelerated(model) or model
        predict_started = time.perf_counter()
        val_accuracy = accuracy(y_val, predictor.predict(x_all[val]))
        predict_seconds = time.perf_counter() - predict_started
        scored = subset[:TRAIN_SCORE_SAMPLE]
        next_size = subset_size(len(train), rungs[i + 1], n_classes) if i + 1 < len(rungs) else None
        growth = next_size / len(subset) if next_size else 0.0
        metrics = {
            "val_accuracy": val_accuracy,
            "train_accuracy": accuracy(y_train[scored], predictor.predict(x_all[train[scored]])),
            "train_fraction": fraction,
            "train_size": len(subset),
            "fit_seconds": seconds[-1],
            "predict_seconds": predict_seconds,  # the val faces' features through the model
            "features_seconds": features_seconds if i == 0 else 0.0,
            "threads": settings["threads"],
            "node_id": node,
        }
        import skops.io as sio

        with tempfile.TemporaryDirectory() as folder:
            sio.dump(exported(config, model), Path(folder) / FITTED_MODEL)
            metrics["model_mb"] = (Path(folder) / FITTED_MODEL).stat().st_size / 2**20
            (Path(folder) / RUNG_FILE).write_text(json.dumps({"train_fraction": fraction, "sizes": sizes, "fit_seconds": seconds}))
            metrics["unit_seconds"] = time.perf_counter() - unit_started
            # the next fit, and its scoring and saving, which grow about as the faces do
            metrics["next_unit_seconds"] = (next_rung_seconds(sizes, seconds, next_size, fit_exponent)
                                            + (metrics["unit_seconds"] - seconds[-1]) * growth)
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))


def rungs_done(checkpoint) -> dict:
    """What a trial did before it was paused or interrupted: the last rung it reported
    (0 for none), and the sizes and seconds of its fits."""
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            path = Path(folder) / RUNG_FILE
            if path.exists():
                return json.loads(path.read_text())
    return {"train_fraction": 0.0, "sizes": [], "fit_seconds": []}


def rung_of(folder: Path) -> float | None:
    """The train fraction the model in a classical trial's checkpoint folder was fitted on
    (None for a checkpoint of an older fer-search, which saved only the full rung's)."""
    path = Path(folder) / RUNG_FILE
    return json.loads(path.read_text())["train_fraction"] if path.exists() else None


def fit_all(config: dict, splits: Splits, settings: dict, features, fit):
    """Fit on all of train, in the order the last rung used: a seeded model (a forest's
    bootstrap) then matches the trial's full-fidelity fit exactly."""
    train = splits.index["train"]
    order = train[nested_order(splits.labels[train], settings["seed"])]
    return fit(config, *training_set(config, splits, features, order), settings)


def trainable_of(features, fit, exported, fit_exponent: float = DEFAULT_EXPONENT):
    """A classical family's ``train`` and ``final_model`` (its trainable module's
    contract, ``search/contracts.py``) from what the family itself defines: ``features``,
    ``fit`` and ``exported`` (see ``fit_on_rungs``). A family module says
    ``train, final_model = trainable_of(features, fit, exported, FIT_EXPONENT)``."""

    def train(config: dict, data: Splits, settings: dict) -> None:
        """The Ray Tune trainable: one fit per fidelity rung, one report each."""
        fit_on_rungs(config, data, settings, features, fit, exported, fit_exponent)

    def final_model(config: dict, data: Splits, settings: dict):
        """Refit on the whole train split, as the trial's last rung did."""
        return exported(config, fit_all(config, data, settings, features, fit))

    return train, final_model
