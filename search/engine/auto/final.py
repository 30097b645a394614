"""``auto``'s final choice: from each family's exported best, the single best model or the
ensemble that beats it on val (``ensembling/selection.py``: greedy selection with replacement
against least-log-loss weights, on held-out halves of val, without TTA, with it, and with it
for the members it helps on val alone). Test
is scored for the record and never read to choose. Written as ``models/auto_best.json``,
an ensemble manifest (one member for a single model) that ``evaluate`` and ``predict``
take like a model file. ``ensemble`` makes the same choice over the models it is given
(``choose_among``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainables.metrics import accuracy

from ...ensembling import selection, soft_vote
from ...stores import ensembles, models
from .. import budget as budgets

FILE = "auto_best.json"
TTA_VIEWS = soft_vote.TTA_VIEWS
# TTA runs only where its views' seconds, predicted from the plain pass and taken this much
# larger, end before the deadline (less the end's fixed costs).
TTA_MARGIN = 1.2

# What the final choice costs, per family, where this results folder has not measured it
# yet (``FinalCosts``). On the real data (2 cores): in a 2-hour auto run the final's plain
# pass (each member loaded, val and test predicted as probabilities, a classical member's
# HOG computed from the pixels) took at least 1.4 times the seconds the trials' reports
# foretold (their predictions of features already computed): with the pass priced at 1.0
# and TTA's five other views at five passes, the reserve held 191 s for an end that needed
# about 260, and TTA was left out twice in a row. In a 30-minute run: the pass 0.96 (svm),
# 1.19 (cnn), 3.0 (rf, a second and a half) times, and the five other views of the six
# TTA had then 4.5 (svm, cnn) and 1.4 (rf) times the pass: about a pass a view.
PASS_PER_SCORING = 1.4
VIEW_PER_PLAIN = 1.0
OTHER_VIEWS = TTA_VIEWS - 1  # the plain view is the plain pass's
# Views are learned per view: a folder that measured six views prices ten as it should.
PASS_KEY, VIEW_KEY = "final_pass_per_scoring", "tta_view_per_plain"


@dataclass
class FinalCosts:
    """The final choice's costs per family, learned in the results folder: its plain pass
    (the member's loading included) per second of the budget's ``scoring_seconds``, and
    each of TTA's other views per second of that pass. The largest of the last few
    measured, else the defaults above."""
    pass_per_scoring: dict
    view_per_plain: dict

    @classmethod
    def learned(cls, results_dir: Path, families) -> FinalCosts:
        def largest(key, family, default):
            seen = budgets.learned(results_dir, key, family)
            return max(seen) if seen else default
        return cls({f: largest(PASS_KEY, f, PASS_PER_SCORING) for f in families},
                   {f: largest(VIEW_KEY, f, VIEW_PER_PLAIN) for f in families})

    def plain(self, family: str, scoring_seconds: float) -> float:
        return self.pass_per_scoring.get(family, PASS_PER_SCORING) * scoring_seconds

    def views(self, family: str, plain_seconds: float) -> float:
        """TTA's other views, after a plain pass of ``plain_seconds``."""
        return self.view_per_plain.get(family, VIEW_PER_PLAIN) * OTHER_VIEWS * plain_seconds


def record_costs(results_dir: Path, seconds: dict, scoring_seconds) -> None:
    """What this final choice's passes cost (``choose``'s ``seconds``) as ratios for the
    next run in the folder; ``scoring_seconds(family)``: what the budget foretold of its
    plain pass (0: nothing reported in this run, nothing learned)."""
    for family, plain in seconds.get("plain", {}).items():
        passed, foretold, views = seconds["load"][family] + plain, scoring_seconds(family), seconds.get("tta", {}).get(family)
        if passed <= 0:  # too quick for the clock: nothing to learn from
            continue
        if foretold > 0:
            budgets.record(results_dir, PASS_KEY, round(passed / foretold, 3), family)
        if views:
            budgets.record(results_dir, VIEW_KEY, round(views / passed / OTHER_VIEWS, 3), family)


def choose(exported: list[tuple[str, Path]], splits, seed: int, tta: bool, fits, say,
           costs: FinalCosts | None = None) -> dict | None:
    """The manifest of the final model, from (family, model file) of each family's export.
    ``fits(seconds)``: whether that much more work ends in time (TTA is left out where it
    would not, its views priced by ``costs``). The manifest's ``choice`` holds what each
    member's load and passes took."""
    seconds = {"load": {}, "plain": {}}
    members = []
    for family, path in exported:
        loaded, seconds["load"][family] = timed(lambda: (models.read_card(path), models.load(path)))
        members.append((family, path, *loaded))
    if not members:
        return None
    return choose_among(members, splits, seed, tta, fits, say, costs, seconds)


def choose_among(members: list[tuple], splits, seed: int, tta: bool, fits, say, costs: FinalCosts | None = None,
                 seconds: dict | None = None, method: str | None = None) -> dict:
    """``choose`` over members already loaded, (family, model file, card, model) each (what
    ``ensemble`` runs on the models it loaded, trusted or not). ``method``: one of
    ``selection.METHODS`` instead of the choice among them, on the views asked (all the
    members with TTA or none) and kept even where it falls below its best member on val."""
    seconds = seconds or {"load": {m[0]: 0.0 for m in members}, "plain": {}}
    x = {s: splits.x(s) for s in ("val", "test")}
    y = {s: np.asarray(splits.y(s), dtype=int) for s in ("val", "test")}
    probas = passes(members, x, tta, fits, say, costs or FinalCosts({}, {}), seconds)
    takes_views = with_mixed(probas, y["val"]) if method is None else \
        {"plain": np.zeros(len(members), bool), "tta": np.ones(len(members), bool)}
    judged = {v: p["val"] for v, p in probas.items()}
    if method is None:
        chosen = selection.choose(judged, y["val"], seed)
    else:
        asked = "tta" if "tta" in probas else "plain"
        chosen = selection.choose({asked: judged[asked]}, y["val"], seed, methods=(method,), fallback=False)
    member_tta = takes_views[chosen.variant]
    final_test = probas[chosen.variant]["test"]
    test = accuracy(y["test"], soft_vote.decide(selection.blend(final_test, chosen.weights))) if len(y["test"]) else None
    member_scores = {variant: [{"val": accuracy(y["val"], soft_vote.decide(p["val"][i])),
                                "test": accuracy(y["test"], soft_vote.decide(p["test"][i])) if len(y["test"]) else None}
                               for i in range(len(members))] for variant, p in probas.items() if variant != selection.MIXED}
    return {
        "members": [{"path": str(path), "sha256": models.sha256_of(path), "family": family, "weight": float(w),
                     "val_accuracy": card["metrics"]["val"]["accuracy"], "tta": bool(views)}
                    for (family, path, card, _), w, views in zip(members, chosen.weights, member_tta) if w > 0],
        "tta": bool(any(views for w, views in zip(chosen.weights, member_tta) if w > 0)),
        "weights_fitted_on": "val",
        "metrics": {"val": {"accuracy": chosen.val_accuracy}, "test": {"accuracy": test}},
        "data": members[0][2]["data"],
        "choice": {"method": chosen.method, "variant": chosen.variant, "fallback": chosen.fallback,
                   "seconds": {part: {f: round(v, 3) for f, v in by_family.items()} for part, by_family in seconds.items()},
                   "best_member_val": chosen.best_member_val,
                   "held_out_val": {f"{v}/{m}": round(a, 4) for (v, m), a in chosen.table.items()},
                   "candidates": [{"family": f, "path": str(p), **member_scores["plain"][i],
                                   **({"tta_val": member_scores["tta"][i]["val"], "tta_test": member_scores["tta"][i]["test"]}
                                      if "tta" in member_scores else {})}
                                  for i, (f, p, _, _) in enumerate(members)]},
    }


def passes(members: list, x: dict, tta: bool, fits, say, costs: FinalCosts, seconds: dict) -> dict:
    """variant ("plain", and "tta" where its views fit) -> split -> the members' stacked
    probabilities, in the members' order; each member's seconds kept in
    ``seconds[variant][family]`` (a family twice, as ``ensemble`` may have: the later's)."""
    plain = []
    for family, _, card, model in members:
        found, seconds["plain"][family] = timed(
            lambda: {s: soft_vote.member_probabilities(model, card, x[s], False) for s in x})
        plain.append(found)
    probas = {"plain": {s: np.stack([p[s] for p in plain]) for s in x}}
    if tta and fits(sum(costs.views(f, seconds["load"][f] + seconds["plain"][f]) for f, *_ in members)):
        views, seconds["tta"] = [], {}
        for (family, _, card, model), its_plain in zip(members, plain):  # the plain view is not predicted again
            found, seconds["tta"][family] = timed(
                lambda: {s: soft_vote.member_probabilities(model, card, x[s], True, plain=its_plain[s]) for s in x})
            views.append(found)
        probas["tta"] = {s: np.stack([v[s] for v in views]) for s in x}
    elif tta:
        say(f"final choice: without TTA, whose {TTA_VIEWS} views would not end in the time left")
    return probas


def with_mixed(probas: dict, y_val: np.ndarray) -> dict:
    """Adds to ``passes``' variants the members with TTA where it raises their own val
    accuracy and plain elsewhere, unless that is all of them or none; returns, per
    variant, which members take the views. On the real data the svm (trained on mirrored
    faces) lost 0.4 point of val to its views and the cnn gained 2."""
    members = len(probas["plain"]["val"])
    takes_views = {"plain": np.zeros(members, bool), "tta": np.ones(members, bool)}
    if "tta" in probas:
        helps = selection.views_help(probas["plain"]["val"], probas["tta"]["val"], y_val)
        if helps.any() and not helps.all():
            takes_views[selection.MIXED] = helps
            probas[selection.MIXED] = {s: selection.mixed(probas["plain"][s], probas["tta"][s], helps) for s in probas["plain"]}
    return takes_views


def timed(work) -> tuple:
    """``work()`` and the seconds it took."""
    started = time.monotonic()
    done = work()
    return done, time.monotonic() - started


def write(out: Path, manifest: dict) -> Path:
    """The manifest at ``out`` (auto: ``models_dir/auto_best.json``), its members named
    relative to it."""
    out = Path(out)
    relative = [{**m, "path": os.path.relpath(Path(m["path"]).resolve(), out.parent.resolve())} for m in manifest["members"]]
    ensembles.write(out, {**manifest, "members": relative})
    return out
