"""``auto``'s loop: one clock, the families' searches in time slices, one decision at a time.

Prepare (the families, the data, the budget checked against what the probes and the end
will cost here), then slices: the allocator (``allocator.py``) names the family that gets
the next minutes, its search runs (built the first time, restored after) until the next
decision gives the time to another family, whose trials then pause at their unit ends.
Every decision is printed and kept with its reason (``auto.json`` in the run's folder).
When no family's next unit fits before the deadline less the reserve, each family's
search is concluded (its best exported), and the final choice is made (``final.py``).
"""

from __future__ import annotations

import threading
import time

from ray.tune import Callback
from ray.tune.experiment import Trial

from ... import stopping
from . import allocator
from .lanes import ACTIVE, DONE, DROPPED, FAILED

# A decision holds for at least this long (a unit in progress always finishes); a long
# budget is decided in steps of a sixtieth of it, at most this often.
MIN_SLICE_SECONDS = 60.0
MAX_SLICE_SECONDS = 600.0


def slice_seconds(budget_seconds: float) -> float:
    return min(MAX_SLICE_SECONDS, max(MIN_SLICE_SECONDS, budget_seconds / 60))


class Slices:
    """The allocator's side of the run: the lanes, the clock, the decisions."""

    def __init__(self, lanes: dict, budget, budget_seconds: float, probe_cost: dict, say, log_decision,
                 track: list | None = None):
        self.lanes, self.budget, self.say = lanes, budget, say
        # the families these slices choose among (auto's two lanes: the networks, or the
        # classical families)
        self.track = list(lanes) if track is None else list(track)
        self.step = slice_seconds(budget_seconds)
        self.probe_cost = probe_cost
        self.log_decision = log_decision  # (elapsed, left, family, unit, val, why) -> None
        self.current = None  # the lane whose slice runs
        self.slice_started = self.slice_end = 0.0
        self.spent_before = 0.0
        self.first_result = True
        self.pausing = False
        self.pause_sent = False
        self.probing = False
        # the slice's time is up while a unit runs: the next decision waits for that unit's
        # report, which it is owed (the unit finishes before any pause in any case)
        self.due = False
        self.next_choice = None

    # -- the allocator's questions
    def seconds_left(self) -> float:
        limit = self.budget.unit_deadline()
        return float("inf") if limit is None else limit - time.time()

    def decide(self) -> allocator.Choice | None:
        """Drop the families that cannot catch up, then choose among the rest."""
        left = self.seconds_left()
        # a family trails within its lane: another lane's time is not this one's to give
        in_play = {name: self.lanes[name].curve for name in self.track if self.lanes[name].playing}
        for name, why in allocator.to_drop(in_play, left).items():
            lane = self.lanes[name]
            lane.state, lane.why = DROPPED, why
            self.log_decision(name, "dropped", lane.curve.best, why)
            in_play.pop(name)
        current = self.current.name if self.current is not None else None
        next_unit = {name: self.lanes[name].next_work(self.budget) or self.probe_cost.get(name, 0.0) for name in in_play}
        restart = {name: self.lanes[name].restart_seconds for name in in_play if self.lanes[name].paused}
        return allocator.choose(in_play, next_unit, left, restart, current, self.probe_cost)

    # -- a slice
    def start(self, lane, choice: allocator.Choice) -> None:
        self.current, self.next_choice = lane, None
        self.pausing = self.pause_sent = self.due = False
        self.first_result = True
        self.slice_started = time.time()
        self.spent_before = lane.curve.spent
        # a probe ends with the family's first result; any other slice after `step` seconds
        self.probing = not lane.curve.tried
        self.slice_end = self.slice_started + self.step
        lane.state = ACTIVE
        self.log_decision(lane.name, lane.unit_text(self.budget, self.probe_cost.get(lane.name, 0.0)), lane.curve.best,
                          choice.why)

    def end(self, lane) -> None:
        lane.curve.spent = self.spent_before + (time.time() - self.slice_started)
        lane.paused = self.pause_sent
        if not self.pause_sent and not stopping.CURRENT.received and lane.state == ACTIVE:
            lane.state = DONE  # its search ended on its own: nothing more of it fits in the budget
            lane.why = "no unit of it fits in the time left"
        self.current = None

    def spent_now(self) -> float:
        return self.spent_before + (time.time() - self.slice_started)

    # -- what Ray Tune streams back (SliceWatch)
    def on_result(self, trial_id: str, result: dict) -> None:
        lane = self.current
        if lane is None:
            return
        if self.first_result:  # a restored trial's first report holds its start-up: the switch's cost
            self.first_result = False
            lane.restart_seconds = max(0.0, time.time() - self.slice_started - float(result.get("unit_seconds") or 0.0))
        lane.observe(trial_id, result, self.spent_now())
        if (self.probing or self.due) and not self.pausing:  # the probe's result, or the slice is up: decide now
            self.probing = False
            self.reconsider()

    def on_step(self, trials: list) -> None:
        if self.current is None:
            return
        if self.pausing:
            if not self.pause_sent and not any(t.status == Trial.RUNNING for t in trials):
                self.pause_sent = True  # every trial is at a unit's end: the slice ends here
                stopping.end_fit()
            return
        if not self.probing and time.time() >= self.slice_end:
            # Decided at the report of the unit in progress, not before: a decision taken when
            # the time was up, in the middle of a cnn epoch, missed that epoch's result (on the
            # real data its fourth, 0.34 to 0.49, and the flat svm got the next slice). With
            # no unit in progress there is nothing to wait for.
            self.due = True
            if not any(t.status == Trial.RUNNING for t in trials):
                self.reconsider()

    def reconsider(self) -> None:
        self.due = False
        lane = self.current
        choice = self.decide()
        if choice is not None and choice.family == lane.name and lane.playing:
            self.slice_end = time.time() + self.step
            self.log_decision(lane.name, "continues: " + lane.unit_text(self.budget), lane.curve.best, choice.why)
            return
        self.pausing, self.next_choice = True, choice


