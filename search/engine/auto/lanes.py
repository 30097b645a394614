"""One family's search inside an ``auto`` run: an ordinary family search (its own Optuna
study, fidelity, ASHA, warm start, MLflow run and experiment folder, named
``AUTO-FAMILY``), run in time slices. Its first slice builds the Tuner; each later one
restores it, and the trials a slice paused at their unit ends continue (a network from
its last epoch's checkpoint, a classical trial at its next rung). At the end it is
concluded as any search is: its best exported to ``models/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...text import fmt_duration
from .. import phases
from ..options import Options
from .allocator import Curve

# A family search in auto proposes trials until the budget is spent; this only bounds it.
MAX_TRIALS = 10_000
WAITING, ACTIVE, DROPPED, DONE, FAILED = "waiting", "active", "dropped", "done", "failed"


@dataclass
class Lane:
    family: object  # registry.Family
    args: Options  # the family search's own options (its command line, parsed)
    curve: Curve = field(default_factory=Curve)
    state: str = WAITING
    why: str = ""  # why it was dropped, or failed
    search: object = None  # phases.Search, once prepared
    built: bool = False  # its Tuner exists in its experiment folder: a slice restores it
    results: object = None  # the last slice's Ray Tune results
    paused: bool = False  # the last slice ended with trials paused (they continue in the next)
    restart_seconds: float = 0.0  # what a slice spent before its first report: Ray's restore, the trials' start-up
    units: dict = field(default_factory=dict)  # trial id -> its next unit's seconds, as last reported
    trials: set = field(default_factory=set)

    @property
    def name(self) -> str:
        return self.family.name

    @property
    def playing(self) -> bool:
        return self.state in (WAITING, ACTIVE)

    def unit_text(self, budget, probe_cost: float = 0.0) -> str:
        """The next unit, for a decision's line: 'an epoch, ~2m10s'."""
        seconds = self.next_unit(budget) or probe_cost
        return f"{'an epoch' if self.family.is_network else 'a fit'}, ~{fmt_duration(seconds)}"

    @property
    def shown_state(self) -> str:
        return "paused" if self.state in (WAITING, ACTIVE) and self.paused else self.state

    def next_unit(self, budget) -> float:
        """The seconds of this family's next unit of work: its running trials' next units,
        else a new trial's first (0 before anything was measured)."""
        live = [s for s in self.units.values() if s > 0]
        return min(live) if live else budget.first_unit(self.name)

    def next_work(self, budget) -> float:
        """The seconds the family's next work needs before the deadline to be of use: its
        running trials' next units, else a new trial's (``Budget.new_trial_seconds``)."""
        running = any(s > 0 for s in self.units.values())
        return self.next_unit(budget) if running else budget.new_trial_seconds(self.name)

    def observe(self, trial_id: str, result: dict, spent: float) -> bool:
        """A report of one of its trials after ``spent`` seconds of its time; whether the
        family's best improved."""
        self.trials.add(trial_id)
        self.units[trial_id] = float(result.get("next_unit_seconds") or 0.0)
        score = result.get("best_val_accuracy", result.get("val_accuracy"))
        # a classical trial's lower rungs fit a part of train; a network's epochs see all of it
        full = float(result.get("train_fraction", 1.0)) >= 1.0
        return self.curve.add(spent, score, full, trial=trial_id, epoch_val=result.get("val_accuracy"))

    def ended(self, trial_id: str) -> None:
        self.units.pop(trial_id, None)

    # -- the search
    def prepare(self, say) -> None:
        self.search = phases.prepare(self.args, say)
        self.built = self.search.resumed

    def run_slice(self) -> None:
        """Build or restore the Tuner, and run until the slice pauses the trials or the
        search has nothing left to do within the budget."""
        tuner = phases.restore(self.search) if self.built else phases.build(self.search)
        self.built = True
        self.results = phases.fit(self.search, tuner)
