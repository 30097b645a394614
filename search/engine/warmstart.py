"""``--warm-start``: the best configurations of earlier searches, evaluated first.

They come from the leaderboard (MLflow when the results folder has a store, else
``leaderboard.csv``): trials of the same family on the same data (fingerprint) that
reached full fidelity, best val first. Each is replayed through the family's current
space: a configuration the space can no longer propose (a parameter or a value that was
cut since) is left out, and the values come back in the space's own types (a CSV or
MLflow gives "True" and 8.0 where the space says True and 8).
"""

from __future__ import annotations

import math
from pathlib import Path

from .. import status
from ..stores import leaderboard
from ..stores.rows import PARAM


class _Mismatch(Exception):
    pass


class _Conform:
    """A stand-in for an Optuna trial that answers each suggestion from ``params``; a name
    ``params`` lacks is a mismatch, or with ``fill`` the middle of its range (its first
    choice), as a known-good point takes a parameter that a held value brings into play."""

    def __init__(self, params: dict, fill: bool = False):
        self.params, self.config, self.fill = params, {}, fill

    def _value(self, name, middle=None):
        if name not in self.params:
            if self.fill and middle is not None:
                return middle
            raise _Mismatch(name)
        return self.params[name]

    def suggest_categorical(self, name, choices):
        v = self._value(name, choices[0])
        for c in choices:
            if c == v or str(c) == str(v) or _same_number(c, v):
                self.config[name] = c
                return c
        raise _Mismatch(name)

    def suggest_int(self, name, low, high, step=1, log=False):
        v = _number(self._value(name, round(math.sqrt(low * high)) if log else (low + high) // 2))
        if v is None or v != int(v) or not low <= v <= high:
            raise _Mismatch(name)
        self.config[name] = int(v)
        return int(v)

    def suggest_float(self, name, low, high, *, step=None, log=False):
        v = _number(self._value(name, math.sqrt(low * high) if log else (low + high) / 2))
        if v is None or not low <= v <= high:
            raise _Mismatch(name)
        self.config[name] = v
        return v


def _number(v) -> float | None:
    if isinstance(v, bool):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _same_number(a, b) -> bool:
    x, y = _number(a), _number(b)
    return x is not None and y is not None and x == y


def conform(space_module, params: dict, fill: bool = False) -> dict | None:
    """``params`` as the space would propose them, or None where it cannot (``fill``: the
    parameters it lacks in the middle of their range)."""
    trial = _Conform(params, fill)
    try:
        space_module.space(trial)
    except _Mismatch:
        return None
    return trial.config


def earlier_best(family, fingerprint: str, results_dir: Path, tracking_uri: str | None, k: int) -> list[dict]:
    """Up to ``k`` distinct configurations, best val first (see the module's doc)."""
    table = leaderboard.read(Path(results_dir), tracking_uri)
    if table.empty:
        return []
    table = table[(table["family"] == family.name) & (table["data"] == fingerprint)
                  & (table["status"] == status.FINISHED) & table["val_accuracy"].notna()]
    configs: list[dict] = []
    for _, row in table.sort_values("val_accuracy", ascending=False, kind="stable").iterrows():
        params = {c[len(PARAM):]: _from_table(v) for c, v in row.items()
                  if c.startswith(PARAM) and not _missing(v)}
        config = conform(family.space(), params)
        if config is not None and config not in configs:
            configs.append(config)
            if len(configs) == k:
                break
    return configs


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _from_table(v):
    return None if v == "None" else v  # the leaderboard writes a None parameter (unlimited depth) as "None"
