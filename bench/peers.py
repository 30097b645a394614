"""search: our search against what a user would pick instead, for svm and rf.

The peers, over the same space (configurations drawn from the family's own
define-by-run space), the same val split, the same cores:
- ``HalvingRandomSearchCV`` (successive halving on the number of training faces),
- ``RandomizedSearchCV`` (n_jobs = our concurrency),
- plain Optuna TPE in one process (n_jobs = our concurrency, no pruning).
Each fits with our trainable's own ``fit`` (so the model code is the same on every
side, and what differs is the search), wrapped as a scikit-learn estimator over rows of
the data set. Every evaluation on all of train is logged with its wall-clock time: that
gives each method's anytime curve (best val so far against seconds since its start).
Our side is the real CLI in a fresh process (Ray start-up, export and all); every method
starts with an empty feature cache.

Figures: the time each method needs to reach the strongest peer's best val, each
method's best val, and the test accuracy of each method's winner refit on all of train.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from .common import ROOT, Context, figure

PEERS = ("halving", "randomized", "optuna")
FULL = 0.999  # an evaluation counts for the anytime curve when it fitted all of train

# (our --time-budget, the Optuna timeout, halving candidates, randomized iterations);
# the full settings fit the real FER2013 benchmark into about 75 minutes on 2 cores.
SETTINGS = {
    # a smoke run (the test suite's): one family. Our budget is the whole command, Ray's
    # start-up and the export included: at 30 s the deadline let no trial fit all of train
    "quick": {"svm": (60, 8, 5, 3)},
    "full": {"svm": (900, 600, 32, 8), "rf": (300, 300, 16, 6)},
}

_SPLITS: dict = {}


def _splits(data: str, cache_dir: str):
    """The data set's splits, loaded once per process (memory-mapped from the cache)."""
    key = (data, cache_dir)
    if key not in _SPLITS:
        from trainables import data as fer

        d = fer.load(data, Path(cache_dir))
        _SPLITS[key] = fer.make_splits(d, fer.DEFAULT_VAL_FRACTION, None, Path(cache_dir), ("train", "val", "test"))
    return _SPLITS[key]


class SpaceEstimator(ClassifierMixin, BaseEstimator):
    """One configuration of a family's space, fitted by the family's trainable.

    ``X`` is a column of row numbers into the data set, so the features come from the
    same node cache our trials use. ``score`` logs (time, faces fitted, accuracy).
    """

    def __init__(self, family="svm", config=None, data="demo", cache_dir="", log_path="", seed=0, threads=1):
        self.family, self.config, self.data, self.cache_dir = family, config, data, cache_dir
        self.log_path, self.seed, self.threads = log_path, seed, threads

    def _module(self):
        import importlib

        return importlib.import_module(f"trainables.{self.family}")

    def fit(self, X, y):
        from trainables.classical import training_set

        warnings.filterwarnings("ignore")
        splits = _splits(self.data, self.cache_dir)
        rows = np.asarray(X).ravel()
        x, labels = training_set(self.config, splits, self._module().features, rows)
        self.model_ = self._module().fit(self.config, x, labels, {"seed": self.seed, "threads": self.threads})
        self.n_fit_ = len(rows)
        self.classes_ = np.unique(labels)
        return self

    def predict(self, X):
        splits = _splits(self.data, self.cache_dir)
        return self.model_.predict(self._module().features(self.config, splits)[np.asarray(X).ravel()])

    def score(self, X, y):
        acc = float(np.mean(self.predict(X) == np.asarray(y)))
        if self.log_path:
            line = json.dumps({"t": time.time(), "n_fit": self.n_fit_, "val": acc, "config": self.config})
            with open(self.log_path, "a") as f:  # one short append: whole lines from every worker
                f.write(line + "\n")
        return acc


def sample_configs(family: str, n: int, seed: int) -> list[dict]:
    """n configurations drawn at random from the family's own define-by-run space."""
    import optuna

    from search import registry

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = registry.get(family).space()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    configs = []
    for _ in range(n):
        trial = study.ask()
        space.space(trial)
        configs.append(dict(trial.params))
        study.tell(trial, 0.0)
    return configs


def anytime(events: list[tuple[float, float]], start: float) -> list[tuple[float, float]]:
    """[(seconds since start, best val so far)] at each improvement."""
    curve, best = [], -1.0
    for t, val in sorted(events):
        if val > best:
            best = val
            curve.append((round(t - start, 2), val))
    return curve


