"""overhead: what a search costs beyond its trials. A search of trials that each wait a
fixed time, through our engine (Ray Tune + OptunaSearch + our callbacks, 2 at a time),
against the same objective in plain Optuna (``study.optimize``, 2 threads): the share of
the trial slots' wall time spent inside trial code, and trials per minute. And the
driver's CPU time a minute (on a machine of 2 cores, what the trials do not get), saving
Ray Tune's experiment state as a search does (at every step, written only when
a trial changed: ``internals.save_experiment_state_only_on_change``) against Ray Tune's
own saving at every step."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from .common import Context, figure


def ours(ctx: Context, trials: int, seconds: float, on_change: bool = True) -> tuple[float, float]:
    """Wall and driver CPU seconds of tuner.fit() for ``trials`` trials of ``seconds`` each,
    2 at a time, the experiment state saved as a search saves it (``on_change``:
    only when a trial changed; else at every step of Ray Tune's loop)."""
    import cloudpickle

    import bench.busy
    from search import environment, internals
    from search.engine import tuner as tuning
    from search.engine.progress import Progress
    from search.registry import Family

    cloudpickle.register_pickle_by_value(bench.busy)  # workers need not find the bench package
    family = Family("busy", "waits", "bench.busy", "bench.busy")
    started_ray = tuning.start_ray()
    try:
        _, splits = ctx.splits(train_limit=200)
        with tempfile.TemporaryDirectory() as tmp:
            s = tuning.SearchSettings(name="overhead", trials=trials, seed=ctx.seed, results_dir=Path(tmp),
                                      scheduler="none", fidelity=bench.busy.FIDELITY, trial_settings={"seconds": seconds})
            callbacks = [Progress("busy", trials, bench.busy.FIDELITY, interval=3600)]  # as a search has it (stdout)
            tuner = tuning.build_tuner(family, splits, s, callbacks)
            environment.experiment_state_period()
            internals.save_experiment_state_only_on_change(on_change)
            started, cpu = time.perf_counter(), time.process_time()  # every thread of the driver: its copies too
            results = tuner.fit()
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert sum(r.error is None for r in results) == trials, "a busy trial failed"
        return wall, cpu
    finally:
        cloudpickle.unregister_pickle_by_value(bench.busy)
        if started_ray:
            import ray

            ray.shutdown()


def plain_optuna(ctx: Context, trials: int, seconds: float) -> float:
    import optuna

    import bench.busy

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=ctx.seed))
    study.enqueue_trial(bench.busy.DEFAULTS)
    started = time.perf_counter()
    study.optimize(lambda t: bench.busy.objective(t.suggest_float("x", 0.0, 1.0), seconds), n_trials=trials, n_jobs=2)
    return time.perf_counter() - started


def run(ctx: Context) -> dict:
    trials, seconds = (4, 1.0) if ctx.quick else (24, 5.0)
    walls, cpus = {"ours": [], "optuna": [], "every_step": []}, {"ours": [], "every_step": []}
    for _ in range(1 if ctx.quick else 2):  # interleaved
        for side, on_change in (("ours", True), ("every_step", False)):
            wall, cpu = ours(ctx, trials, seconds, on_change)
            walls[side].append(wall)
            cpus[side].append(cpu)
        walls["optuna"].append(plain_optuna(ctx, trials, seconds))
    ours_wall, optuna_wall = min(walls["ours"]), min(walls["optuna"])
    inside = trials * seconds / 2  # two slots
    cpu_a_minute = {side: statistics.median(60 * c / w for c, w in zip(cpus[side], walls[side])) for side in cpus}

    return {"figures": [
        figure(f"share of slot time inside {seconds:.0f}-second trials", inside / ours_wall, inside / optuna_wall,
               "plain Optuna, 2 threads", "share"),
        figure(f"trials per minute ({seconds:.0f}-second trials, 2 at a time)", 60 * trials / ours_wall,
               60 * trials / optuna_wall, "plain Optuna, 2 threads", "trials/min"),
        figure(f"the driver's CPU seconds a minute ({seconds:.0f}-second trials, 2 at a time)", cpu_a_minute["ours"],
               cpu_a_minute["every_step"], "our engine with Ray Tune's saving at every step", "s/min", better="lower"),
    ], "details": {"trials": trials, "seconds_per_trial": seconds, "walls_s": walls, "driver_cpu_s": cpus}}
