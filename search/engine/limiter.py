"""A searcher wrapper for --time-budget (imports Ray: load it only once Ray may be imported)."""

from __future__ import annotations

import time

from ray.tune.search import ConcurrencyLimiter, Searcher


class BudgetedLimiter(ConcurrencyLimiter):
    """A ConcurrencyLimiter that stops proposing trials once a deadline has passed.

    Ray's own ``time_budget_s`` kills the running trials at the deadline; a user's
    ``--time-budget`` means "start nothing new after this", so running trials finish.
    """

    def __init__(self, searcher: Searcher, max_concurrent: int, deadline: float | None):
        super().__init__(searcher, max_concurrent=max_concurrent)
        self.deadline = deadline  # wall clock (time.time()), so it survives a restore

    def suggest(self, trial_id: str):
        if self.deadline is not None and time.time() >= self.deadline:
            return Searcher.FINISHED
        return super().suggest(trial_id)

    def set_state(self, state: dict):
        """Restoring a search brings back the first run's state: its deadline is kept out,
        so a resumed search's --time-budget counts from the resume."""
        deadline = self.deadline
        super().set_state(state)
        self.deadline = deadline
