"""Every place fer-search reaches into Ray Tune's or Optuna's private parts, in one module.

Read for the versions in ``READ_FOR``. Each touch says what it needs and why no public API
gives it. ``tests/search/test_internals.py`` checks each against the installed versions, so
an upgrade that moves one fails there, by name, rather than deep inside a resumed search.
Import Ray only inside the functions: the CLI loads this module before Ray may be imported.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

READ_FOR = {"ray": "2.60", "optuna": "5.0"}

# Ray's OptunaSearch keeps the Optuna trial it asked for each Ray trial, the Optuna study,
# and the trials it has told Optuna about. A resumed search must tell Optuna about trials
# of the search before it (``limiter.tell_restored``): OptunaSearch has no public way in.
OPTUNA_TRIALS, OPTUNA_STUDY, TOLD_TRIALS = "_ot_trials", "_ot_study", "_completed_trials"


def optuna_trial(searcher, trial_id: str):
    """The Optuna trial OptunaSearch asked for this Ray trial, or None."""
    return getattr(searcher, OPTUNA_TRIALS, {}).get(trial_id)


def told_optuna(searcher, trial_id: str) -> bool:
    """Whether OptunaSearch has told Optuna how this trial ended."""
    return trial_id in getattr(searcher, TOLD_TRIALS, ())


def add_to_study(searcher, frozen_trial) -> None:
    """A finished trial (``optuna.trial.create_trial``) added to OptunaSearch's study."""
    getattr(searcher, OPTUNA_STUDY).add_trial(frozen_trial)


def restored_parts(tuner) -> tuple[object, object, object]:
    """A restored Tuner's RunConfig (its ``callbacks`` to be set), searcher and scheduler.
    ``Tuner.restore`` unpickles the first run's (that process's terminal, its MLflow client,
    its budget) and has no setter for them."""
    internal = tuner._local_tuner
    return internal.get_run_config(), internal._tune_config.search_alg, internal._tune_config.scheduler


def result_trials(results) -> list:
    """The Trial objects behind a ResultGrid (their status: ``ResultGrid`` shows only a
    result's error, not whether an unfinished trial was left running)."""
    return results._experiment_analysis.trials


# Ray Tune's saved experiment state (``experiment_state-*.json``): its ``trial_data`` holds
# one [trial's JSON, runtime metadata] pair per trial. ``Tuner.restore`` reads it; nothing
# public says which trials a restore would continue.
EXPERIMENT_STATE_GLOB, TRIAL_DATA = "experiment_state-*.json", "trial_data"
UNFINISHED = ("PENDING", "RUNNING", "PAUSED")


def unfinished_trials(folder: Path) -> set[str] | None:
    """The trial ids that Ray Tune's last saved experiment state holds as pending, running
    or paused: what a resume continues. None where there is no readable state."""
    states = sorted(Path(folder).glob(EXPERIMENT_STATE_GLOB))
    if not states:
        return None
    try:
        saved = json.loads(states[-1].read_text())
        trials = [json.loads(t[0]) if isinstance(t[0], str) else t[0] for t in saved[TRIAL_DATA]]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None
    return {t["trial_id"] for t in trials if t.get("status") in UNFINISHED}


# Ray's modules whose loggers report a failed sync of the experiment's folder (``tuner.InterruptWatch``).
RAY_SYNCER_LOGGER = "ray.train._internal.syncer"
RAY_EXPERIMENT_STATE_LOGGER = "ray.tune.execution.experiment_state"


# Ray Tune saves a search's experiment state (its trials, the searcher's state, Optuna's
# study pickled) and copies the experiment's folder to the results folder whenever its
# loop steps past the save period; at a period of 0 (every search's, for an exact resume:
# ``environment.experiment_state_period``) that is every step, about ten a second,
# though most steps changed nothing. The controller marks each trial whose state changed
# since its last save (added, started, a result, a checkpoint, paused, stopped, failed);
# a save with none marked writes what the last one wrote. Ray Tune has no switch to save
# only on a change.
SAVE_MANAGER_MODULE, SAVE_MANAGER, SAVE_METHOD = \
    "ray.tune.execution.experiment_state", "_ExperimentCheckpointManager", "sync_up_experiment_state"
CHANGED_TRIALS, LAST_SYNC, FORCE_SYNC = "_trials_to_cache", "_last_sync_time", "_should_force_sync_up"


def save_experiment_state_only_on_change(on: bool = True) -> None:
    """From now on in this process, a periodic save of Ray Tune's experiment state is
    skipped where no trial changed since the last save whose copy to the results folder
    started: the saved state is the one a save at every step would leave. Forced saves (a
    fit's end, trials' checkpoints past ``num_to_keep``) go on as before. ``on=False``:
    Ray Tune's own saving again (the benchmark's peer)."""
    import functools
    import importlib

    manager = getattr(importlib.import_module(SAVE_MANAGER_MODULE), SAVE_MANAGER)
    current = getattr(manager, SAVE_METHOD)
    installed = getattr(current, "saves_only_on_change", False)
    if installed and not on:
        setattr(manager, SAVE_METHOD, current.__wrapped__)
    if installed or not on:
        return
    original = current

    @functools.wraps(original)
    def sync_up(self, save_fn, force: bool = False, wait: bool = False):
        controller = getattr(save_fn, "__self__", None)  # save_fn: the TuneController's save_to_dir
        unchanged = controller is not None and not getattr(controller, CHANGED_TRIALS)
        if unchanged and not force and not getattr(self, FORCE_SYNC) and getattr(self, "_copied_last_save", False):
            return None
        synced_before = getattr(self, LAST_SYNC)
        done = original(self, save_fn, force=force, wait=wait)
        # a copy still running when this save was made is not started again: the results
        # folder may hold an older state until a later save starts one
        self._copied_last_save = getattr(self, LAST_SYNC) != synced_before
        return done

    sync_up.saves_only_on_change = True
    setattr(manager, SAVE_METHOD, sync_up)


