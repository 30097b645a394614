"""Units of work and what the next one will cost: a classical trial's fit at one rung, a
network's epoch.

A trial reports what its unit took (``unit_seconds``) and what its next unit should take
(``next_unit_seconds``, 0 after its last). The driver starts a unit only when that fits
before its deadline, less the measured reserve for the end of the run
(``search/engine/deadline.py``); a network also checks within an epoch, batch by batch.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

# How a fit's seconds grow with the faces it fits on, t ~ n ** exponent: a family's trainable
# names its own (FIT_EXPONENT), the least a trial assumes, since the growth steepens with
# the faces (the svm defaults on the real FER2013, 2 cores: 1.6 s, 3.7-4.0 s, 15.1-15.4 s and
# 74 s at 1/27, 1/9, 1/3 and all of train: 0.8, 1.2, then 1.4).
DEFAULT_EXPONENT = 1.5
EXPONENT_RANGE = (1.0, 2.5)
# Below this a fit's time is mostly fixed costs, which say nothing of how it grows.
MEASURABLE_S = 0.5


def growth_exponent(sizes: list[int], seconds: list[float], default: float = DEFAULT_EXPONENT) -> float:
    """The exponent of the last two rungs' fits (t ~ n ** exponent), at least ``default``
    and at most EXPONENT_RANGE's top; ``default`` until two fits long enough to tell."""
    if len(sizes) >= 2 and min(seconds[-2:]) >= MEASURABLE_S and sizes[-1] > sizes[-2]:
        found = math.log(seconds[-1] / seconds[-2]) / math.log(sizes[-1] / sizes[-2])
        return min(max(found, default, EXPONENT_RANGE[0]), EXPONENT_RANGE[1])
    return default


def next_rung_seconds(sizes: list[int], seconds: list[float], next_size: int | None,
                      default_exponent: float = DEFAULT_EXPONENT) -> float:
    """The predicted seconds of the fit on ``next_size`` faces from the fits so far; 0 when
    there is no next rung."""
    if not next_size or not sizes:
        return 0.0
    exponent = growth_exponent(sizes, seconds, default_exponent)
    return seconds[-1] * (next_size / sizes[-1]) ** exponent


def current_deadline(settings: dict) -> float | None:
    """The unit deadline now: as the driver last wrote it (``settings["deadline_file"]``,
    ``Budget.publish``: it moves as the reserve for the end does), else the one the trial
    started with (a trial on another node, or no file yet)."""
    path = settings.get("deadline_file")
    if path:
        try:
            return float(json.loads(Path(path).read_text())["unit_deadline"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    return settings.get("deadline")


class LiveDeadline:
    """``current_deadline`` read at most every ``every`` seconds: a network asks after each
    batch, and a GPU's batches take milliseconds."""

    def __init__(self, settings: dict, every: float = 1.0):
        self.settings, self.every, self.read_at, self.value = settings, every, float("-inf"), None

    def __call__(self) -> float | None:
        if time.monotonic() - self.read_at >= self.every:
            self.value, self.read_at = current_deadline(self.settings), time.monotonic()
        return self.value


def fits(seconds: float, deadline: float | None, now: float | None = None) -> bool:
    """Whether work of ``seconds`` started now ends by ``deadline`` (wall clock, time.time();
    None: no deadline)."""
    return deadline is None or (time.time() if now is None else now) + seconds <= deadline


# The cosine's horizon is read from the mean of the last few epochs' seconds. On the real
# data (cnn at width 16, 2 cores) the epochs alternated between about 120 and 145 s; read
# from the last epoch alone, the horizon flipped between 25 and 28-30 epochs with them,
# and the rate with it (epoch 24: 1.3e-4, epoch 25: 3e-5).
RECENT_EPOCHS = 4


def with_epoch_seconds(state: dict, seconds: float) -> dict:
    """A network trial's state after an epoch (its unit) of ``seconds``."""
    recent = [*state.get("recent_unit_seconds", []), seconds][-RECENT_EPOCHS:]
    return {**state, "unit_seconds": seconds, "recent_unit_seconds": recent}


def typical_epoch_seconds(state: dict) -> float | None:
    """What the cosine's horizon is read from: the mean of the last RECENT_EPOCHS epochs'
    seconds (from a checkpoint written before they were kept, its last epoch's)."""
    recent = state.get("recent_unit_seconds") or ([state["unit_seconds"]] if state.get("unit_seconds") else [])
    return sum(recent) / len(recent) if recent else None


def cosine_horizon(epoch: int, max_epochs: int, deadline: float | None, epoch_seconds: float | None,
                   now: float | None = None) -> int:
    """The epoch count a cosine schedule ends at: ``max_epochs``, or fewer where the deadline
    allows fewer at the measured ``epoch_seconds`` (the rate then reaches its floor on the
    last epoch the budget allows). At least ``epoch + 1``."""
    if deadline is None or not epoch_seconds:
        return max_epochs
    left = (deadline - (time.time() if now is None else now)) / epoch_seconds
    return max(epoch + 1, min(max_epochs, epoch + int(max(left, 0))))
