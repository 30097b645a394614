"""The leaderboard row: one builder, whether a trial comes from Ray Tune's results or
from its MLflow run.

A flat record in the manner of scikit-learn's ``cv_results_``: fixed columns, then one
``param_<name>`` per hyperparameter. A trial is scored by the val accuracy of what it
would export: its last fit for a classical trial, its best epoch for a network (which
reports ``best_val_accuracy``), so the exported trial is the board's first.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from .. import registry, status

COLUMNS = [
    "search", "family", "trial_id", "status", "val_accuracy", "train_accuracy", "fidelity",
    "seconds", "test_accuracy", "model", "data", "node", "finished_at",
]
PARAM = "param_"


def param_value(v):
    """One conversion for both sources: a value as MLflow stores it (its text), read back.
    Numbers and booleans come back as such; None (unlimited depth) stays visible as "None"."""
    text = str(v)
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def score(metrics: dict) -> float | None:
    """The val accuracy of what the trial exports (see the module's doc)."""
    best = metrics.get("best_val_accuracy")
    return best if best is not None else metrics.get("val_accuracy")


def row(*, search: str, family: str, trial_id: str, trial_status: str, metrics: dict, params: dict,
        data: str | None, node: str | None = None, finished_at: str | None = None,
        test_accuracy: float | None = None, model: str | None = None) -> dict:
    attr = registry.FAMILIES[family].fidelity().attr if family in registry.FAMILIES else None
    return {
        "search": search, "family": family, "trial_id": trial_id, "status": trial_status,
        "val_accuracy": score(metrics), "train_accuracy": metrics.get("train_accuracy"),
        "fidelity": metrics.get(attr) if attr else None, "seconds": metrics.get("time_total_s"),
        "test_accuracy": test_accuracy, "model": model, "data": data, "node": node, "finished_at": finished_at,
        **{PARAM + k: param_value(v) for k, v in params.items()},
    }


def from_result(result, search: str, family: registry.Family, fidelity, fingerprint: str, ended: bool = True) -> dict:
    """The row of a Ray Tune ``Result`` (``ended``: Ray Tune finished the trial, rather
    than an interrupted search leaving it unfinished); it keeps the result and its config
    (keys with a leading underscore, never written) for picking and exporting the best."""
    m = result.metrics or {}
    config = result.config or {}
    trial_status = status.of(m, result.error, fidelity) if ended or result.error else status.INTERRUPTED
    return {
        **row(search=search, family=family.name, trial_id=m.get("trial_id") or Path(result.path).name.split("_")[1],
              trial_status=trial_status, metrics=m, params=config, data=fingerprint,
              node=m.get("node_id"), finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds")),
        "_config": config,
        "_result": result,
    }


def public(r: dict) -> dict:
    """The columns that are written (not the bookkeeping of ``from_result``)."""
    return {k: v for k, v in r.items() if not k.startswith("_")}
