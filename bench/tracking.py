"""tracking: what MLflow tracking adds to a search. The same svm search through the CLI
(a fresh process each: Ray start to summary) with MLflow tracking (the embedded SQLite
store) and with ``--no-tracking``, interleaved; medians."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import ROOT, Context, figure, median


def search(ctx: Context, data: str, trials: int, folder: Path, tracked: bool) -> float:
    cmd = [sys.executable, "-m", "search", "svm", "--data", data, "--trials", str(trials), "--seed", str(ctx.seed),
           "--results-dir", str(folder / "results"), "--models-dir", str(folder / "models"),
           "--cache-dir", str(ctx.cache_dir), *([] if tracked else ["--no-tracking"])]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"search failed: {proc.stderr[-2000:]}")
    return time.perf_counter() - started


def run(ctx: Context) -> dict:
    # quick: one trial, the space's defaults (a second would start a second trial process)
    data, trials, repeats = ("demo:400", 1, 1) if ctx.quick else ("demo:3000", 20, 2)
    walls = {"tracked": [], "untracked": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):  # interleaved: A B A B
            for side in ("untracked", "tracked"):
                walls[side].append(search(ctx, data, trials, Path(tmp) / f"{side}-{i}", side == "tracked"))
    return {"figures": [figure(f"whole svm search, {trials} trial{'s' if trials > 1 else ''} on {data}", median(walls["tracked"]),
                               median(walls["untracked"]), "the same search with --no-tracking", "s", better="lower")],
            "details": walls}
