"""What each family should cost here before anything was measured: the probe round's
order, the one-line refusal of a budget that cannot hold it, and whether a classical
search's known-good defaults can fit on all of train at once within a budget.

Measured on this project's reference machine (2 cores of an AMD EPYC with AVX2, no GPU),
the families' known-good defaults on the real FER2013 (25,838 train faces, 6,460 val and
test faces), and scaled by the faces and the cores; a faster machine only makes them
pessimistic, and what a run measures replaces them (``budget.Budget``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

REFERENCE_TRAIN, REFERENCE_SCORED, REFERENCE_CPUS = 25_838, 6_460, 2


@dataclass(frozen=True)
class Prior:
    startup: float  # seconds: a trial's process, imports, features
    probe: float  # its first unit at the reference: the first rung's fit, or an epoch
    full: float  # a classical family's defaults fitted on all of train, scored and saved (one unit)
    export: float  # the end: its model scored on val and test, saved and logged
    growth: float = 1.0  # how the units grow with the training faces, t ~ n ** growth
    gpu_speedup: float = 1.0  # how much faster a unit is on a GPU


PRIORS = {
    # svm: first rung 3.2-3.4 s after 5 s of HOG; all of train 83 s (fit 74 s); its 118 MB model
    # scored through BLAS and logged in about 30 s
    "svm": Prior(startup=8.0, probe=3.5, full=85.0, export=30.0, growth=1.5),
    # rf: 4.1 s, 7.5 s and 26 s at 1/27, 1/9 and 1/3 of train, its forest 93 MB at a third
    "rf": Prior(startup=5.0, probe=4.5, full=95.0, export=45.0, growth=1.2),
    # cnn: its defaults' epoch 304-327 s (80-85 faces/s, float32), val 7-10 s, a 13.6 MB model
    "cnn": Prior(startup=15.0, probe=340.0, full=0.0, export=25.0, gpu_speedup=100.0),
    "resnet50": Prior(startup=20.0, probe=1500.0, full=0.0, export=60.0, gpu_speedup=100.0),
    "resnet101": Prior(startup=25.0, probe=2800.0, full=0.0, export=100.0, gpu_speedup=100.0),
}
UNKNOWN = Prior(startup=20.0, probe=1500.0, full=0.0, export=60.0, gpu_speedup=50.0)
# Ray's start, the data, MLflow's runs: before the first trial.
STARTUP_SECONDS = 15.0
RAY_START_SECONDS = 6.0


def _scaled(seconds: float, prior: Prior, n_train: int, cpus: float, gpus: float) -> float:
    work = seconds * (n_train / REFERENCE_TRAIN) ** prior.growth * REFERENCE_CPUS / max(cpus, 1)
    return work / prior.gpu_speedup if gpus else work


def probe_seconds(family: str, n_train: int, cpus: float, gpus: float) -> float:
    """A family's first unit of work here, with its start-up: its defaults' first rung, or
    first epoch."""
    prior = PRIORS.get(family, UNKNOWN)
    return prior.startup + _scaled(prior.probe, prior, n_train, cpus, gpus)


def full_fit_seconds(family: str, n_train: int, cpus: float) -> float:
    """A classical family's defaults fitted on all of train at once, with its export."""
    prior = PRIORS.get(family, UNKNOWN)
    return prior.startup + _scaled(prior.full, prior, n_train, cpus, 0) + prior.export * n_train / REFERENCE_TRAIN


def end_seconds(family: str, n_scored: int) -> float:
    """Its export: its model scored on val and test, saved and logged."""
    return PRIORS.get(family, UNKNOWN).export * n_scored / REFERENCE_SCORED


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
