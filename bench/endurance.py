"""endurance: memory over a long search of short trials. Our CLI searches (tracked in the
embedded MLflow store, as a user runs it) with the resident memory of its driver and of
its Ray workers sampled as trials end; beside it, plain Optuna's ``study.optimize`` over
the same trials in one process. Figures: each side's memory late in the search over its
memory early (1.0 is flat): ours, the peak over the last 10 trials against the peak over
trials 10-19 (a network trial is a process of its own, so one instant says little); the
peer's, at the last trial against the tenth. And the experiment folder's disk at the end.

Linux only (it reads /proc); ``python -m bench --only endurance``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .common import ROOT, Context, figure

# (family, data, trials): short trials on tiny data; the networks train one epoch each
SETTINGS = {"quick": [("svm", "demo:400", 24)],
            "full": [("svm", "demo:400", 80), ("cnn", "demo:200", 60)]}
EARLY = 10  # memory is compared from the tenth ended trial on: start-up (imports, Ray) is behind by then
WINDOW = 10  # our side: the peak over trials EARLY.. EARLY+9 against the peak over the last 10


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:  # the process ended
        return None
    return None


def ray_workers(root: int) -> list[int]:
    """The Ray worker processes (titled ``ray::...``) below ``root``."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, rest = stat.read_text().split(" (", 1)
            children.setdefault(int(rest.rsplit(") ", 1)[1].split()[1]), []).append(int(pid))
        except (OSError, IndexError, ValueError):
            continue
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            todo.append(child)
            try:
                if Path(f"/proc/{child}/cmdline").read_bytes().startswith(b"ray::"):
                    found.append(child)
            except OSError:
                continue
    return found


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20 if path.exists() else 0.0


def ours(family: str, data: str, trials: int, work: Path) -> dict:
    """Our CLI search, its driver's and workers' memory sampled every half second
    against the number of ended trials its progress lines give."""
    cmd = [sys.executable, "-m", "search", family, "--data", data, "--trials", str(trials), "--seed", "0",
           "--scheduler", "none", "--max-epochs", "1", "--name", "endurance", "--results-dir", str(work / "results"),
           "--models-dir", str(work / "models"), "--cache-dir", str(work / "cache")]
    if family in ("svm", "rf"):  # --max-epochs is the networks' fidelity
        del cmd[cmd.index("--max-epochs"):cmd.index("--max-epochs") + 2]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "MLFLOW_DISABLE_TELEMETRY": "true"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = [0]
    out_lines: list[str] = []

    def read():  # "[svm] 12/80 done | ..." lines, at most every 5 s off a terminal
        for line in proc.stdout:
            out_lines.append(line)
            m = re.match(r"\[\w+\] (\d+)/\d+ done", line)
            if m:
                done[0] = int(m.group(1))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    samples = []  # (ended trials, driver MB, largest worker MB)
    while proc.poll() is None:
        if done[0] < trials:  # the export that follows the last trial is not the search's steady state
            driver = rss_mb(proc.pid)
            workers = [m for m in map(rss_mb, ray_workers(proc.pid)) if m]
            if driver:
                samples.append((done[0], driver, max(workers, default=0.0)))
        time.sleep(0.5)
    reader.join(timeout=10)
    err = proc.stderr.read()
    if proc.returncode:
        raise RuntimeError(f"our {family} search failed: {err[-2000:]}")
    # peaks over a window of ended trials, early and late: a network trial runs in a process
    # of its own, so the largest worker at one instant is whichever trial runs then, at
    # whatever phase (loading, training, saving)
    windows = [(EARLY, EARLY + WINDOW), (trials - WINDOW, trials)]
    peaks = [[max((s[i] for s in samples if lo <= s[0] < hi), default=None) for lo, hi in windows] for i in (1, 2)]
    if None in peaks[0] + peaks[1]:
        raise RuntimeError(f"{family}: no memory sample in trials {windows} ({len(samples)} samples in all)")
    return {"driver_mb": peaks[0], "worker_mb": peaks[1], "samples": samples,
            "at_trials": [f"{lo}-{hi - 1}" for lo, hi in windows], "experiment_mb": folder_mb(work / "results" / "endurance"),
            "results_mb": folder_mb(work / "results")}


def peer(family: str, data: str, trials: int) -> dict:
    """Plain Optuna in a fresh process: its resident memory at the tenth and the last trial."""
    out = subprocess.run([sys.executable, "-m", "bench.endurance", "--peer", family, "--data", data, "--trials", str(trials)],
                         cwd=ROOT, capture_output=True, text=True, env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    if out.returncode:
        raise RuntimeError(f"plain Optuna {family} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(ctx: Context) -> dict:
    figures, details = [], {}
    for family, data, trials in SETTINGS["quick" if ctx.quick else "full"]:
        with tempfile.TemporaryDirectory() as tmp:
            mine = ours(family, data, trials, Path(tmp))
        theirs = peer(family, data, trials)
        name = f"plain Optuna, 1 process ({family})"
        figures += [
            figure(f"{family}: driver memory, late / early ({trials} trials; ours: peaks over trials "
                   f"{mine['at_trials'][1]} and {mine['at_trials'][0]}, the peer's: at the last and the {EARLY}th)",
                   mine["driver_mb"][1] / mine["driver_mb"][0], theirs["mb"][1] / theirs["mb"][0], name, "x", "lower"),
            figure(f"{family}: largest worker's memory, late / early (the same windows)",
                   mine["worker_mb"][1] / mine["worker_mb"][0], theirs["mb"][1] / theirs["mb"][0], name, "x", "lower"),
        ]
        details[family] = {"data": data, "trials": trials, "ours": {k: v for k, v in mine.items() if k != "samples"},
                           "peer": theirs}
    return {"figures": figures, "details": details}


def _peer_main(family: str, data: str, trials: int) -> None:
    """Plain Optuna over the family's space in this process: a classical family fits with
    our trainable's ``fit`` (2 at a time), a network is built and fitted for one epoch per
    trial one after another, as a KerasTuner user's loop does."""
    import numpy as np
    import optuna

    from search import registry

    from .peers import SpaceEstimator, _splits

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    f = registry.get(family)
    with tempfile.TemporaryDirectory() as cache:
        splits = _splits(data, cache)
        train, val = splits.index["train"], splits.index["val"]
        if f.is_network:
            from trainables import backend, deep, networks

            backend.configure(2)
            x, y, x_val = splits.x("train")[..., None], splits.y("train").astype(np.int32), splits.x("val")[..., None]

            def objective(trial):
                import keras

                config = {**(f.space().space(trial) or {}), **trial.params}
                model = networks.build(config)
                deep.compile_for_phase(model, config, 0)
                model.fit(x, keras.utils.to_categorical(y, 7), batch_size=int(config.get("batch_size", 64)), epochs=1, verbose=0)
                return float(np.mean(model.predict(x_val, verbose=0).argmax(axis=1) == splits.y("val")))
        else:
            base = SpaceEstimator(family, None, data, cache, "", 0, 1)

            def objective(trial):
                f.space().space(trial)
                est = base.set_params(config=dict(trial.params)).__sklearn_clone__()
                return est.fit(train[:, None], splits.labels[train]).score(val[:, None], splits.labels[val])

        mb = {}

        def sample(study, trial):
            ended = len(study.trials)
            if ended in (EARLY, trials):
                mb[ended] = rss_mb(os.getpid())

        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
        study.optimize(objective, n_trials=trials, n_jobs=1 if f.is_network else 2, callbacks=[sample], catch=(Exception,))
    completed = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    if completed < trials:  # a peer whose trials raise measures nothing worth comparing
        raise SystemExit(f"plain Optuna: {trials - completed} of {trials} trials failed")
    print(json.dumps({"mb": [mb.get(EARLY), mb.get(trials)], "at_trials": [EARLY, trials]}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--peer", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--trials", type=int, required=True)
    args = p.parse_args()
    _peer_main(args.peer, args.data, args.trials)


if __name__ == "__main__":
    main()
