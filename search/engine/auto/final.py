"""``auto``'s final choice: from each family's exported best, the single best model or the
ensemble that beats it on val (``ensembling/selection.py``: greedy selection with replacement
against least-log-loss weights, on held-out halves of val, with and without TTA). Test
is scored for the record and never read to choose. Written as ``models/auto_best.json``,
an ensemble manifest (one member for a single model) that ``evaluate`` and ``predict``
take like a model file.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from trainables.metrics import accuracy

from ...ensembling import selection, soft_vote
from ...stores import ensembles, models

FILE = "auto_best.json"
TTA_VIEWS = len(soft_vote.views(np.zeros((1, 4, 4))))
# TTA runs only where its views' seconds, predicted from the plain pass and taken this much
# larger, end before the deadline (less the end's fixed costs).
TTA_MARGIN = 1.2


def choose(exported: list[tuple[str, Path]], splits, seed: int, tta: bool, fits, say) -> dict | None:
    """The manifest of the final model, from (family, model file) of each family's export.
    ``fits(seconds)``: whether that much more work ends in time (TTA is left out where it
    would not)."""
    members = [(family, path, models.read_card(path), models.load(path)) for family, path in exported]
    if not members:
        return None
    x = {s: splits.x(s) for s in ("val", "test")}
    y = {s: np.asarray(splits.y(s), dtype=int) for s in ("val", "test")}
    started = time.monotonic()
    probas = {"plain": {s: np.stack([soft_vote.member_probabilities(m, c, x[s], False) for _, _, c, m in members]) for s in x}}
    plain_seconds = time.monotonic() - started
    if tta and fits(plain_seconds * (TTA_VIEWS - 1)):  # the plain view is not predicted again
        probas["tta"] = {s: np.stack([soft_vote.member_probabilities(m, c, x[s], True, plain=probas["plain"][s][i])
                                      for i, (_, _, c, m) in enumerate(members)]) for s in x}
    elif tta:
        say(f"final choice: without TTA, whose {TTA_VIEWS} views would not end in the time left")
    chosen = selection.choose({v: p["val"] for v, p in probas.items()}, y["val"], seed)
    final_test = probas[chosen.variant]["test"]
    test = accuracy(y["test"], selection.blend(final_test, chosen.weights).argmax(1)) if len(y["test"]) else None
    member_scores = {variant: [{"val": accuracy(y["val"], p["val"][i].argmax(1)),
                                "test": accuracy(y["test"], p["test"][i].argmax(1)) if len(y["test"]) else None}
                               for i in range(len(members))] for variant, p in probas.items()}
    return {
        "members": [{"path": str(path), "sha256": models.sha256_of(path), "family": family, "weight": float(w),
                     "val_accuracy": card["metrics"]["val"]["accuracy"]}
                    for (family, path, card, _), w in zip(members, chosen.weights) if w > 0],
        "tta": chosen.variant == "tta",
        "weights_fitted_on": "val",
        "metrics": {"val": {"accuracy": chosen.val_accuracy}, "test": {"accuracy": test}},
        "data": members[0][2]["data"],
        "choice": {"method": chosen.method, "variant": chosen.variant, "fallback": chosen.fallback,
                   "best_member_val": chosen.best_member_val,
                   "held_out_val": {f"{v}/{m}": round(a, 4) for (v, m), a in chosen.table.items()},
                   "candidates": [{"family": f, "path": str(p), **member_scores["plain"][i],
                                   **({"tta_val": member_scores["tta"][i]["val"], "tta_test": member_scores["tta"][i]["test"]}
                                      if "tta" in member_scores else {})}
                                  for i, (f, p, _, _) in enumerate(members)]},
    }


def write(models_dir: Path, manifest: dict) -> Path:
    """``models_dir/auto_best.json``, members named relative to it (as ``ensemble`` does)."""
    out = Path(models_dir) / FILE
    relative = [{**m, "path": os.path.relpath(Path(m["path"]).resolve(), out.parent.resolve())} for m in manifest["members"]]
    ensembles.write(out, {**manifest, "members": relative})
    return out
