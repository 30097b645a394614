"""What each family should cost here before anything was measured: the probe round's
order, and the one-line refusal of a budget that cannot hold it.

Measured on this project's reference machine (2 cores of an AMD EPYC with AVX2, no GPU),
the families' known-good defaults on the real FER2013 (25,838 train faces); a machine
twice as fast only makes these pessimistic. MEASURED-TODO
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Prior:
    startup: float  # seconds: a trial's process and imports
    per_1k_train: float  # seconds per 1,000 training faces of its first unit, on 2 cores
    export_per_1k: float  # seconds per 1,000 val and test faces scored at the end (and again for the final choice)
    gpu_speedup: float = 1.0  # how much faster the first unit is on a GPU


PRIORS = {
    "svm": Prior(startup=4.0, per_1k_train=0.5, export_per_1k=2.0),
    "rf": Prior(startup=4.0, per_1k_train=0.5, export_per_1k=0.5),
    "cnn": Prior(startup=12.0, per_1k_train=6.0, export_per_1k=1.5, gpu_speedup=50.0),
    "resnet50": Prior(startup=20.0, per_1k_train=60.0, export_per_1k=15.0, gpu_speedup=100.0),
    "resnet101": Prior(startup=25.0, per_1k_train=110.0, export_per_1k=28.0, gpu_speedup=100.0),
}
UNKNOWN = Prior(startup=20.0, per_1k_train=60.0, export_per_1k=15.0, gpu_speedup=50.0)
# Ray's start, the data, MLflow's runs: before the first trial.
STARTUP_SECONDS = 15.0
RAY_START_SECONDS = 6.0
REFERENCE_CPUS = 2


def probe_seconds(family: str, n_train: int, cpus: float, gpus: float) -> float:
    """A family's first unit of work here: its defaults' first rung, or first epoch."""
    prior = PRIORS.get(family, UNKNOWN)
    work = prior.per_1k_train * n_train / 1000 * REFERENCE_CPUS / max(cpus, 1)
    return prior.startup + (work / prior.gpu_speedup if gpus else work)


def end_seconds(family: str, n_scored: int) -> float:
    """Its export and its share of the final choice (scoring val and test, with TTA)."""
    return PRIORS.get(family, UNKNOWN).export_per_1k * n_scored / 1000


def check_fits(family, budget, n_train: int, n_scored: int, cpus: float, ray_started: bool) -> None:
    """Refuse, in one line and before any work, a family search's budget that cannot hold
    Ray's start, one probe of the family and the end of the run here."""
    from trainables.errors import FerSearchError

    from ..text import fmt_duration

    left = budget.left()
    if left is None:
        return
    need = ((0.0 if ray_started else RAY_START_SECONDS) + probe_seconds(family.name, n_train, cpus, 0)
            + end_seconds(family.name, n_scored) + budget.fixed_seconds)
    if left < need:
        raise FerSearchError(f"--time-budget: too short here for one {family.name} trial's first unit and the end of the "
                             f"search (about {fmt_duration(need)} more; {fmt_duration(max(left, 0))} left)",
                             hint=f"give at least {fmt_duration(60 * math.ceil((need + 5) * 1.2 / 60))}")
