"""``auto`` beside what a user does by hand with the same time: a search per family with a
guessed budget each, then ``ensemble --tta`` (the hand-made route of issue 22: svm for an
eighth of the time, the cnn for the rest, the ensemble last), and beside the best single
family searched alone for the whole time. ``ensemble`` makes auto's end choice since
December 2026; the hand-made figures before then fitted least log-loss weights, which a
user still gets with ``ensemble --method weights``.

Each side is a fresh process (or a chain of them), timed from start to exit, on the same
data and cores, one after another (a side owns the machine). Figures: the final model's
test accuracy (never read to choose), and each side's wall time over its budget.

    python -m bench --only auto [--data PATH] [--quick]      # quick: demo data, 3 minutes a side
    FER_BENCH_AUTO_BUDGET=7200 python -m bench --only auto   # the budget of each side, in seconds
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from .common import Context, figure

FULL_BUDGET, QUICK_BUDGET = 7200, 180
# The hand-made route: the svm gets this share of the time (15 of 120 minutes, as measured
# by hand: its best came at minute 9), the ensemble this many seconds at the end.
SVM_SHARE, ENSEMBLE_SECONDS = 0.125, 240
SINGLE_FAMILY = "cnn"  # the best family searched alone on 2 cores for 2 hours (val 0.62 at 30 epochs)


def _run(argv: list, work: Path, ctx: Context) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "FER_SEARCH_CACHE": str(ctx.cache_dir)}
    started = time.time()
    proc = subprocess.run([sys.executable, "-m", "search", *map(str, argv)], cwd=work, env=env, capture_output=True,
                          text=True)
    return proc, time.time() - started


def _common(ctx: Context, work: Path) -> list:
    return ["--data", ctx.data, "--seed", ctx.seed, "--no-tracking", "--results-dir", work / "results",
            "--models-dir", work / "models", "--cache-dir", ctx.cache_dir]


def _test_of(manifest_or_card: Path) -> float:
    return json.loads(manifest_or_card.read_text())["metrics"]["test"]["accuracy"]


def run_auto(ctx: Context, budget: float, work: Path) -> dict:
    proc, wall = _run(["auto", "--time-budget", budget, "--name", "bench-auto", *_common(ctx, work)], work, ctx)
    if proc.returncode:
        raise RuntimeError(f"auto failed: {proc.stderr[-2000:]}")
    record = json.loads((work / "results" / "bench-auto" / "auto.json").read_text())
    manifest = json.loads((work / "models" / "auto_best.json").read_text())
    return {"wall_s": wall, "test": manifest["metrics"]["test"]["accuracy"], "val": manifest["metrics"]["val"]["accuracy"],
            "final": manifest["choice"], "members": manifest["members"], "tta": manifest["tta"],
            "decisions": record["decisions"], "lanes": record["lanes"], "summary": proc.stdout[-3000:]}


def run_by_hand(ctx: Context, budget: float, work: Path) -> dict:
    """svm, then the cnn (one trial) with the time left less the ensemble's, then ensemble --tta."""
    started = time.time()
    svm_budget = max(60.0, SVM_SHARE * budget)
    svm, _ = _run(["svm", "--trials", 1000, "--time-budget", svm_budget, "--name", "hand-svm", *_common(ctx, work)], work, ctx)
    cnn_budget = budget - (time.time() - started) - ENSEMBLE_SECONDS
    cnn, _ = _run(["cnn", "--trials", 1, "--max-epochs", 100, "--cpus-per-trial", os.cpu_count() or 1,
                   "--time-budget", max(cnn_budget, 30.0), "--name", "hand-cnn", *_common(ctx, work)], work, ctx)
    ensemble, _ = _run(["ensemble", "--models-dir", work / "models", "--families", "svm,cnn", "--tta",
                        "--cache-dir", ctx.cache_dir], work, ctx)
    wall = time.time() - started
    failed = [name for name, p in (("svm", svm), ("cnn", cnn), ("ensemble", ensemble)) if p.returncode]
    if failed:
        proc = {"svm": svm, "cnn": cnn, "ensemble": ensemble}[failed[0]]
        raise RuntimeError(f"the hand-made route failed at {failed[0]}: {proc.stderr[-2000:]}")
    return {"wall_s": wall, "test": _test_of(work / "models" / "ensemble.json"),
            "svm_test": _test_of(work / "models" / "svm_best.json"), "cnn_test": _test_of(work / "models" / "cnn_best.json"),
            "svm_budget_s": svm_budget, "cnn_budget_s": cnn_budget, "ensemble": ensemble.stdout[-2000:]}


def run_single(ctx: Context, budget: float, work: Path) -> dict:
    family = SINGLE_FAMILY
    argv = [family, "--trials", 1 if family == "cnn" else 1000, "--time-budget", budget, "--name", f"alone-{family}",
            *(["--max-epochs", 100, "--cpus-per-trial", os.cpu_count() or 1] if family == "cnn" else []),
            *_common(ctx, work)]
    proc, wall = _run(argv, work, ctx)
    if proc.returncode:
        raise RuntimeError(f"{family} alone failed: {proc.stderr[-2000:]}")
    return {"wall_s": wall, "test": _test_of(work / "models" / f"{family}_best.json"), "family": family}


def run(ctx: Context) -> dict:
    budget = float(os.environ.get("FER_BENCH_AUTO_BUDGET") or (QUICK_BUDGET if ctx.quick else FULL_BUDGET))
    sides = {}
    for name, side in (("auto", run_auto), ("by_hand", run_by_hand), ("single", run_single)):
        work = ctx.out / "auto" / name
        work.mkdir(parents=True, exist_ok=True)
        ctx.say(f"bench auto: {name}, {budget:.0f} s ...")
        sides[name] = side(ctx, budget, work)
    ours = sides["auto"]
    return {
        "figures": [
            figure("auto: test accuracy of the final model", ours["test"], sides["by_hand"]["test"],
                   "svm search, cnn, ensemble --tta by hand", "accuracy"),
            figure(f"auto: test accuracy against {SINGLE_FAMILY} alone", ours["test"], sides["single"]["test"],
                   f"{SINGLE_FAMILY} searched alone", "accuracy"),
            figure("auto: wall time over its budget", ours["wall_s"] / budget, sides["by_hand"]["wall_s"] / budget,
                   "the hand-made route", "share of budget", better="lower"),
        ],
        "budget_s": budget, "sides": sides,
    }


if __name__ == "__main__":  # a side alone: python -m bench.auto auto|by_hand|single BUDGET DATA OUT
    side, seconds, data, out = sys.argv[1], float(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
    context = Context(data=data, quick=False, out=out, cache_dir=(out / "cache").resolve())
    (out / side).mkdir(parents=True, exist_ok=True)
    print(json.dumps({"auto": run_auto, "by_hand": run_by_hand, "single": run_single}[side](context, seconds, out / side),
                     indent=2, default=str))