def time_to(curve: list[tuple[float, float]], target: float) -> float | None:
    return next((t for t, v in curve if v >= target - 1e-12), None)


def _fresh_cache(ctx: Context, where: Path) -> Path:
    """An empty feature cache that shares the decoded data set (decoding is not searched)."""
    cache = where / "cache"
    cache.mkdir(parents=True)
    (cache / "datasets").symlink_to((ctx.cache_dir / "datasets").resolve(), target_is_directory=True)
    return cache


def run_ours(ctx: Context, family: str, budget: float, work: Path) -> dict:
    cache = _fresh_cache(ctx, work)
    cmd = [sys.executable, "-m", "search", family, "--data", ctx.data, "--trials", "1000", "--time-budget", str(budget),
           "--seed", str(ctx.seed), "--no-tracking", "--name", f"bench-{family}", "--results-dir", str(work / "results"),
           "--models-dir", str(work / "models"), "--cache-dir", str(cache)]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "FER_SEARCH_CACHE": str(cache)}
    start = time.time()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.time() - start
    if proc.returncode:
        raise RuntimeError(f"our {family} search failed: {proc.stderr[-2000:]}")
    events, trials, last = [], 0, start
    for path in (work / "results" / f"bench-{family}").glob("*/result.json"):
        trials += 1
        for line in path.read_text().splitlines():
            r = json.loads(line)
            last = max(last, float(r["timestamp"]))
            if r.get("train_fraction", 0) >= FULL:
                events.append((float(r["timestamp"]), float(r["val_accuracy"])))
    card = json.loads((work / "models" / f"{family}_best.json").read_text())
    # search_wall_s: to the last trial report, as the peers' (their refit is not in it either);
    # wall_s: the whole command, Ray start-up and export included
    return {"curve": anytime(events, start), "wall_s": wall, "search_wall_s": last - start, "trials": trials,
            "best_val": max((v for _, v in events), default=None), "test": card["metrics"]["test"]["accuracy"],
            "best_config": card["config"]}


def run_peer(ctx: Context, family: str, peer: str, setting: tuple, work: Path) -> dict:
    from sklearn.model_selection import PredefinedSplit

    _, budget, candidates, iterations = setting
    cache = _fresh_cache(ctx, work)
    splits = _splits(ctx.data, str(cache))
    train, val = splits.index["train"], splits.index["val"]
    rows = np.concatenate([train, val])[:, None]
    y = splits.labels[rows.ravel()]
    fold = PredefinedSplit(np.r_[np.full(len(train), -1), np.zeros(len(val), int)])
    log = work / "evaluations.jsonl"
    base = SpaceEstimator(family, None, ctx.data, str(cache), str(log), ctx.seed, 1)
    configs = sample_configs(family, 2000, ctx.seed)
    start = time.time()
    if peer == "optuna":
        import optuna

        from search import registry

        space = registry.get(family).space()

        def objective(trial):
            space.space(trial)
            # clone, then set: two threads setting the shared base could swap their configs
            est = base.__sklearn_clone__().set_params(config=dict(trial.params))
            return est.fit(rows[: len(train)], y[: len(train)]).score(rows[len(train):], y[len(train):])

        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=ctx.seed))
        study.optimize(objective, timeout=budget, n_jobs=2)
        trials = len(study.trials)
    else:
        from sklearn.experimental import enable_halving_search_cv  # noqa: F401
        from sklearn.model_selection import HalvingRandomSearchCV, RandomizedSearchCV

        common = {"cv": fold, "n_jobs": 2, "random_state": ctx.seed, "refit": False, "error_score": np.nan,
                  "return_train_score": False}  # (halving scores train by default: not a val score)
        if peer == "halving":
            search = HalvingRandomSearchCV(base, {"config": configs}, n_candidates=candidates, factor=3, min_resources="exhaust",
                                           resource="n_samples", **common)
        else:
            search = RandomizedSearchCV(base, {"config": configs}, n_iter=iterations, **common)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            search.fit(rows, y)
        trials = len(search.cv_results_["params"])
    search_wall = time.time() - start
    evaluations = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    full = [e for e in evaluations if e["n_fit"] >= FULL * len(train)]
    events = [(e["t"], e["val"]) for e in full]
    best = max(full, key=lambda e: e["val"]) if full else None
    test = None
    if best is not None:  # the winner refit on all of train, scored on test (what our export does)
        est = base.__sklearn_clone__().set_params(config=best["config"], log_path="").fit(rows[: len(train)], y[: len(train)])
        test = float(np.mean(est.predict(splits.index["test"][:, None]) == splits.y("test")))
    return {"curve": anytime(events, start), "wall_s": time.time() - start, "search_wall_s": search_wall,
            "trials": trials, "best_val": best["val"] if best else None, "test": test,
            "best_config": best["config"] if best else None}


