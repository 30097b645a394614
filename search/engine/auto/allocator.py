"""Where ``auto``'s next minute goes: plain functions over each family's learning curve,
measured in wall-clock seconds, which every family shares.

- A family's curve is its best val accuracy against the seconds spent on it (its own
  clock). Before any result a family is untried, and untried families go first, the
  cheapest first: the probe round.
- The next family is the one whose next unit is expected to buy the most val accuracy a
  second: its recent rise (its slope, below), and no less than the least gain that counts
  over its estimated cost for improvement (ECI, as FLAML's ``AutoML._select_estimator``:
  the longer of the time since its last improvement and the time between its last two).
  Where no family rises this is FLAML's order. ECI alone weighs every improvement the
  same: in the 30-minute run on the real data the svm and the rf, flat at their
  defaults, each got about one cnn epoch of fruitless time (the cnn's ECI was its epoch,
  348 s) while a cnn epoch bought 5-8 points, and auto ended where the hand-made split
  (an eighth to the svm, the rest to the cnn) did. FLAML adds, for a learner that trails
  the leader, twice the time its pace needs to close the gap, except when it builds an
  ensemble; auto's final model may be one, and a network that starts slowly and rises
  (the cnn: 0.39 after its first epochs, against the svm's 0.60 at once) was starved by
  that term on the real data. So it is left out here (``gap_term`` keeps it for who
  wants FLAML's single-model rule); a family that cannot catch up is dropped instead.
  A family whose trials are paused pays its measured restart to be chosen: its rate is
  spread over its unit and the restart.
- A family is dropped when even its optimistic extrapolation, its best plus its recent
  slope times all the time left, stays below the leader by ``margin`` (rising bandits,
  Li et al., AAAI 2020), unless it is the family that rises most (``rising_most``): a
  network behind the leader still serves an ensemble. A dropped family gets no more time;
  its best model still stands for the final choice. Its recent slope spans the last half
  of its own time: on the real data the cnn's third epoch (7 minutes) scored below its
  second, and a slope over the last quarter, shorter than one epoch, read as no rise at
  all and dropped it at minute 48 of 2 hours. So the slope spans at least its last few reports too, and no
  family is dropped before MIN_REPORTS_TO_DROP reports.
- A classical family climbs its rungs (a fraction of train, then all of it) before its
  search is judged: the rise from one rung to the next is fidelity, not progress of its
  search. On the real data the rf rose from 0.36 (1/27 of train) to 0.48 (all of it) and
  that rise, read as its pace, kept it 19 minutes of 2 hours at 0.48 against the svm's
  0.60. So its slope and its count of reports start at its first report on all of train.
  Until that report its rise through the rungs is its rate for the choice of family: the
  climb is what gives the final choice a model of all of train.
  ASHA stops most of its trials at the lower rungs, so its fourth such report can take a
  while: in the next 2-hour run the rf was judged at minute 49, its search had reached
  0.4949 by then, and the final greedy ensemble gave it the largest weight (0.44). A
  family that trails on its own may still serve the ensemble; this rule does not know it.
- A network's slope is also the trend of its epochs (``Curve.trend``): the least-squares
  line through its leading trial's own val accuracy at each epoch over the same window,
  where that rises more than its best-so-far did. Its best-so-far is fooled by one spike:
  in a 2-hour run on the real data the cnn's epoch 15 scored 0.606 above its trend, its
  next seven epochs 0.585-0.601 read as a plateau (0.12 points a minute) and the rf and
  the svm, flat, got 10 minutes for nothing; the trend of epochs 11-22 was 0.22 points a
  minute, over the rf's 0.151. A classical family's reports are different trials: no
  trend of one model there. Before a network has SLOPE_REPORTS epochs, its slope spans all
  its time, from knowing nothing: in a later 2-hour run (stopped at minute 20 for this
  rule) its second epoch scored 0.345,
  under the 0.340 + the noise of its first, and the half of its time that its slope spanned
  (one epoch) read as no rise; the rf, rising 0.37 points a minute, had the next 14
  minutes while the cnn's first epochs (0.34 to 0.49 to 0.55 in the run before) waited.
  A network's recent epochs are read from the epoch before them: the cnn's defaults
  scored 0.340, 0.434, 0.376, 0.222, 0.493 in one 2-hour run and 0.340, 0.438, 0.424,
  0.283, 0.433 in the next (a dip as its rate peaks); over its last four epochs alone
  its best stood still, and the second run dropped it at minute 17, its val at 0.44
  against the svm's 0.60 (the first run's cnn, kept by its fifth epoch, ended at 0.637
  and the run at 0.6698).
- A gain smaller than half the standard error of a val accuracy (``noise_gain``) is no
  improvement: on 2,871 val faces, 0.0047. The svm's fits of seven minutes that moved it
  from 0.5980 to 0.6001 (6 faces) kept its cost for improvement low, and the cnn waited.
- Only families whose next unit of work fits in the time left are candidates.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

# A family is dropped only after this much of its own time: a curve of one or two cheap
# points says little of where it rises to.
MIN_SPENT_TO_DROP = 60.0
DROP_MARGIN = 0.02  # val accuracy
# A gain is an improvement from this many standard errors of a val accuracy up.
NOISE_SHARE = 0.5
# The slope is taken over the last SLOPE_SHARE of a family's own time, and at least this long.
SLOPE_SHARE = 0.5
MIN_SLOPE_WINDOW = 60.0
# The least gain that counts where a curve has no ``min_gain`` (tests' synthetic curves).
LEAST_GAIN = 1e-6
# A family is dropped only after this many reports (a network's epochs, a classical rung's
# fits), and its slope spans at least its last SLOPE_REPORTS.
MIN_REPORTS_TO_DROP = SLOPE_REPORTS = 4
# A network's trend is fitted to at least this many of its leading trial's epochs in the window.
TREND_POINTS = 4
# and to no more than this many of a trial's last epochs (what a curve keeps of each)
KEPT_EPOCHS = 64


@dataclass
class Curve:
    """A family's best val accuracy against its own seconds: (seconds spent, best so far)
    at each improvement, and the seconds spent in all."""

    start: float = 0.0  # the val accuracy of knowing nothing: the majority class's share of val
    improvements: list = field(default_factory=list)
    spent: float = 0.0
    min_gain: float = 0.0  # less is no improvement (``noise_gain``)
    reports: int = 0  # results on all of train with a val accuracy, improving or not
    recent: list = field(default_factory=list)  # the seconds spent at its last SLOPE_REPORTS + 1 of those
    # the seconds spent at its first report on all of train, where reports on a part of it
    # came before (a classical family's lower rungs): its slope is measured from there
    settled_at: float = 0.0
    partial: bool = False  # a report on a part of train came before any on all of it
    # its reports are successive epochs of its trials (a network's): its slope may be their trend
    trend: bool = False
    epochs: dict = field(default_factory=dict)  # trial -> its last epochs' [seconds spent, val] (``trend``)
    lead: str | None = None  # the trial that made its best (``trend``)

    @property
    def best(self) -> float | None:
        return self.improvements[-1][1] if self.improvements else None

    @property
    def tried(self) -> bool:
        return bool(self.improvements)

    def add(self, spent: float, val: float | None, full: bool = True, trial: str | None = None,
            epoch_val: float | None = None) -> bool:
        """A result after ``spent`` seconds of the family's time (``full``: of a model
        fitted on all of train); whether it improved. ``val`` is the best the result's
        trial has reached; ``epoch_val`` its own val, where it differs (a network's epoch,
        for the ``trend`` of ``trial``)."""
        self.spent = max(self.spent, spent)
        if val is None:
            return False
        if self.trend and trial is not None and full:
            own = val if epoch_val is None else epoch_val
            self.epochs[trial] = [*self.epochs.get(trial, []), [self.spent, float(own)]][-KEPT_EPOCHS:]
            # the leading trial's and the latest one's are all a trend is read from
            self.epochs = {t: p for t, p in self.epochs.items() if t in (trial, self.lead)}
        if not full:
            self.partial = self.partial or self.reports == 0
        else:
            if self.reports == 0 and self.partial:
                self.settled_at = self.spent
            self.reports += 1
            self.recent = [*self.recent, self.spent][-(SLOPE_REPORTS + 1):]
        if self.best is not None and val < self.best + max(self.min_gain, 1e-12):
            return False
        self.improvements.append((self.spent, float(val)))
        if self.trend and trial is not None and full:
            self.lead = trial
        return True

    def best_at(self, spent: float) -> float:
        """The best val accuracy after ``spent`` seconds (``start`` before the first)."""
        found = self.start
        for at, val in self.improvements:
            if at <= spent:
                found = val
        return found

    def slope(self) -> float:
        """Val accuracy per second over the family's recent time: the last SLOPE_SHARE of
        its time, or its last SLOPE_REPORTS reports where they span more (a few of a
        network's long epochs), and at least MIN_SLOPE_WINDOW; from ``start`` for a young
        curve; never from before its first report on all of train (``settled_at``). A
        network (``trend``) before SLOPE_REPORTS epochs: from ``start`` over all its time;
        after, the trend of its leading trial's epochs over that window where it is
        steeper (``trend_slope``), and the same read from the epoch before its last
        SLOPE_REPORTS where that is steeper still (one epoch's dip after its best holds its
        best-so-far flat for a few epochs)."""
        if not self.improvements or self.spent <= 0:
            return 0.0
        return max(self.slope_over(reports) for reports in
                   ((SLOPE_REPORTS, SLOPE_REPORTS + 1) if self.trend else (SLOPE_REPORTS,)))

    def slope_over(self, reports: int) -> float:
        """``slope`` with its window spanning at least the last ``reports`` reports."""
        if len(self.recent) >= reports:
            since_reports = self.spent - self.recent[-reports]
        else:  # a young network's epochs are its steepest: its pace is its rise from nothing so far
            since_reports = self.spent if self.trend else 0.0
        window = min(self.spent - self.settled_at, max(MIN_SLOPE_WINDOW, SLOPE_SHARE * self.spent, since_reports))
        if window <= 0:
            return 0.0
        rise = (self.best - self.best_at(self.spent - window)) / window
        return max(0.0, rise, self.trend_slope(window))

    def trend_slope(self, window: float) -> float:
        """Val accuracy per second of the least-squares line through the leading trial's
        epochs of the last ``window`` seconds (0 with fewer than TREND_POINTS of them, or
        for a family without a ``trend``)."""
        points = [(t, v) for t, v in self.epochs.get(self.lead, []) if t >= self.spent - window - 1e-9] \
            if self.trend else []
        if len(points) < TREND_POINTS or len({t for t, _ in points}) < 2:
            return 0.0
        seconds, vals = zip(*points)
        return statistics.linear_regression(seconds, vals).slope


def noise_gain(val_faces: int, share: float = NOISE_SHARE) -> float:
    """The least gain in val accuracy that counts as an improvement: ``share`` of its
    standard error at its widest (an accuracy of one half), and never less than one face."""
    n = max(int(val_faces), 1)
    return max(share * (0.25 / n) ** 0.5, 1 / n)


def eci(curve: Curve, leader_best: float | None, gap_term: bool = False) -> float:
    """FLAML's estimated cost for improvement of a tried family, in seconds (``gap_term``:
    with FLAML's penalty of a family that trails the leader, its single-model rule)."""
    times = [at for at, _ in curve.improvements]
    last, before = times[-1], (times[-2] if len(times) > 1 else 0.0)
    cost = max(last - before, curve.spent - last)
    gap = (leader_best or 0.0) - curve.best
    if gap_term and gap > 0:
        # its rate since its improvement before last (from nothing, for its first: FLAML's too)
        old = curve.improvements[-2][1] if len(curve.improvements) > 1 else 0.0
        speed = (curve.best - old) / max(curve.spent - before, 1e-9)
        cost = max(cost, 2 * gap / speed) if speed > 0 else float("inf")
    return max(cost, 1e-9)


def optimistic(curve: Curve, seconds_left: float) -> float:
    """Where the family could rise to if it had all the time left: its best plus its
    recent slope times that time (rising bandits' upper bound)."""
    return curve.best + curve.slope() * max(seconds_left, 0.0)


def to_drop(curves: dict[str, Curve], seconds_left: float, margin: float = DROP_MARGIN,
            min_spent: float = MIN_SPENT_TO_DROP, min_reports: int = MIN_REPORTS_TO_DROP) -> dict[str, str]:
    """family -> why, for each tried family whose optimistic bound stays below the
    leader's best by ``margin``, except the family that rises most (``rising_most``)."""
    tried = {f: c for f, c in curves.items() if c.tried}
    if len(tried) < 2:
        return {}
    leader = max(tried, key=lambda f: tried[f].best)
    lead = tried[leader].best
    riser = rising_most(tried, lead)
    dropped = {}
    for family, curve in tried.items():
        if family in (leader, riser) or curve.spent < min_spent or curve.reports < min_reports:
            continue
        bound = optimistic(curve, seconds_left)
        if bound < lead - margin:
            dropped[family] = (f"even rising at its recent pace ({curve.slope() * 60:.4f} a minute) for all "
                               f"{seconds_left:.0f} s left it would reach {bound:.4f}, below {leader}'s {lead:.4f} "
                               f"by more than {margin}")
    return dropped


def rising_most(curves: dict[str, Curve], leader_best: float | None) -> str | None:
    """The family whose rise is the most expected gain of all (``gain_rate``), where one
    rises: where the next minutes go. It is not dropped for trailing the leader: the final
    model may be an ensemble, and a network behind the leader serves one. In 30 minutes
    on the real data the cnn, rising a point a minute (0.34, 0.36, 0.36, 0.42, then 0.47
    in 2.5-minute epochs), was dropped at minute 14 for not reaching the svm's 0.598 in
    the 12 minutes left, and the svm and the rf, flat at their defaults, had the rest."""
    rates = {f: gain_rate(c, leader_best) for f, c in curves.items() if c.tried}
    rising = {f: r for f, r in rates.items() if curves[f].slope() > 0 and r > 0}
    return max(rising, key=lambda f: (rising[f], f)) if rising else None


def gain_rate(curve: Curve, leader_best: float | None) -> float:
    """What a tried family's next seconds are expected to buy, in val accuracy a second:
    its recent rise (``Curve.slope``), and no less than the least gain that counts
    (``min_gain``) over its estimated cost for improvement (FLAML's ECI). A family that
    has stopped rising is thus ranked by its ECI, as FLAML ranks every learner; one that
    rises is ranked by how much it rises. ECI alone weighs every improvement the same:
    on the real data it gave the svm and the rf, flat at their defaults, each about one
    cnn epoch of fruitless time, while a cnn epoch bought 5-8 points."""
    least = max(curve.min_gain, LEAST_GAIN) / eci(curve, leader_best)
    return max(curve.slope(), least)


@dataclass
class Choice:
    family: str
    why: str
    estimates: dict  # family -> its expected gain a second (``gain_rate``), the candidates' own


def choose(curves: dict[str, Curve], next_unit: dict[str, float], seconds_left: float,
           restart: dict[str, float] | None = None, current: str | None = None,
           probe_cost: dict[str, float] | None = None) -> Choice | None:
    """The family to give the next minutes to, or None when no family's next unit fits.

    ``curves``: the families still in play (not dropped); ``next_unit``: the seconds each
    one's next unit should take; ``restart``: what switching to a family costs (its paused
    trials' start-up), not paid by ``current``; ``probe_cost``: the prior cost of an
    untried family's first unit, cheapest probed first. Among tried families, the one
    whose next unit is expected to buy the most val accuracy a second (``gain_rate``,
    its unit's share of the unit and the restart where it would restart).
    """
    restart, probe_cost = restart or {}, probe_cost or {}

    def switch(f: str) -> float:
        return 0.0 if f == current else restart.get(f, 0.0)
    fits = {f: c for f, c in curves.items() if next_unit.get(f, 0.0) + switch(f) <= seconds_left}
    if not fits:
        return None
    untried = [f for f, c in fits.items() if not c.tried]
    if untried:
        family = min(untried, key=lambda f: (probe_cost.get(f, 0.0), f))
        return Choice(family, f"probe: its known-good defaults' first unit (about {probe_cost.get(family, 0):.0f} s)", {})
    leader_best = max(c.best for c in curves.values() if c.tried)
    estimates = {}
    for f, c in fits.items():
        unit = max(next_unit.get(f, 0.0), 1e-9)
        estimates[f] = gain_rate(c, leader_best) * unit / (unit + switch(f))
    family = min(estimates, key=lambda f: (-estimates[f], f != current, f))
    others = ", ".join(f"{f} {fmt_rate(v)}" for f, v in sorted(estimates.items(), key=lambda kv: -kv[1]) if f != family)
    why = f"most expected gain: {fmt_rate(estimates[family])}" + (f" (then {others})" if others else "")
    return Choice(family, why, estimates)


def fmt_rate(per_second: float) -> str:
    """Val accuracy a second, as points (hundredths) a minute."""
    return f"{per_second * 6000:.3g} points a minute"
