"""A family whose trials only wait: the overhead benchmark's objective (nothing of ours).

Its trial "code" is a sleep of ``settings["seconds"]``: all of it is inside the trial, so
whatever else the wall clock shows is the search system's own cost.
"""

import time

from spaces.fidelity import Fidelity

FIDELITY = Fidelity("step", (1,), 3)
DEFAULTS = {"x": 0.5}


def space(trial):
    trial.suggest_float("x", 0.0, 1.0)


def objective(x: float, seconds: float) -> float:
    time.sleep(seconds)
    return 1.0 - (x - 0.3) ** 2


def train(config, data, settings):
    from ray import tune

    tune.report({"val_accuracy": objective(config["x"], settings["seconds"]), "step": 1})


def final_model(config, data, settings):
    """The contract of a classical family asks for one (search/contracts.py); the overhead
    benchmark runs trials only and exports nothing, so nothing calls it."""
    raise NotImplementedError("the busy family has no model to export: it only waits")
