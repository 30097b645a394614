"""A searcher wrapper for --time-budget (imports Ray: load it only once Ray may be imported)."""

from __future__ import annotations

from ray.tune.search import ConcurrencyLimiter, Searcher

from .. import internals


class BudgetedLimiter(ConcurrencyLimiter):
    """A ConcurrencyLimiter that proposes a trial only while it has time to be of use before
    the budget's unit deadline (its first unit, and the time its family's best trial took
    to come near its best: ``budget.Budget.new_trial_seconds``), and none while ``auto``
    pauses the family (``pause``).

    Ray's own ``time_budget_s`` kills the running trials at the deadline; a user's
    ``--time-budget`` means the whole command: work that cannot end in time does not start.
    """

    def __init__(self, searcher: Searcher, max_concurrent: int, budget, family: str, pause=None):
        super().__init__(searcher, max_concurrent=max_concurrent)
        self.budget, self.family, self.pause = budget, family, pause

    def __getstate__(self):  # the pause rule is the process's own (see deadline.UnitGate)
        return {**self.__dict__, "pause": None}

    def suggest(self, trial_id: str):
        if self.pause and self.pause.now():
            return None
        if self.budget.deadline is not None and not self.budget.fits(self.budget.new_trial_seconds(self.family)):
            return Searcher.FINISHED
        return super().suggest(trial_id)

    def get_state(self) -> dict:
        """Ray Tune's saved state of the searcher, less the budget's clock and the pause
        rule (a resumed search's --time-budget counts from the resume), with what the
        budget measured of the trials (``Budget.measured``)."""
        budget, pause = self.budget, self.pause
        self.budget = self.pause = None
        try:
            return {**super().get_state(), "budget_measured": budget.measured() if budget is not None else {}}
        finally:
            self.budget, self.pause = budget, pause

    def set_state(self, state: dict):
        budget, pause = self.budget, self.pause
        measured = state.get("budget_measured")
        super().set_state({k: v for k, v in state.items() if k != "budget_measured"})
        self.budget, self.pause = budget, pause
        if budget is not None and measured:
            budget.learn(measured, self.family)

    def on_trial_result(self, trial_id: str, result: dict):
        if internals.told_optuna(self.searcher, trial_id):
            return  # a failed trial retried after a resume: its Optuna trial is final (see below)
        super().on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False):
        """A trial this limiter proposed goes the usual way. A trial of the search before a
        ``--resume`` (running then, or failed and retried with ``--retry-failed``) may not
        be one this limiter proposed, and Ray's ConcurrencyLimiter passes on only those;
        OptunaSearch drops a retried trial's second completion. Both reach Optuna here,
        so the rest of a resumed search learns from them."""
        if trial_id in self.live_trials and not internals.told_optuna(self.searcher, trial_id):
            return super().on_trial_complete(trial_id, result=result, error=error)
        if trial_id in self.live_trials:  # the restored state still counted it as running
            self.live_trials.remove(trial_id)
            self.num_unfinished_live_trials -= 1
        tell_restored(self.searcher, trial_id, result, error)


def tell_restored(searcher, trial_id: str, result: dict | None, error: bool) -> None:
    """Tell Ray's OptunaSearch (``searcher``) how a trial of the search before a restore
    ended. An unfinished trial's result goes in as usual. A failed trial that ran again
    was told to Optuna as failed the first time, a finished Optuna trial cannot change,
    and OptunaSearch drops a second completion: its result joins the study as a new
    completed trial with the same parameters."""
    import optuna

    ot_trial = internals.optuna_trial(searcher, trial_id)
    if ot_trial is None:  # not a trial this search's Optuna proposed
        return
    if not internals.told_optuna(searcher, trial_id):
        searcher.on_trial_complete(trial_id, result=result, error=error)
        return
    value = (result or {}).get(searcher.metric)
    if error or value is None:  # failed again: the study holds that failure already
        return
    internals.add_to_study(searcher, optuna.trial.create_trial(params=ot_trial.params, distributions=ot_trial.distributions,
                                                               value=value))