class PauseRule:
    """What a family's scheduler and searcher ask while its slice runs (``deadline.UnitGate``):
    whether to pause now, after telling the slices of each report first."""

    def __init__(self, slices: Slices):
        self.slices = slices

    def now(self) -> bool:
        return self.slices.pausing

    def observe(self, trial_id: str, result: dict) -> None:
        self.slices.on_result(trial_id, result)


class SliceWatch(Callback):
    """Ends a family's slice once its trials are paused, and keeps count of the trials
    that ended. Ray Tune pickles callbacks with its Tuner: this one is the process's own
    and is set again at every restore."""

    def __init__(self, slices: Slices, lane):
        self.slices, self.lane = slices, lane

    def __getstate__(self):
        return {"slices": None, "lane": None}

    def on_trial_complete(self, iteration, trials, trial, **info):
        if self.lane is not None:
            self.lane.ended(trial.trial_id)

    def on_trial_error(self, iteration, trials, trial, **info):
        if self.lane is not None:
            self.lane.ended(trial.trial_id)

    def on_step_end(self, iteration, trials, **info):
        if self.slices is not None:
            self.slices.on_step(trials)


def loop(slices: Slices) -> None:
    """Slices until no family's next unit fits, or a person stops the run."""
    choice = slices.decide()
    while choice is not None and not stopping.CURRENT.received:
        lane = slices.lanes[choice.family]
        lane.search.pause = PauseRule(slices)
        lane.search.watchers = [SliceWatch(slices, lane)]
        slices.start(lane, choice)
        try:
            lane.run_slice()
        except Exception as e:  # a family that cannot run (its search fails to start) leaves the others theirs
            lane.state, lane.why = FAILED, f"{type(e).__name__}: {e}"
            slices.log_decision(lane.name, "failed", lane.curve.best, lane.why)
        finally:
            slices.end(lane)
        if stopping.CURRENT.received:
            return
        choice = slices.next_choice if slices.pause_sent else slices.decide()


def loop_in_lanes(lanes: list[Slices]) -> None:
    """Each lane's slices at once, on one clock: the first lane's in this thread, the
    others' each in a thread of its own (Ray Tune runs a fit in any thread, and
    ``internals.fits_in_threads`` lets a slice end there). A person's stop ends
    every lane's fit (``stopping.StopSignals``); this returns when every lane has ended."""
    if len(lanes) == 1:
        loop(lanes[0])
        return
    from ... import internals

    internals.fits_in_threads()
    failed = []

    def side(slices: Slices) -> None:
        try:
            loop(slices)
        except BaseException as e:  # raised here, in the main thread, once every lane has ended
            failed.append(e)
    threads = [threading.Thread(target=side, args=(s,), name=f"auto-{'+'.join(s.track)}", daemon=True) for s in lanes[1:]]
    for thread in threads:
        thread.start()
    try:
        loop(lanes[0])
    finally:
        for thread in threads:  # a person's stop reaches their fits too; a second signal stops at once
            thread.join()
    if failed:
        raise failed[0]
