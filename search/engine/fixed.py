"""``--fix NAME=VALUE``: a hyperparameter held at one value for a whole search.

The family's define-by-run space runs as always, on a stand-in for the Optuna trial that
answers the fixed names itself and passes every other suggestion to Optuna; the fixed
values join the trial's config as constants (as a space's returned constants do). The
space given to Ray Tune is ``functools.partial(space, family_space, fixed)``: module-level
functions and a dict, so a restored search unpickles it by name.
"""

from __future__ import annotations

import functools

from trainables.errors import FerSearchError

from . import warmstart


class _Holding:
    """An Optuna trial, except for the names in ``fixed``."""

    def __init__(self, trial, fixed: dict):
        self._trial, self._fixed, self.held = trial, fixed, {}

    def __getattr__(self, name):
        return getattr(self._trial, name)

    def _suggest(self, kind: str, name: str, *args, **kwargs):
        if name in self._fixed:
            self.held[name] = self._fixed[name]
            return self._fixed[name]
        return getattr(self._trial, kind)(name, *args, **kwargs)

    def suggest_categorical(self, name, choices):
        return self._suggest("suggest_categorical", name, choices)

    def suggest_int(self, name, low, high, **kwargs):
        return self._suggest("suggest_int", name, low, high, **kwargs)

    def suggest_float(self, name, low, high, **kwargs):
        return self._suggest("suggest_float", name, low, high, **kwargs)


def space(family_space, fixed: dict, trial):
    holding = _Holding(trial, fixed)
    constants = family_space(holding) or {}
    return {**constants, **holding.held}


def parse(family, assignments: list[str] | None) -> dict:
    """``["input_size=96", ...]`` -> ``{"input_size": 96}`` in the space's own types, or a
    one-line error naming what the space cannot take."""
    if not assignments:
        return {}
    space_module = family.space()
    given = {}
    for text in assignments:
        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            raise FerSearchError(f"--fix {text}: expected NAME=VALUE, e.g. --fix input_size=96")
        given[name.strip()] = None if value.strip() == "None" else value.strip()
    known = warmstart.conform(space_module, dict(space_module.DEFAULTS)) or {}
    unknown = [n for n in given if n not in known]
    if unknown:
        raise FerSearchError(f"--fix {unknown[0]}: the {family.name} space has no such parameter",
                             hint=f"its parameters: {', '.join(sorted(known))}")
    conformed = warmstart.conform(space_module, {**space_module.DEFAULTS, **given}, fill=True)
    if conformed is None:
        raise FerSearchError(f"--fix {' '.join(f'{k}={v}' for k, v in given.items())}: not a value the {family.name} space "
                             "can take", hint=f"see spaces/{family.name}.py for each parameter's range")
    return {name: conformed[name] for name in given}


def apply(family_space, fixed: dict):
    """The space to search: the family's own, or it with ``fixed`` held."""
    return functools.partial(space, family_space, fixed) if fixed else family_space
