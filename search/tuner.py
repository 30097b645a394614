"""Building and running the Ray Tune ``Tuner``: Optuna searcher, ASHA, resources, storage."""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from trainables.data import Splits

from .registry import Family

METRIC, MODE = "val_accuracy", "max"


@dataclass
class SearchSettings:
    name: str
    trials: int
    seed: int
    results_dir: Path
    searcher: str = "tpe"  # tpe | random
    scheduler: str = "asha"  # asha | none
    cpus_per_trial: float = 1
    time_budget_s: float | None = None
    verbose: bool = False


def start_ray(verbose: bool = False) -> bool:
    """Start a local Ray bound to 127.0.0.1, unless this process already has one.

    Returns whether it started one (and so should shut it down).
    """
    if "ray" not in sys.modules:
        # Read by Ray at import: a local Ray then takes 127.0.0.1 as its node address and
        # binds every server there, instead of the machine's outward address (its
        # workers inherit the setting). A Ray joined with --address is not affected.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray

    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # "local" never attaches to a cluster that `ray start` left running on this machine.
    ray.init(
        address="local",
        _node_ip_address="127.0.0.1",
        include_dashboard=False,
        log_to_driver=verbose,
        logging_level=logging.INFO if verbose else logging.ERROR,
    )
    return True


def slots(cpus_per_trial: float) -> int:
    """How many trials fit at once on the Ray cluster's CPUs."""
    import ray

    return max(1, int(ray.cluster_resources().get("CPU", 1) // max(cpus_per_trial, 1e-9)))


def build_tuner(family: Family, splits: Splits, s: SearchSettings, callbacks: list):
    import optuna
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
    from ray.tune.search.optuna import OptunaSearch

    from .limiter import BudgetedLimiter

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if not s.verbose:
        # Ray's newer console output prints an experiment banner even at verbose=0; the
        # legacy reporter at verbose=0 is silent, and our Progress callback takes its place.
        os.environ["RAY_AIR_NEW_OUTPUT"] = "0"
        logging.getLogger("ray.tune").setLevel(logging.WARNING)
    space = family.space()
    fidelity = space.FIDELITY
    if s.searcher == "random":
        sampler = optuna.samplers.RandomSampler(seed=s.seed)
    else:
        # constant_liar: concurrent trials do not all get proposed the same point
        with warnings.catch_warnings():  # multivariate and group are flagged experimental, and are what
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # conditional spaces want
            sampler = optuna.samplers.TPESampler(seed=s.seed, multivariate=True, group=True, constant_liar=True)
    # metric and mode go to OptunaSearch itself: with a define-by-run space it ignores
    # the ones TuneConfig hands down (ASHA still needs them there).
    searcher = OptunaSearch(space=space.space, metric=METRIC, mode=MODE, sampler=sampler,
                            points_to_evaluate=[dict(space.DEFAULTS)])
    deadline = time.time() + s.time_budget_s if s.time_budget_s else None
    searcher = BudgetedLimiter(searcher, max_concurrent=slots(s.cpus_per_trial), deadline=deadline)
    if s.scheduler == "asha":
        rungs = fidelity["rungs"]
        scheduler = ASHAScheduler(
            time_attr=fidelity["attr"], grace_period=rungs[0], max_t=rungs[-1], reduction_factor=fidelity["reduction_factor"]
        )
    else:
        scheduler = FIFOScheduler()
    settings = {"seed": s.seed, "rungs": list(fidelity["rungs"]), "threads": max(1, int(s.cpus_per_trial))}
    trainable = tune.with_parameters(family.trainable().train, data=splits, settings=settings)
    trainable = tune.with_resources(trainable, {"cpu": s.cpus_per_trial})
    return tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler, num_samples=s.trials, metric=METRIC, mode=MODE),
        run_config=tune.RunConfig(
            name=s.name,
            storage_path=str(s.results_dir.resolve()),
            callbacks=callbacks,
            verbose=2 if s.verbose else 0,
            # A failing trial is recorded as failed; it never takes the search down.
            failure_config=tune.FailureConfig(max_failures=0, fail_fast=False),
        ),
    )
