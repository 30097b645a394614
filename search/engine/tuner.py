"""Building and running the Ray Tune ``Tuner``: Optuna searcher, ASHA, resources, storage."""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

from trainables.data import Splits
from trainables.errors import FerSearchError

from .. import internals, stopping
from ..registry import Family
from .resources import TrialResources, node_cpus

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
    gpus_per_trial: float = 0
    storage: str | None = None  # experiment storage: a bucket URI or a shared path (multi-node)
    max_failures: int = 1  # retries of a trial whose node died (a trial that raises fails again)
    fidelity: object = None  # the family's Fidelity, with --max-epochs applied
    trial_settings: dict | None = None  # more for the trainable (weights, max_epochs)
    budget: object = None  # budget.Budget: the deadline and the reserve for the end (None: no budget)
    pause: object = None  # auto: a function () -> bool, pause the trials at their unit ends now
    probe_first: bool = False  # auto: the first points too climb the rungs (its probe is their first)
    verbose: bool = False
    points_to_evaluate: list[dict] | None = None  # evaluated first, in order (default: the space's DEFAULTS)
    fixed: dict | None = None  # --fix: parameters held at one value
    # auto's two lanes: the CPUs this search's trials may hold at once (the rest are the networks')
    cpus_cap: float | None = None
    # the name Ray Tune registers the trainable under (default: its function's, ``train``). Ray
    # keeps one trainable per name for the whole driver: auto's two lanes run two families'
    # Tuners at once, and the second's "train" replaced the first's (a cnn trial ran the svm's
    # code). ``auto`` names each family's after the family.
    trainable_name: str | None = None


