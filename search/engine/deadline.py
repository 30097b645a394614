"""The scheduler that keeps a budget, unit by unit (imports Ray: load it lazily).

``UnitGate`` wraps a search's own scheduler (ASHA, or FIFO): each report is also a unit's
end, and the trial's next unit goes ahead only when the seconds the trial foresees for it
(``next_unit_seconds``) fit before the budget's unit deadline (``budget.Budget``);
otherwise the trial stops where it is, as ASHA stops one, and its last checkpoint is what
the export takes. Deciding at the unit's end loses nothing: a fit in progress is never
cut, and none starts that would run past the deadline.

``auto`` also pauses a family's trials at their unit ends when it gives the next minutes
to another family (``pause``): Ray Tune saves a paused trial, and the family's search
continues it, epoch or rung, when it is restored.
"""

from __future__ import annotations

from ray.tune.schedulers import TrialScheduler


class UnitGate(TrialScheduler):
    def __init__(self, inner: TrialScheduler, budget, family: str, pause=None):
        super().__init__()
        self.inner, self.budget, self.family = inner, budget, family
        # auto's: pause.now() -> whether to pause the trials now; pause.observe(trial_id,
        # result), told of each report first, so that a decision it makes (a probe's first
        # epoch in, say) pauses that very trial at that report, not an epoch later
        self.pause = pause

    # Ray Tune pickles its scheduler with the Tuner; the pause rule is the process's own,
    # and set again when the search is restored (tuner.restore_tuner).
    def __getstate__(self):
        return {**self.__dict__, "pause": None}

    def pausing(self) -> bool:
        return bool(self.pause and self.pause.now())

    # -- what is decided here
    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        self.budget.observe(self.family, result)
        if self.pause:
            self.pause.observe(trial.trial_id, result)
        action = self.inner.on_trial_result(tune_controller, trial, result)
        next_unit = result.get("next_unit_seconds")
        if action == TrialScheduler.CONTINUE and next_unit and not self.budget.fits(next_unit):
            action = TrialScheduler.STOP
        if action == TrialScheduler.STOP:
            self.budget.ended(self.family, trial.trial_id)
        self.budget.publish()  # the reserve moved with this report: the running trials read it
        return TrialScheduler.PAUSE if action == TrialScheduler.CONTINUE and self.pausing() else action

    def choose_trial_to_run(self, tune_controller):
        return None if self.pausing() else self.inner.choose_trial_to_run(tune_controller)

    # -- the rest is the inner scheduler's
    @property
    def metric(self):
        return self.inner.metric

    @property
    def supports_buffered_results(self):
        return self.inner.supports_buffered_results

    def set_search_properties(self, metric, mode, **spec) -> bool:
        return self.inner.set_search_properties(metric, mode, **spec)

    def on_trial_add(self, tune_controller, trial):
        self.inner.on_trial_add(tune_controller, trial)

    def on_trial_error(self, tune_controller, trial):
        self.budget.ended(self.family, trial.trial_id)
        self.budget.publish()
        self.inner.on_trial_error(tune_controller, trial)

    def on_trial_complete(self, tune_controller, trial, result):
        self.budget.ended(self.family, trial.trial_id)
        self.budget.publish()
        self.inner.on_trial_complete(tune_controller, trial, result)

    def on_trial_remove(self, tune_controller, trial):
        self.budget.ended(self.family, trial.trial_id)
        self.budget.publish()
        self.inner.on_trial_remove(tune_controller, trial)

    def debug_string(self) -> str:
        return self.inner.debug_string()

    def save(self, checkpoint_path: str):
        self.inner.save(checkpoint_path)

    def restore(self, checkpoint_path: str):
        self.inner.restore(checkpoint_path)
