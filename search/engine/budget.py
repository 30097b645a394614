"""A time budget is the user's whole wait: ``--time-budget`` bounds the command from start
to exit, its export, ensemble and summary included.

``Budget`` keeps the clock of one run (a family search, or every family of ``auto``): the
deadline, and the reserve for what must still happen after the last unit of work, which
it measures from the trials' own reports (a unit: a classical fit at one rung, a network
epoch; ``trainables/units.py``). A unit starts only when its predicted seconds fit before
the deadline less that reserve; a trial starts only when its first unit does.
Bookkeeping that ``deadline.UnitGate`` and ``limiter.BudgetedLimiter`` ask; its one write
is ``publish``, the current unit deadline for the running trials to read.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

# The end's fixed costs, where this results folder has no measurement yet (see
# ``learned_fixed_seconds``): MLflow's last writes and figures, the leaderboard rewritten
# from MLflow, the summary, Ray's shutdown. Measured: 3.8-4.0 s for a tracked svm search
# on the demo set (2 cores).
FIXED_END_SECONDS = 6.0
# An export's estimate is taken this much larger: it reads and writes files that a trial's
# report did not, and machines throttle.
SAFETY = 1.5
# A unit's estimate (the trial's own measurement of the same work) a little larger.
UNIT_SAFETY = 1.1
# Saving a model, loading it back and logging it to MLflow read and write its bytes a few
# times. Measured in a 30-minute auto run on the real data (2 cores, local disk), each
# whole export, its scoring included: the svm's 149 MB in 11 s, the rf's 410 MB in 8 s;
# at the 0.12 s a MB measured before (the svm defaults' 118 MB added about 12 s to the
# end, in an earlier export path) the reserve held 98 s for those bytes.
SECONDS_PER_MB = 0.03
# A new trial starts only where the time left holds what its family's best trial took to
# come within this much of its best (``Budget.new_trial_seconds``): auto's drop margin.
NEW_TRIAL_MARGIN = 0.02


@dataclass
class Budget:
    deadline: float | None  # wall clock (time.time()) by which the command must have exited; None: no budget
    faces: dict  # split -> faces: what scoring the exported model reads (val and test)
    fixed_seconds: float = FIXED_END_SECONDS
    # per family: the seconds of trials' first units (their start-up included); per
    # (family, trial): what its latest report measured of its model (the seconds it took to
    # predict val, its size in MB), whose export the end may have to make
    first_units: dict = field(default_factory=dict)
    latest_epochs: dict = field(default_factory=dict)  # network family -> the seconds of its latest epoch
    models: dict = field(default_factory=dict)
    last_result: float | None = None  # when the last report came (the end is measured from there)
    extra_reserve: object = None  # a function of this budget: more to reserve (auto: the ensemble and its TTA)
    best: dict = field(default_factory=dict)  # family -> (val_accuracy, trial_id) of its best report so far
    # (family, trial) -> [(the trial's own seconds at a report, its val accuracy)], while the
    # trial may still be its family's best: how long a new trial needs to be of use
    histories: dict = field(default_factory=dict)
    # where the current unit deadline is written for the trials to read (``publish``): the
    # reserve moves as reports come, and a deadline fixed when a trial started would cut its
    # epochs too early (or too late); None: nowhere
    published: Path | None = None

    @classmethod
    def of(cls, started: float, seconds: float | None, faces: dict, fixed_seconds: float = FIXED_END_SECONDS) -> Budget:
        return cls(None if seconds is None else started + seconds, faces, fixed_seconds)

    # Ray Tune pickles the searcher and the scheduler that hold this budget into the
    # Tuner's tuner.pkl, written on every start and restore of a search and copied with its
    # experiment folder on every sync. auto's extra reserve is a method of its driver, whose
    # lanes hold every face of the data: 300 MB a family on FER2013, and up to a third of a core
    # spent copying it. It is the process's own; a restored search is given the new
    # process's budget (tuner.restore_tuner).
    def __getstate__(self):
        return {**self.__dict__, "extra_reserve": None}

    # -- what the trials report
    def observe(self, family: str, result: dict) -> None:
        """A trial's report: its first unit's seconds (Ray's time_this_iter_s of its first
        report holds the trial's start-up), and the export its model would cost."""
        self.last_result = time.time()
        if result.get("training_iteration") == 1 and result.get("time_this_iter_s") is not None:
            self.first_units.setdefault(family, []).append(float(result["time_this_iter_s"]))
        if result.get("epoch") is not None and result.get("unit_seconds") is not None:  # a network's epoch
            self.latest_epochs[family] = float(result["unit_seconds"])
        trial_id, val = result.get("trial_id"), result.get("val_accuracy")
        if val is not None and val > self.best.get(family, (float("-inf"), None))[0]:
            self.best[family] = (float(val), trial_id)
        if val is not None and result.get("time_total_s") is not None:  # Ray's: the trial's own, across restores
            self.histories.setdefault((family, trial_id), []).append((float(result["time_total_s"]), float(val)))
        if result.get("predict_seconds") is not None:  # the latest: a first epoch's includes tracing the graph
            self.models[(family, trial_id)] = (end_predict_seconds(result), float(result.get("model_mb") or 0.0))

    def ended(self, family: str, trial_id: str) -> None:
        """A trial that ended (finished, stopped, failed) and is not its family's best can
        never be exported: its model leaves the reserve."""
        if self.best.get(family, (None, None))[1] != trial_id:
            self.models.pop((family, trial_id), None)
            self.histories.pop((family, trial_id), None)

    # -- what a search's saved state keeps of it (``limiter.BudgetedLimiter``)
    MEASURED = ("first_units", "latest_epochs", "models", "best", "histories")

    def measured(self) -> dict:
        """What the trials' reports taught this budget, per family, without its clock: a
        resumed search's budget counts from the resume but prices its work as before."""
        return {name: dict(getattr(self, name)) for name in self.MEASURED}

    def learn(self, measured: dict, family: str) -> None:
        """Take what a search's earlier process measured (``measured``) of ``family``, where
        this budget has no report of it yet. Without it a search resumed in a new process
        priced a new trial at its first unit only (its best trial's history was gone) and
        reserved nothing for exporting a best model found before the resume. (auto's
        families share one budget: each takes its own from its own search's state.)"""
        if family in self.best or family in self.first_units:
            return
        for name in self.MEASURED:
            mine = getattr(self, name)
            for key, value in (measured or {}).get(name, {}).items():
                if (key[0] if isinstance(key, tuple) else key) == family:
                    mine.setdefault(key, value)

    def scoring_seconds(self, family: str) -> float:
        """Predicting val and test once with the family's costliest model so far."""
        val = max(self.faces.get("val", 0), 1)
        scored = (self.faces.get("val", 0) + self.faces.get("test", 0)) / val
        return max((p * scored for (f, _), (p, _) in self.models.items() if f == family), default=0.0)

    @property
    def exports(self) -> dict:
        """family -> what exporting its costliest model so far would take: scoring val and
        test, a second val pass (a calibration), and its bytes saved, read and logged."""
        found = {}
        for (family, _), (predict, mb) in self.models.items():
            val = max(self.faces.get("val", 0), 1)
            scored = (self.faces.get("val", 0) + self.faces.get("test", 0)) / val
            found[family] = max(found.get(family, 0.0), SAFETY * (predict * (scored + 1) + SECONDS_PER_MB * mb) + 2.0)
        return found

    def variable_seconds(self) -> float:
        """The part of the reserve that the trials' reports measured."""
        return self.reserve() - self.fixed_seconds

    # -- what the driver asks
    def reserve(self) -> float:
        extra = self.extra_reserve(self) if self.extra_reserve else 0.0
        return self.fixed_seconds + sum(self.exports.values()) + extra

    def unit_deadline(self) -> float | None:
        """When the last unit of work must have ended."""
        return None if self.deadline is None else self.deadline - self.reserve()

    def publish(self) -> None:
        """Writes the unit deadline for the trials (``trainables.units.current_deadline``),
        whole or not at all; a folder that cannot be written to leaves them the deadline
        they started with."""
        limit = self.unit_deadline()
        if self.published is None or limit is None:
            return
        from ..stores.files import atomic_write

        try:
            atomic_write(self.published, lambda tmp: Path(tmp).write_text(json.dumps({"unit_deadline": limit})))
        except OSError:
            pass

    def fits(self, seconds: float, now: float | None = None) -> bool:
        limit = self.unit_deadline()
        return limit is None or (time.time() if now is None else now) + UNIT_SAFETY * seconds <= limit

    def first_unit(self, family: str) -> float:
        """What a new trial's first unit should take: the median of this run's so far (0
        before any: the first trial of a family is how its cost is learned), and for a
        network no less than its family's latest epoch.

        A network's first epoch fits all of train, as every later epoch does, and traces
        its graph besides; the first epochs measured may be an hour old, from a machine
        that was faster then. In a 2-hour auto run on the real data the probe's first cnn
        epoch took 409 s and the trial's later ones 431-571 s (the latest 463 s): a new
        trial priced by the probe started 15 minutes before the end, its first epoch
        (which always runs) took 13 min 30 s, and ate the end's reserve."""
        seen = self.first_units.get(family)
        return max(statistics.median(seen) if seen else 0.0, self.latest_epochs.get(family, 0.0))

    def new_trial_seconds(self, family: str) -> float:
        """What a new trial of ``family`` needs before the unit deadline to be of any use:
        the seconds its family's best trial took to come within NEW_TRIAL_MARGIN of its best
        (its start-up included), and no less than a first unit.

        A trial that cannot get that far cannot become its family's best, the one model of
        the family that is exported and that auto's final choice can take; and its first
        unit runs whole even past the deadline (it owes Ray Tune a report). In a 2-hour auto
        run on the real data a second cnn trial started with 8 minutes left, took 13 min
        30 s for its one epoch and reached val 0.21, where the family's best (0.598) had
        needed 7 epochs, 59 minutes, to come within 0.02. Cosine to the deadline lets a
        shorter trial come a little further in its epochs than the best trial did in the
        same epochs of a longer schedule: the margin allows for that. A family with no best
        yet asks only the first unit; a search resumed in a new process has its earlier
        reports from its saved state (``learn``)."""
        best = self.best.get(family)
        history = self.histories.get((family, best[1]), []) if best else []
        near = next((seconds for seconds, val in history if val >= best[0] - NEW_TRIAL_MARGIN), 0.0)
        return max(self.first_unit(family), near)

    def left(self, now: float | None = None) -> float | None:
        return None if self.deadline is None else self.deadline - (time.time() if now is None else now)


def end_predict_seconds(result: dict) -> float:
    """What predicting val takes at the end, from a trial's measurement: the end predicts
    on every core of this machine (``parallel.runner``), a classical trial on the threads
    it was given (its report's ``threads``; a network's report has none: its predict is
    parallel already)."""
    from ..parallel import cores

    seconds, threads = float(result["predict_seconds"]), result.get("threads")
    return seconds * min(1.0, float(threads) / cores()) if threads else seconds


# Where a run's budget publishes its unit deadline, in its results folder.
DEADLINE_FILE = ".deadline.json"

# What the end costs as measured by the last searches in a results folder: its fixed
# costs, and (auto) the final choice's passes per family (``auto/final.py``).
END_COSTS_FILE = ".end-seconds.json"
KEPT_MEASUREMENTS = 5


def learned_fixed_seconds(results_dir: Path) -> float:
    """The end's fixed costs for a new budget: the largest of the last few measured in
    this results folder, with a quarter more, else FIXED_END_SECONDS."""
    seen = learned(results_dir, "fixed_seconds")
    return 1.25 * max(seen) if seen else FIXED_END_SECONDS


def record_fixed_seconds(results_dir: Path, seconds: float) -> None:
    """What a search's end took beyond its export's scoring (MLflow, the leaderboard, the
    summary, Ray's shutdown). A results folder that cannot be written to loses only this.

    ``seconds`` is the end's whole time less what was foreseen for its exports and
    ensemble; where that foresight was larger than the whole end, the rest is not a cost
    of zero but unknown: kept as zero, the next budget in this folder would reserve
    nothing for Ray's shutdown and MLflow's last writes. Such an end is not recorded."""
    if seconds > 0:
        record(results_dir, "fixed_seconds", round(seconds, 2))


def learned(results_dir: Path, key: str, family: str | None = None) -> list[float]:
    """The last few measurements of ``key`` (per ``family`` where given) in this results
    folder's end costs, oldest first; none where nothing readable was recorded."""
    return _measurements(_read_end_costs(results_dir), key, family)


def _measurements(costs: dict, key: str, family: str | None) -> list[float]:
    seen = costs.get(key, [])
    if family is not None:
        seen = seen.get(family, []) if isinstance(seen, dict) else []
    try:
        return [float(v) for v in seen]
    except (TypeError, ValueError):
        return []


def record(results_dir: Path, key: str, value: float, family: str | None = None) -> None:
    """One more measurement of ``key`` (per ``family`` where given), the last few kept."""
    costs = _read_end_costs(results_dir)
    kept = [*_measurements(costs, key, family), value][-KEPT_MEASUREMENTS:]
    if family is None:
        costs[key] = kept
    else:
        costs[key] = {**(costs.get(key) if isinstance(costs.get(key), dict) else {}), family: kept}
    try:
        (Path(results_dir) / END_COSTS_FILE).write_text(json.dumps(costs) + "\n")
    except OSError:
        pass


def _read_end_costs(results_dir: Path) -> dict:
    try:
        costs = json.loads((Path(results_dir) / END_COSTS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return costs if isinstance(costs, dict) else {}
