"""Every place fer-search reaches into Ray Tune's or Optuna's private parts, in one module.

Read for the versions in ``READ_FOR``. Each touch says what it needs and why no public API
gives it. ``tests/search/test_internals.py`` checks each against the installed versions, so
an upgrade that moves one fails there, by name, rather than deep inside a resumed search.
Import Ray only inside the functions: the CLI loads this module before Ray may be imported.
"""

from __future__ import annotations

import json
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
