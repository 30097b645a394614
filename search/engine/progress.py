"""The live progress display: a Ray Tune callback in the driver.

On a terminal one status line is redrawn in place; elsewhere (CI, a log file) a plain
line is printed at most every ``interval`` seconds and whenever a trial ends.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

from ray.tune import Callback

from .. import status
from ..text import error_line, fmt_config, fmt_duration


def epoch_seconds(e: dict) -> float:
    """A whole epoch's seconds at the pace of its batches so far (from a trial's progress;
    not from the time left in it, which says nothing at its last batch)."""
    return e["batches"] * e["seconds_per_batch"]


class Progress(Callback):
    def __init__(self, family: str, total: int | None, fidelity,
                 stream=None, interval: float | None = None, time_budget_s: float | None = None,
                 epochs_dir: Path | None = None, on_gpu: bool = False):
        self.family, self.total = family, total
        self.epochs_dir, self.on_gpu = epochs_dir, on_gpu  # networks: their epochs' progress (trainables.deep)
        self.estimated = False
        self.fidelity = fidelity
        self.stream = stream or sys.stdout
        # one line redrawn in place is the main thread's: auto's second lane (a thread) prints plain lines
        self.live = self.stream.isatty() and threading.current_thread() is threading.main_thread()
        self.interval = interval if interval is not None else (0.5 if self.live else 30.0)
        self.time_budget_s = time_budget_s
        self.started = time.monotonic()
        self.last_shown = 0.0
        self.counts = {s: 0 for s in status.ENDED}
        self.running: set[str] = set()
        self.best: tuple[float, dict, float] | None = None  # (val_accuracy, config, fidelity)

    # -- Ray Tune hooks
    def on_trial_start(self, iteration, trials, trial, **info):
        self.running.add(trial.trial_id)
        self._show()

    def on_trial_result(self, iteration, trials, trial, result, **info):
        score = result.get("val_accuracy")
        if score is not None and (self.best is None or score > self.best[0]):
            self.best = (score, trial.config, result.get(self.fidelity.attr))
        self._show()

    def on_trial_complete(self, iteration, trials, trial, **info):
        self._end(trial, status.of(trial.last_result, None, self.fidelity))

    def on_trial_error(self, iteration, trials, trial, **info):
        # each failure named with its cause, on its own line (a search goes on without it)
        cause = error_line(status.error_text(trial) or "") or "no error text"
        self.stream.write(("\r\x1b[2K" if self.live else "") + f"trial {trial.trial_id} failed: {cause}\n")
        self._end(trial, status.FAILED)

    def on_step_end(self, iteration, trials, **info):
        self._show()

    def on_experiment_end(self, trials, **info):
        self._show(min_gap=0.0)
        if self.live:
            self.stream.write("\n")
            self.stream.flush()

    # -- display
    def _end(self, trial, outcome: str):
        self.running.discard(trial.trial_id)
        self.counts[outcome] += 1
        # Trial ends are news, but off a terminal they still come at most every 5 s.
        self._show(min_gap=0.0 if self.live else 5.0)

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        done = sum(self.counts.values())
        parts = [
            f"[{self.family}] {done}{'' if self.total is None else f'/{self.total}'} done",
            f"{self.counts[status.FINISHED]} finished, {self.counts[status.STOPPED]} stopped early, "
            f"{self.counts[status.FAILED]} failed, {len(self.running)} running",
        ]
        epochs = self._epochs()
        if epochs:
            e = epochs[0]
            parts.append(f"epoch {e['epoch']}/{e['epochs']} {e['batch'] / max(e['batches'], 1):.0%}, "
                         f"{e['faces_per_second']:.0f} faces/s, {fmt_duration(e['epoch_seconds_left'])} left in it"
                         + (f" (+{len(epochs) - 1} more running)" if len(epochs) > 1 else ""))
        if self.best:
            score, config, fidelity = self.best
            at = f" at {self.fidelity.attr} {fidelity:.3g}" if isinstance(fidelity, (int, float)) and fidelity != self.fidelity.max else ""
            parts.append(f"best val_accuracy {score:.4f}{at} ({fmt_config(config)})")
        parts.append(fmt_duration(elapsed) + self._eta(elapsed, done, epochs))
        return " | ".join(parts)

    def _epochs(self) -> list[dict]:
        """The running network trials' epochs, as they last wrote them (a minute at most ago)."""
        if self.epochs_dir is None:
            return []
        found = []
        for trial_id in sorted(self.running):
            try:
                state = json.loads((self.epochs_dir / f"{trial_id}.json").read_text())
            except (OSError, ValueError):
                continue
            if time.time() - state.get("at", 0) < 60:
                found.append(state)
        return found

    def estimate(self, epochs: list[dict]) -> str | None:
        """Once, after a network's first batches: what an epoch and a whole trial take here."""
        if self.estimated or not epochs:
            return None
        self.estimated = True
        e = epochs[0]
        epoch = epoch_seconds(e)
        where = "this GPU" if self.on_gpu else "this machine's CPU"
        line = (f"[{self.family}] on {where} an epoch takes about {fmt_duration(epoch)} ({e['faces_per_second']:.0f} faces/s); "
                f"a trial of {e['epochs']} epochs about {fmt_duration(epoch * e['epochs'])}")
        left = None if self.time_budget_s is None else self.time_budget_s - (time.monotonic() - self.started)
        if left is not None and epoch * e["epochs"] > left:
            line += f" (the time budget allows about {max(int(left // epoch), 0)})"
        if not self.on_gpu and self.family != "cnn":
            line += "; cheaper: --fix input_size=96, the cnn family, or a GPU"
        return line

    def _eta(self, elapsed: float, done: int, epochs: list[dict]) -> str:
        if self.time_budget_s is not None and elapsed >= self.time_budget_s:
            return f", time budget spent: finishing {len(self.running)} running" if self.running else ""
        if self.total is None:  # auto: the trials go on until the budget is spent
            return f", {fmt_duration(self.time_budget_s - elapsed)} of the budget left" if self.time_budget_s else ""
        # the running networks' epochs left at their pace, and the trials not yet ended at the pace so far
        running = max((e["epoch_seconds_left"] + (e["epochs"] - e["epoch"]) * epoch_seconds(e) for e in epochs), default=0.0)
        if not done and not running:
            return ""
        left = max(running, elapsed / done * (self.total - done) if done else 0.0)
        if self.time_budget_s is not None:
            left = min(left, self.time_budget_s - elapsed)
        return f", ~{fmt_duration(left)} left"

    def _show(self, min_gap: float | None = None):
        now = time.monotonic()
        if now - self.last_shown < (self.interval if min_gap is None else min_gap):
            return
        self.last_shown = now
        text = self.line()
        note = self.estimate(self._epochs())
        if note:
            self.stream.write(("\r\x1b[2K" if self.live else "") + note + "\n")
        if self.live:
            width = 160
            self.stream.write("\r\x1b[2K" + text[:width])
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