def run(ctx: Context) -> dict:
    ctx.splits()  # decode the data set into the shared cache once, before any clock starts
    settings = SETTINGS["quick" if ctx.quick else "full"]
    unknown = set(ctx.families or ()) - set(settings)
    if unknown:
        raise ValueError(f"no search benchmark for {', '.join(sorted(unknown))}; known: {', '.join(settings)}")
    settings = {k: v for k, v in settings.items() if not ctx.families or k in ctx.families}
    families, figures, plots = {}, [], []
    for family in settings:
        methods = {}
        for method in ("fer-search", *PEERS):
            with tempfile.TemporaryDirectory(prefix=f"bench-{family}-{method}-") as tmp:
                ctx.say(f"search/{family}: {method} ...")
                methods[method] = (run_ours(ctx, family, settings[family][0], Path(tmp)) if method == "fer-search"
                                   else run_peer(ctx, family, method, settings[family], Path(tmp)))
                m = methods[method]
                ctx.say(f"search/{family}: {method}: best val {m['best_val']}, test {m['test']}, "
                        f"{m['trials']} trials, {m['search_wall_s']:.0f} s")
        families[family] = summarize(family, methods)
        figures += families[family]["figures"]
        plots.append(plot(ctx, family, methods))
    return {"figures": figures, "families": families, "plots": [p for p in plots if p]}


def summarize(family: str, methods: dict) -> dict:
    peers = {k: v for k, v in methods.items() if k != "fer-search" and v["best_val"] is not None}
    ours = methods["fer-search"]
    strongest = max(peers, key=lambda k: peers[k]["best_val"]) if peers else None
    out = {"methods": methods, "strongest_peer": strongest, "figures": []}
    if strongest is None:
        return out
    target = peers[strongest]["best_val"]
    for name, m in methods.items():
        m["time_to_strongest_peer_best_s"] = time_to(m["curve"], target)
    ours_time = ours["time_to_strongest_peer_best_s"]
    peer_time = peers[strongest]["time_to_strongest_peer_best_s"]
    out["figures"].append(figure(
        f"{family}: seconds to reach the strongest peer's best val ({target:.4f})",
        ours_time if ours_time is not None else math.inf, peer_time, strongest, "s", better="lower",
        reached=ours_time is not None))
    # the same time against the whole of that peer's search (a budgeted peer's wall is its
    # budget; the line above is the stricter figure)
    out["figures"].append(figure(
        f"{family}: seconds to reach the strongest peer's best val, against that peer's search wall time",
        ours_time if ours_time is not None else math.inf, peers[strongest]["search_wall_s"], strongest, "s",
        better="lower", reached=ours_time is not None))
    for name, m in peers.items():
        out["figures"].append(figure(f"{family}: best val accuracy", ours["best_val"] or 0.0, m["best_val"], name, "accuracy"))
        if m["test"] is not None and ours["test"] is not None:
            out["figures"].append(figure(f"{family}: test accuracy of the winner", ours["test"], m["test"], name, "accuracy"))
        out["figures"].append(figure(f"{family}: wall seconds of the search", ours["search_wall_s"], m["search_wall_s"],
                                     name, "s", better="lower"))
    return out


def plot(ctx: Context, family: str, methods: dict) -> str | None:
    """The anytime curves of one family, as a PNG beside the JSON."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name, m in methods.items():
        if m["curve"]:
            ts, vs = zip(*m["curve"])
            end = max(m["search_wall_s"], ts[-1])
            ax.step(list(ts) + [end], list(vs) + [vs[-1]], where="post", label=f"{name} ({len(m['curve'])} gains)")
    ax.set_xlabel("seconds since the method started")
    ax.set_ylabel("best val accuracy so far (fits on all of train)")
    ax.set_title(f"{family} on {Path(ctx.data).name if ctx.real else ctx.data}: anytime curves")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path = ctx.out / f"search-{family}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name