# The environment of a classical search's Ray workers. A reused worker runs each trial in
# a new thread; glibc gives threads their own malloc arenas (up to 8 per core), and each
# arena keeps its high-water mark, so a worker's memory grew trial after trial: measured,
# 204 to 449 MB over 40 svm trials on demo:400, against 210 to 259 MB with 2 arenas (and a
# plateau near 300 MB with 4). Network trials run one process each and keep glibc's default.
def classical_worker_env() -> dict:
    """MALLOC_ARENA_MAX 2 for the workers, or the value this process was given."""
    return {"MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "2")}


def start_ray(verbose: bool = False, address: str | None = None, worker_env: dict | None = None) -> bool:
    """Join the Ray cluster at ``address``, or start a local Ray bound to 127.0.0.1;
    nothing when this process already has one. Returns whether it connected (and so
    should shut down). ``worker_env``: variables for this search's workers, on every node."""
    from .. import environment

    environment.check_before_ray(address)  # the variables Ray reads at import are set already
    import ray

    if ray.is_initialized():
        return False
    common = {"log_to_driver": verbose, "logging_level": logging.INFO if verbose else logging.ERROR}
    if address:
        # The trials import our packages on nodes that may never have seen this checkout.
        import spaces
        import trainables

        # and the nodes' raylets start them in their own environment, not this process's
        env_vars = {**environment.for_workers(), **(worker_env or {})}
        runtime_env = {"py_modules": [str(Path(m.__file__).resolve().parent) for m in (trainables, spaces)],
                       **({"env_vars": env_vars} if env_vars else {})}
        try:
            ray.init(address=address, runtime_env=runtime_env, **common)
        except (ConnectionError, ValueError, RuntimeError) as e:
            raise FerSearchError(f"--address {address}: cannot join the Ray cluster ({str(e).splitlines()[0][:200]})",
                                 hint="ray status shows the cluster's address; 'auto' joins the one started on this machine") from None
        stopping.CURRENT.reinstall()
        return True
    # "local" never attaches to a cluster that `ray start` left running on this machine;
    # the dashboard, where installed (ray[default]), listens on 127.0.0.1 alone.
    ray.init(address="local", _node_ip_address="127.0.0.1", include_dashboard=None, dashboard_host="127.0.0.1",
             runtime_env={"env_vars": dict(worker_env)} if worker_env else None, **common)
    stopping.CURRENT.reinstall()  # Ray's driver takes SIGTERM over (a stack dump and death)
    return True


def check_storage(storage: str | None) -> None:
    """Multi-node Ray Tune needs experiment storage every node reaches."""
    import ray

    nodes = [n for n in ray.nodes() if n.get("Alive")]
    if len(nodes) > 1 and not storage:
        raise FerSearchError(
            f"this Ray cluster has {len(nodes)} nodes: a multi-node search needs --storage",
            hint="--storage s3://bucket/path (or gs://, or a filesystem path every node mounts): "
                 "Ray Tune keeps trial results and checkpoints there",
        )


def cluster_cpus() -> float:
    import ray

    return float(ray.cluster_resources().get("CPU", 1))


def gpus_in_cluster() -> float:
    import ray

    return float(ray.cluster_resources().get("GPU", 0))


def check_trial_fits(cpus: float, gpus: float) -> None:
    """On the Ray instance this search started (no autoscaler will add a node), a trial that
    asks for more than this machine has would wait for ever: one line instead."""
    from trainables.errors import FerSearchError

    from .resources import node_cpus

    have_cpus, have_gpus = node_cpus(), gpus_in_cluster()
    if cpus > have_cpus:
        raise FerSearchError(f"--cpus-per-trial {cpus:g}: this machine has {have_cpus:g} CPUs, so no trial could start",
                             hint=f"ask for at most {have_cpus:g}")
    if gpus > have_gpus:
        raise FerSearchError(f"--gpus-per-trial {gpus:g}: this machine has {have_gpus:g} GPUs, so no trial could start",
                             hint=f"ask for at most {have_gpus:g}" if have_gpus else "leave --gpus-per-trial out on a machine without a GPU")


def slots(cpus_per_trial: float, cpus_cap: float | None = None) -> int:
    """How many trials fit at once on the Ray cluster's CPUs (at most ``cpus_cap`` of them)."""
    import ray

    cpus = ray.cluster_resources().get("CPU", 1)
    return max(1, int(min(cpus, cpus_cap or cpus) // max(cpus_per_trial, 1e-9)))


def quiet_ray_tune(verbose: bool) -> None:
    """Our progress display and summary take the place of Ray Tune's lines."""
    if not verbose:
        logging.getLogger("ray.tune").setLevel(logging.WARNING)


class InterruptWatch(logging.Filter):
    """Notices Ray Tune's "Stop signal received" (its SIGINT handler runs during
    ``Tuner.fit``: a first Ctrl-C stops the trials and saves the experiment's state) and,
    unless verbose, drops Ray Tune's lines about it, in whose place the summary names our
    ``--resume`` command (Ray's name ``Tuner.restore``, and an interrupted trial's
    missing results come with a FileNotFoundError)."""

    RAY_LINES = ("Stop signal received", "Trials did not complete", "Experiment has been interrupted",
                 "Failed to fetch metrics")
    LOGGERS = ("ray.tune.tune", "ray.tune.analysis.experiment_analysis", internals.RAY_SYNCER_LOGGER,
               internals.RAY_EXPERIMENT_STATE_LOGGER)
    # Saving the experiment's state at every step (search.environment) races Ray's copy of
    # its staging folder: a copy that meets one of Ray's own temporary files after its
    # rename fails, with a traceback, and the next copy carries the state. Ray reports it
    # from the syncer, or, when it saves the state again while a copy is in flight (its
    # `sync_up_experiment_state` waits only when forced), as the save's failure. Other sync
    # failures still show.
    SYNC_RACE = "Last sync command failed"
    SAVE_RACE = "Saving experiment state to storage"

    def __init__(self, verbose: bool):
        super().__init__()
        self.verbose, self.interrupted = verbose, False

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith(self.RAY_LINES[0]):
            self.interrupted = True
        if message.startswith(self.SYNC_RACE) and "-tmp-" in message and "No such file or directory" in message:
            return self.verbose
        if message.startswith(self.SAVE_RACE) and self.temporary_file_gone(record.exc_info):
            return self.verbose
        return self.verbose or not message.startswith(self.RAY_LINES)

    @staticmethod
    def temporary_file_gone(exc_info) -> bool:
        error = exc_info[1] if exc_info else None
        return isinstance(error, FileNotFoundError) and "-tmp-" in str(error)

    def __enter__(self):
        for name in self.LOGGERS:
            logging.getLogger(name).addFilter(self)
        return self

    def __exit__(self, *exc):
        for name in self.LOGGERS:
            logging.getLogger(name).removeFilter(self)
        return False


def trainable(family: Family, splits: Splits, s: SearchSettings):
    """The family's trainable with the data (through the object store), the search's
    settings and the trial's resources."""
    from ray import tune

    fidelity = s.fidelity or family.fidelity()
    settings = {"seed": s.seed, "rungs": list(fidelity.rungs), "threads": max(1, int(s.cpus_per_trial)),
                **(s.trial_settings or {})}
    if s.budget is not None and s.budget.deadline is not None:
        # what a trial checks itself: a network within its epoch, and its cosine's end
        settings["deadline"] = s.budget.unit_deadline()
        if s.budget.published is not None:  # and as the reserve moves (on this machine's trials)
            s.budget.publish()
            settings["deadline_file"] = str(s.budget.published)
    if family.is_network:  # where its epochs' progress goes, for the driver's display
        settings["progress_dir"] = str(progress_dir(s))
    if s.gpus_per_trial:
        resources = {"cpu": s.cpus_per_trial, "gpu": s.gpus_per_trial}
    elif family.is_network:  # a network's first epochs say little: its first points are trials like any other
        resources = {"cpu": s.cpus_per_trial}
    else:
        settings["first_points"] = first_points(family, s)  # fitted on all of train at once, see trainables.classical
        first_cpus = min(node_cpus(), s.cpus_cap or float("inf"))
        resources = TrialResources(s.cpus_per_trial, first_cpus, settings["first_points"])
        # ...where that fits in the budget, as this family's defaults cost on the reference machine
        from .priors import full_fit_seconds

        settings["first_point_seconds"] = (float("inf") if s.probe_first else
                                           full_fit_seconds(family.name, len(splits.index["train"]), first_cpus))
    run = tune.with_parameters(family.trainable().train, data=splits, settings=settings)
    if s.trainable_name:
        run.__name__ = s.trainable_name
    return tune.with_resources(run, resources)


def progress_dir(s: SearchSettings) -> Path:
    """Where network trials write how far their epoch is (read by ``progress.Progress``)."""
    return (Path(s.results_dir) / s.name / ".progress").resolve()


def first_points(family: Family, s: SearchSettings) -> list[dict]:
    """What Optuna evaluates before it proposes: the given points (default: the space's
    DEFAULTS), less the --fix parameters, which are the space's constants now."""
    held = s.fixed or {}
    return [{k: v for k, v in p.items() if k not in held} for p in s.points_to_evaluate or [dict(family.space().DEFAULTS)]]


def restore_tuner(path: str, family: Family, splits: Splits, s: SearchSettings, callbacks: list, retry_failed: bool):
    """An interrupted or crashed search's Tuner, from its experiment folder: finished and
    early-stopped trials are kept, unfinished ones continue (a network from its last
    epoch's checkpoint), failed ones run again only when asked; the searcher's state
    (Optuna's study) comes back with it."""
    quiet_ray_tune(s.verbose)
    internals.reopen_search(path)  # one that ran out of time proposes trials again in the new budget
    tuner = restore_under_its_name(path, lambda name: trainable(family, splits, replace(s, trainable_name=name)),
                                   s.trainable_name, resume_unfinished=True, resume_errored=retry_failed,
                                   restart_errored=False)
    # Tuner.restore unpickles the first run's callbacks (that process's terminal and MLflow
    # client), searcher and scheduler (its budget); Tuner has no public setter for them,
    # so its internal tuner's are replaced (BudgetedLimiter.set_state keeps the new budget
    # when Ray restores the searcher's state).
    run_config, search_alg, trial_scheduler = internals.restored_parts(tuner)
    run_config.callbacks = callbacks
    for part in (search_alg, trial_scheduler):
        part.budget, part.pause = s.budget, s.pause
    return tuner


def restore_under_its_name(path: str, named, name: str | None, **options):
    """``Tuner.restore`` with the trainable ``named(name)``, or, where the experiment was
    built under another name, ``named`` that one: Ray Tune restores a trainable only under
    the name it was built with, and an auto run started before its families' trainables were
    named after them (``SearchSettings.trainable_name``) has them all as ``train``."""
    from ray import tune

    try:
        return tune.Tuner.restore(path, trainable=named(name), **options)
    except ValueError as e:
        built_as = internals.restore_expected_name(e)
        if built_as is None or built_as == name:
            raise
        return tune.Tuner.restore(path, trainable=named(built_as), **options)


def build_tuner(family: Family, splits: Splits, s: SearchSettings, callbacks: list):
    from ray import tune

    quiet_ray_tune(s.verbose)
    fidelity = s.fidelity or family.fidelity()
    return tune.Tuner(
        trainable(family, splits, s),
        tune_config=tune.TuneConfig(search_alg=searcher(family, s), scheduler=scheduler(family, s, fidelity),
                                    num_samples=s.trials, metric=METRIC, mode=MODE,
                                    # A classical trial is seconds of work at its first rungs: a
                                    # new worker process per trial (start-up, imports) would cost
                                    # more than the fit. Networks keep one process per trial, so
                                    # each trial's TensorFlow memory goes with it.
                                    reuse_actors=not family.is_network),
        run_config=tune.RunConfig(
            name=s.name,
            storage_path=s.storage or str(s.results_dir.resolve()),
            callbacks=callbacks,
            verbose=2 if s.verbose else 0,
            # A failing trial is recorded as failed; it never takes the search down. A
            # trial whose node died is retried (from its last checkpoint, where it has one).
            failure_config=tune.FailureConfig(max_failures=s.max_failures, fail_fast=False),
            # networks checkpoint every epoch: keep each trial's best few
            checkpoint_config=tune.CheckpointConfig(num_to_keep=3, checkpoint_score_attribute=METRIC,
                                                    checkpoint_score_order=MODE),
        ),
    )


def sampler(name: str, seed: int):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    # constant_liar: concurrent trials do not all get proposed the same point
    with warnings.catch_warnings():  # multivariate and group are flagged experimental, and are what
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # conditional spaces want
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, constant_liar=True)


def searcher(family: Family, s: SearchSettings):
    """Optuna over the family's space, its first points, as many trials at once as fit,
    and no new trial whose first unit of work would end past the budget."""
    from ray.tune.search.optuna import OptunaSearch

    from . import fixed
    from .limiter import BudgetedLimiter

    # metric and mode go to OptunaSearch itself: with a define-by-run space it ignores
    # the ones TuneConfig hands down (ASHA still needs them there).
    optuna_search = OptunaSearch(space=fixed.apply(family.space().space, s.fixed or {}), metric=METRIC, mode=MODE,
                                 sampler=sampler(s.searcher, s.seed), points_to_evaluate=first_points(family, s))
    return BudgetedLimiter(optuna_search, max_concurrent=slots(s.cpus_per_trial, s.cpus_cap), budget=s.budget or no_budget(),
                           family=family.name, pause=s.pause)


def no_budget():
    from .budget import Budget

    return Budget(None, {})


def scheduler(family: Family, s: SearchSettings, fidelity):
    """ASHA on the family's fidelity rungs, or none (every trial runs to the end); either
    way a unit of work starts only where it fits in the budget (``deadline.UnitGate``)."""
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    from .deadline import UnitGate

    inner = FIFOScheduler()
    if s.scheduler == "asha":
        inner = ASHAScheduler(time_attr=fidelity.attr, grace_period=fidelity.grace, max_t=fidelity.max,
                              reduction_factor=fidelity.reduction_factor)
    return UnitGate(inner, s.budget or no_budget(), family.name, s.pause)
