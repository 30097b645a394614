"""The Ray Tune callback that feeds MLflow from the driver (imports Ray: load it lazily)."""

from __future__ import annotations

from ray.tune import Callback

from .. import status
from ..stores.tracking import Tracker


class TrackingCallback(Callback):
    def __init__(self, tracker: Tracker, fidelity):
        self.tracker, self.fidelity = tracker, fidelity

    def _run(self, trial):
        return self.tracker.trial_run(trial.trial_id, trial.config)

    def on_trial_start(self, iteration, trials, trial, **info):
        self._run(trial)

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self.tracker.log_result(self._run(trial), result)

    def on_trial_complete(self, iteration, trials, trial, **info):
        self.tracker.end_trial(self._run(trial), status.of(trial.last_result, None, self.fidelity))

    def on_trial_error(self, iteration, trials, trial, **info):
        self.tracker.end_trial(self._run(trial), status.FAILED, status.error_text(trial) or "the trial failed")