# Ray Tune's search algorithm (``SearchGenerator``) saves whether its searcher said
# FINISHED, and a restored one proposes nothing more when it had. Our searcher says so when
# a budget's next trial no longer fits (``limiter.BudgetedLimiter``): a search that ran
# out of time, resumed with a new ``--time-budget``, would only continue its unfinished
# trials. Nothing public reopens it; the state is a cloudpickle of a dict.
SEARCH_GEN_STATE_GLOB, SEARCH_FINISHED = "search_gen_state-*.json", "finished"


def reopen_search(folder: str | Path) -> bool:
    """Marks the newest saved search-algorithm state in an experiment folder (a path, or
    a URI such as ``--storage``'s ``s3://...``, through pyarrow's filesystems as Ray Tune
    reads it) as not finished, so a resumed search asks its searcher again (which says
    FINISHED again where the new budget holds no trial); whether there was such a state
    to reopen."""
    import fnmatch

    import pyarrow.fs
    import ray.cloudpickle as cloudpickle

    folder = str(folder)
    fs, root = pyarrow.fs.FileSystem.from_uri(folder) if "://" in folder else \
        (pyarrow.fs.LocalFileSystem(), str(Path(folder).resolve()))
    try:
        found = fs.get_file_info(pyarrow.fs.FileSelector(root, allow_not_found=True))
    except OSError:
        return False
    states = sorted(f.path for f in found if fnmatch.fnmatch(f.base_name, SEARCH_GEN_STATE_GLOB))
    if not states:
        return False
    newest = states[-1]  # by its session's name, as Ray Tune picks
    with fs.open_input_stream(newest) as f:
        state = cloudpickle.loads(f.read())
    if not state.get(SEARCH_FINISHED):
        return False
    state[SEARCH_FINISHED] = False
    # a temporary file moved over it: the old state or the new one, never a mix
    temporary = f"{root}/.reopened-{Path(newest).name}"
    with fs.open_output_stream(temporary) as f:
        f.write(cloudpickle.dumps(state))
    fs.move(temporary, newest)
    return True


# auto's two lanes (networks on the GPUs, classical trials on the other cores, at once) run
# one Ray Tune fit in a thread of its own. Two things stand in the way, and nothing public
# answers either:
# - Ray Tune stops a fit gracefully (running trials paused at their checkpoints, the
#   experiment's state saved) when the event that ``tune.run`` makes at its start is set,
#   and only its SIGINT/SIGUSR1 handler sets it; a fit in another thread than the main one
#   gets no handler (Python runs handlers in the main thread only), and auto pauses the
#   fits between time slices.
# - Ray Tune's registries of trainables and of ``with_parameters``' objects are dicts
#   without a lock: two fits starting at once met "dictionary changed size during
#   iteration" there (the cnn's search failed at its probe).
TUNE_RUN_MODULE, SIGNAL_CATCHING = "ray.tune.tune", "_setup_signal_catching"
REGISTRY_MODULE, REGISTRY_WRITES = "ray.tune.registry", (("_Registry", "register"), ("_ParameterRegistry", "put"))
_thread_stops: dict = {}  # thread ident -> the stop event of the fit running in that thread


def fits_in_threads() -> None:
    """From now on in this process, Ray Tune fits may run in several threads at once: one
    started in a thread other than the main one keeps its stop event where
    ``stop_fit_in_this_thread`` finds it, and the registries are written one at a time."""
    import functools
    import importlib
    import threading

    module = importlib.import_module(TUNE_RUN_MODULE)
    current = getattr(module, SIGNAL_CATCHING)
    if getattr(current, "keeps_thread_events", False):
        return

    @functools.wraps(current)
    def setup():
        if threading.current_thread() is threading.main_thread():
            return current()
        event = threading.Event()
        _thread_stops[threading.get_ident()] = event
        return event

    setup.keeps_thread_events = True
    setattr(module, SIGNAL_CATCHING, setup)

    registry, lock = importlib.import_module(REGISTRY_MODULE), threading.RLock()
    for class_name, method_name in REGISTRY_WRITES:
        cls = getattr(registry, class_name)
        setattr(cls, method_name, one_at_a_time(getattr(cls, method_name), lock))


def one_at_a_time(method, lock):
    import functools

    @functools.wraps(method)
    def locked(*args, **kwargs):
        with lock:
            return method(*args, **kwargs)
    return locked


def stop_fit_in_this_thread() -> bool:
    """Ray Tune's graceful stop of the fit this (non-main) thread runs; whether there was one."""
    import threading

    event = _thread_stops.get(threading.get_ident())
    if event is None:
        return False
    event.set()
    return True


# ``Tuner.restore`` refuses a trainable registered under another name than the one the
# experiment was built with, and names the one it expects only in its error's message.
RESTORE_NAME = re.compile(r"^Invalid `trainable` input to `Tuner.restore\(\)`.* but expected '([^']+)'\.?$", re.S)


def restore_expected_name(error: Exception) -> str | None:
    """The trainable name ``Tuner.restore``'s refusal expects, or None for another error."""
    found = RESTORE_NAME.match(str(error))
    return found.group(1) if found else None
