"""auto's allocator as plain functions over synthetic learning curves: who gets the next
minutes, who is dropped, and that no unit is given past the reserve."""

from __future__ import annotations

import dataclasses
import math

import pytest

from search.engine.auto import allocator
from search.engine.auto.allocator import Curve
from search.engine.budget import Budget


def rising(ceiling: float, pace: float, start: float = 0.25):
    """A concave curve: ``start`` at 0 s, towards ``ceiling`` with time constant ``pace`` (s)."""
    return lambda t: ceiling - (ceiling - start) * math.exp(-t / pace)


def simulate(families: dict, budget: float, unit: dict, reserve: float = 0.0, min_gain: float = 0.002):
    """Run the allocator on a simulated clock: each chosen family runs one unit, its curve
    gains the true curve's value at its own spent time. Returns (seconds per family,
    curves, dropped, the chosen order)."""
    curves = {name: Curve(start=0.25, min_gain=min_gain) for name in families}  # 0.002: one face of 500
    spent = {name: 0.0 for name in families}
    clock, order, dropped = 0.0, [], {}
    while True:
        left = budget - reserve - clock
        in_play = {n: c for n, c in curves.items() if n not in dropped}
        dropped.update(allocator.to_drop(in_play, left))
        in_play = {n: c for n, c in in_play.items() if n not in dropped}
        choice = allocator.choose(in_play, {n: unit[n] for n in in_play}, left, probe_cost=unit)
        if choice is None:
            return spent, curves, dropped, order
        name = choice.family
        assert unit[name] <= left, "a unit was given past the reserve"
        clock += unit[name]
        spent[name] += unit[name]
        result = families[name](spent[name])  # a val, or (val, whether fitted on all of train)
        curves[name].add(spent[name], *(result if isinstance(result, tuple) else (result,)))
        order.append(name)


def spent_until(order: list, i: int, family: str, unit: float) -> float:
    return unit * order[: i + 1].count(family)


def test_probes_go_first_cheapest_first():
    curves = {"cnn": Curve(), "svm": Curve(), "rf": Curve()}
    costs = {"cnn": 120.0, "svm": 5.0, "rf": 3.0}
    assert allocator.choose(curves, costs, 1000, probe_cost=costs).family == "rf"
    curves["rf"].add(3, 0.4)
    assert allocator.choose(curves, costs, 1000, probe_cost=costs).family == "svm"
    curves["svm"].add(5, 0.5)
    choice = allocator.choose(curves, costs, 1000, probe_cost=costs)
    assert choice.family == "cnn" and choice.why.startswith("probe")


def test_eci_is_flamls_for_a_leader_and_a_trailer():
    leader = Curve(start=0.25, improvements=[(10.0, 0.50), (40.0, 0.60)], spent=100.0)
    # the longer of the time between its last two improvements (30 s) and since the last (60 s)
    assert allocator.eci(leader, 0.60) == pytest.approx(60.0)
    trailer = Curve(start=0.25, improvements=[(10.0, 0.40), (20.0, 0.45)], spent=30.0)
    assert allocator.eci(trailer, 0.60) == pytest.approx(10.0)  # trailing costs it nothing (FLAML's ensemble mode)
    # FLAML's single-model rule: it trails by 0.15, rising 0.05 in the 20 s since its
    # improvement before last: 2 * 0.15 / 0.0025 = 120 s
    assert allocator.eci(trailer, 0.60, gap_term=True) == pytest.approx(120.0)


def test_a_slow_starting_network_that_keeps_rising_gets_time_beside_a_plateaued_leader():
    """The real data's case: the svm at 0.60 at once and flat, the cnn 0.39 after its first
    epochs (6 minutes each) and rising by a few points an epoch."""
    families = {"svm": lambda t: 0.60 if t >= 150 else 0.45, "cnn": rising(0.64, 2400)}
    spent, curves, dropped, order = simulate(families, budget=7200, unit={"svm": 150.0, "cnn": 360.0})
    assert spent["cnn"] > 0.75 * sum(spent.values())
    assert curves["cnn"].best > 0.60


def test_a_family_that_plateaus_gets_less_time_than_one_that_keeps_rising():
    families = {"plateau": rising(0.52, 20), "riser": rising(0.66, 600)}
    spent, curves, dropped, order = simulate(families, budget=3600, unit={"plateau": 10.0, "riser": 60.0})
    assert spent["riser"] > 3 * spent["plateau"]
    assert curves["riser"].best > curves["plateau"].best
    # once the riser has passed it, the plateau gets only FLAML's look of a unit now and then,
    # each after a longer wait (its cost for improvement grows), until it is dropped
    passed = next(i for i in range(len(order)) if curves["riser"].best_at(spent_until(order, i, "riser", 60.0)) > 0.52)
    after = order[passed + 1:]
    assert 10.0 * after.count("plateau") < 0.02 * 60.0 * after.count("riser")
    assert "plateau" in dropped


def test_flat_classical_families_leave_the_time_to_a_network_that_rises_by_points():
    """The real data's 30 minutes (`python -m bench --only auto`): the svm and the rf climb
    their rungs to their defaults on all of train (0.5980, 0.4807) and stay there; the
    cnn's epochs of 348 s score 0.39, 0.47, 0.51, 0.55. Under FLAML's ECI alone the cnn
    had its probe epoch and the classical families the rest (its ECI, an epoch, against
    their time since their last improvement); the hand-made split gave the cnn 4 epochs."""
    def classical(unit: float, rungs: tuple, full: float):
        def val(t: float):
            at = int(round(t / unit)) - 1
            return (rungs[at], False) if at < len(rungs) else (full, True)
        return val
    epochs = (0.3908, 0.4695, 0.5100, 0.5514, 0.5700)
    families = {"svm": classical(27.0, (0.45, 0.50, 0.53), 0.5980),
                "rf": classical(30.0, (0.3640, 0.3964, 0.4284), 0.4807),
                "cnn": lambda t: epochs[int(round(t / 348.0)) - 1]}
    units = {"svm": 27.0, "rf": 30.0, "cnn": 348.0}
    spent, curves, dropped, order = simulate(families, budget=1800, unit=units, reserve=300.0,
                                             min_gain=allocator.noise_gain(2871))
    assert spent["cnn"] == 3 * 348.0 and curves["cnn"].best == 0.5100
    # each classical family climbed to its model of all of train, and got little more
    assert curves["svm"].best == 0.5980 and curves["rf"].best == 0.4807
    assert spent["svm"] + spent["rf"] <= 4 * 27.0 + 4 * 30.0 + 348.0 - 1


def test_a_family_that_trails_by_the_margin_is_dropped_and_gets_no_more_time():
    families = {"weak": rising(0.48, 15), "strong": rising(0.62, 40)}
    spent, curves, dropped, order = simulate(families, budget=1800, unit={"weak": 5.0, "strong": 20.0})
    assert "weak" in dropped and "strong" not in dropped
    assert "below strong's" in dropped["weak"]
    last_weak = max(i for i, n in enumerate(order) if n == "weak")
    assert all(n == "strong" for n in order[last_weak + 1:]) and len(order) - last_weak > 10


def test_a_rising_family_is_not_dropped_while_it_may_still_catch_up():
    behind_but_rising = Curve(start=0.25, improvements=[(60.0, 0.40), (120.0, 0.48)], spent=130.0, reports=4)
    leader = Curve(start=0.25, improvements=[(5.0, 0.55)], spent=300.0, reports=10)
    curves = {"net": behind_but_rising, "svm": leader}
    assert allocator.to_drop(curves, seconds_left=3000) == {}
    # with a minute left it cannot reach 0.55 - margin at its pace: dropped where another
    # family rises faster, kept where it rises most (the time left is its anyway)
    faster = Curve(start=0.25, improvements=[(60.0, 0.40), (120.0, 0.52)], spent=130.0, reports=4)
    assert list(allocator.to_drop({**curves, "cnn": faster}, seconds_left=30)) == ["net"]
    assert allocator.to_drop(curves, seconds_left=30) == {}


def test_the_family_that_rises_most_is_not_dropped_for_trailing_the_leader():
    """The real data's 30 minutes: the cnn's 2.5-minute epochs at 0.34, 0.36, 0.36, 0.42
    beside the svm's 0.598 and the rf's 0.481, both flat, 12.5 minutes left. Rising a point
    a minute it could not reach the svm, and was dropped; the flat families had the rest,
    and gained nothing. It rises most: it keeps the time, the rf is dropped."""
    gain = allocator.noise_gain(2871)
    cnn = Curve(start=0.25, min_gain=gain)
    for at, val in ((154.0, 0.3403), (314.0, 0.3643), (460.0, 0.3600), (604.0, 0.4190)):
        cnn.add(at, val)
    svm = Curve(start=0.25, min_gain=gain)
    for at, val, full in ((11.7, 0.4643, False), (24.0, 0.5197, False), (94.2, 0.5984, True), (130.0, 0.5970, True),
                          (160.0, 0.5981, True), (200.0, 0.5950, True), (256.9, 0.5979, True)):
        svm.add(at, val, full)
    rf = Curve(start=0.25, min_gain=gain)
    for at, val, full in ((18.2, 0.3964, False), (39.1, 0.4284, False), (113.4, 0.4807, True), (170.0, 0.4790, True),
                          (230.0, 0.4801, True), (319.1, 0.4780, True)):
        rf.add(at, val, full)
    curves = {"svm": svm, "rf": rf, "cnn": cnn}
    assert cnn.reports == 4 and allocator.optimistic(cnn, 751) < 0.5984 - allocator.DROP_MARGIN
    assert allocator.rising_most(curves, 0.5984) == "cnn"
    assert list(allocator.to_drop(curves, seconds_left=751)) == ["rf"]
    assert allocator.choose({"svm": svm, "cnn": cnn}, {"svm": 30.0, "cnn": 150.0}, 751, current="cnn").family == "cnn"


def test_the_reserve_holds_no_unit_is_given_past_it():
    families = {"a": rising(0.6, 100), "b": rising(0.55, 50)}
    spent, *_ = simulate(families, budget=600, unit={"a": 45.0, "b": 20.0}, reserve=100.0)
    assert sum(spent.values()) <= 500.0


def test_nothing_is_chosen_when_no_unit_fits():
    curves = {"svm": Curve(start=0.25, improvements=[(5.0, 0.5)], spent=5.0)}
    assert allocator.choose(curves, {"svm": 30.0}, seconds_left=29.0) is None
    assert allocator.choose(curves, {"svm": 30.0}, seconds_left=31.0).family == "svm"


def test_a_paused_family_pays_its_restart_unless_it_is_running():
    a = Curve(start=0.25, improvements=[(50.0, 0.50), (100.0, 0.55)], spent=150.0)
    b = Curve(start=0.25, improvements=[(50.0, 0.50), (100.0, 0.55)], spent=150.0)
    curves, units = {"a": a, "b": b}, {"a": 10.0, "b": 10.0}
    assert allocator.choose(curves, units, 1000, restart={"a": 30.0, "b": 30.0}, current="b").family == "b"
    assert allocator.choose(curves, units, 1000, restart={"a": 30.0}, current=None).family == "b"


def test_the_budget_reserves_the_measured_end_and_refuses_late_units():
    budget = Budget(deadline=1000.0, faces={"val": 100, "test": 100}, fixed_seconds=10.0)
    assert budget.unit_deadline() == 990.0
    budget.observe("svm", {"training_iteration": 1, "time_this_iter_s": 4.0, "predict_seconds": 2.0})
    # scoring val and test (2x what val took), a second val pass, saving: 1.5 * 2 * 3 + 2 = 11 s
    assert budget.exports["svm"] == pytest.approx(11.0)
    assert budget.unit_deadline() == pytest.approx(979.0)
    assert budget.first_unit("svm") == 4.0 and budget.first_unit("rf") == 0.0
    assert budget.fits(10.0, now=960.0) and not budget.fits(20.0, now=960.0)
    budget.extra_reserve = lambda b: 30.0
    assert budget.unit_deadline() == pytest.approx(949.0)


def test_the_final_choice_is_reserved_at_the_price_its_own_check_asks():
    """The final loads and scores each family's export on val and test again (a must, at
    the exports' safety), then TTA's nine other views, which it runs only where they fit
    by its own check. The reserve holds both, each family's at what the final choices in
    its results folder measured (``final.FinalCosts``), TTA at that check's price and no
    more: in the 2-hour run the reserve, with TTA at the exports' safety, kept 13.5 minutes
    for an end of 4; with the views priced as 5 plain passes of the trials' predict times,
    it kept 191 s for an end that needed about 260."""
    from types import SimpleNamespace

    from search.engine.auto import final
    from search.engine.auto.driver import Auto
    from search.engine.budget import SAFETY

    budget = Budget(deadline=10_000.0, faces={"val": 100, "test": 100}, fixed_seconds=10.0)
    lanes = {"svm": SimpleNamespace(state="active"), "cnn": SimpleNamespace(state="active")}
    auto = Auto(SimpleNamespace(no_tta=False), "a", None, None, None, budget, lanes)
    budget.observe("svm", {"trial_id": "s", "predict_seconds": 3.0})
    budget.observe("cnn", {"trial_id": "c", "predict_seconds": 5.0})
    scoring = budget.scoring_seconds("svm") + budget.scoring_seconds("cnn")  # val and test once: 16 s
    assert scoring == pytest.approx(16.0) and final.TTA_VIEWS == 10
    plain = final.PASS_PER_SCORING * scoring  # nothing measured yet: the defaults
    reserved = auto.final_reserve(budget)
    views = final.VIEW_PER_PLAIN * 9 * plain  # nine views besides the plain one
    assert reserved == pytest.approx(SAFETY * plain + final.TTA_MARGIN * views)
    # the plain pass takes its measured time: what is left holds the views by the end's own check
    assert reserved - plain >= final.TTA_MARGIN * views
    auto.costs = final.FinalCosts({"svm": 2.0, "cnn": 1.0}, {"svm": 0.5, "cnn": 0.8})  # what this folder measured, a view
    svm, cnn = 2.0 * budget.scoring_seconds("svm"), 1.0 * budget.scoring_seconds("cnn")
    assert auto.final_reserve(budget) == pytest.approx(SAFETY * (svm + cnn) + final.TTA_MARGIN * 9 * (0.5 * svm + 0.8 * cnn))
    auto.args.no_tta = True
    assert auto.final_reserve(budget) == pytest.approx(SAFETY * (svm + cnn))
    lanes["cnn"].state = "failed"  # a family that failed has no export to score
    assert auto.final_reserve(budget) == pytest.approx(SAFETY * svm)


def test_a_network_whose_last_epoch_scored_below_the_one_before_is_not_dropped_for_it():
    """The real data's case: the cnn's epochs of 7-8 minutes at 0.391, 0.470, then 0.456,
    beside the svm's 0.598, with 52 minutes left. Its rise over the last half of its time
    can still close the gap; only a curve that stays flat that long is dropped."""
    epoch = 460.0
    net = Curve(start=0.25, min_gain=1 / 2871)
    for i, val in enumerate((0.3908, 0.4695, 0.4559), start=1):
        net.add(i * epoch, val)
    svm = Curve(start=0.25, improvements=[(60.0, 0.5980)], spent=1500.0, reports=40)
    assert allocator.to_drop({"cnn": net, "svm": svm}, seconds_left=3108) == {}  # three reports: too few to judge
    net.add(4 * epoch, 0.4601)
    assert net.reports == 4 and net.slope() > 0  # the rise from its first epoch still counts
    assert allocator.to_drop({"cnn": net, "svm": svm}, seconds_left=3108) == {}
    for i in range(5, 9):  # flat for four more epochs: half its time without a rise
        net.add(i * epoch, 0.4650)
    assert "cnn" in allocator.to_drop({"cnn": net, "svm": svm}, seconds_left=3108)


def test_a_network_whose_epochs_dip_as_its_rate_peaks_keeps_its_time():
    """The real data's case, a 2-hour auto run on the defaults: the cnn's epochs scored 0.340,
    0.438, 0.424, 0.283 (its rate at its peak), 0.433; over its last four epochs its best
    stood at 0.438 and it was dropped at minute 17 against the svm's 0.598, its slope read as
    nothing. From the epoch before them, it rises a point a minute and keeps the time; the
    run before, whose fifth epoch scored 0.493, ended at 0.6698 with that cnn."""
    noise = allocator.noise_gain(2871)
    svm = Curve(start=0.2515, improvements=[(13.7, 0.4281), (25.3, 0.4643), (42.2, 0.5197), (144.4, 0.5984)],
                spent=144.5, reports=1, recent=[144.4], settled_at=144.4, partial=True, min_gain=noise)
    rf = Curve(start=0.2515, improvements=[(11.0, 0.3640), (22.8, 0.3964), (44.2, 0.4284), (120.7, 0.4807)],
               spent=143.9, reports=1, recent=[120.7], settled_at=120.7, partial=True, min_gain=noise)
    cnn = Curve(start=0.2515, min_gain=noise, trend=True)
    for spent, val in ((157.7, 0.3403), (315.4, 0.4378), (423.5, 0.4242), (570.7, 0.2832), (715.0, 0.4333)):
        cnn.add(spent, val, trial="t1", epoch_val=val)
    assert cnn.best == 0.4378 and cnn.reports == 5
    assert cnn.slope() * 6000 == pytest.approx((0.4378 - 0.3403) / (715.0 - 157.7) * 6000, rel=0.01)  # about a point a minute
    curves = {"svm": svm, "rf": rf, "cnn": cnn}
    assert allocator.to_drop(curves, seconds_left=5921) == {}
    assert allocator.choose(curves, {"svm": 10.0, "rf": 22.0, "cnn": 147.0}, 5921, current="cnn").family == "cnn"
    # read over its last four epochs alone, as the run did: flat, and dropped
    assert cnn.slope_over(allocator.SLOPE_REPORTS) == 0.0
    as_before = dataclasses.replace(cnn, recent=cnn.recent[-4:], trend=False)  # its trend there falls: nothing
    assert as_before.slope() == 0.0 and "cnn" in allocator.to_drop({**curves, "cnn": as_before}, seconds_left=5921)
    # four more epochs with no gain after all: its slope is nothing again
    for i, spent in enumerate((860.0, 1005.0, 1150.0, 1295.0)):
        cnn.add(spent, 0.4378, trial="t1", epoch_val=0.43 - 0.001 * i)
    assert cnn.slope() == 0.0 and "cnn" in allocator.to_drop(curves, seconds_left=5000)


def test_a_gain_within_the_noise_of_val_is_no_improvement():
    """The real data's case: the svm at 0.5980, then fits of minutes that each get one or
    two more of 2,871 val faces right, beside the cnn rising a point or more an epoch. A
    gain of a face kept the svm's cost for improvement low and the cnn waited; a gain
    within half a standard error of val accuracy is no improvement, and the cnn gets the
    time."""
    assert allocator.noise_gain(2871) == pytest.approx(0.5 * (0.25 / 2871) ** 0.5)  # 0.0047
    assert allocator.noise_gain(4) == 0.25  # never less than one face
    curve = Curve(start=0.25, min_gain=allocator.noise_gain(2871))
    assert curve.add(300.0, 0.5980) and not curve.add(700.0, 0.6001) and curve.best == 0.5980
    assert allocator.eci(curve, 0.5980) == pytest.approx(400.0)  # since its last improvement

    def svm(t):  # 0.598 after 5 minutes, then one more face every 100 s of fits
        return 0.45 if t < 300 else 0.5980 + (t - 300) // 100 / 2871
    families = {"svm": svm, "cnn": rising(0.64, 2400)}
    units = {"svm": 100.0, "cnn": 360.0}
    by_noise, curves, *_ = simulate(families, budget=7200, unit=units, min_gain=allocator.noise_gain(2871))
    assert by_noise["cnn"] > 0.85 * 7200 and curves["svm"].best == 0.5980
    # counted as improvements, the faces are still weighed by their size (``gain_rate``):
    # under FLAML's ECI alone they kept the cnn to its probe epoch
    by_face, *_ = simulate(families, budget=7200, unit=units, min_gain=1 / 2871)
    assert by_face["cnn"] > 0.85 * 7200


def test_a_classical_familys_rise_through_its_rungs_is_not_read_as_its_pace():
    """The real data's case: the rf at 0.36, 0.40, 0.43 on 1/27, 1/9 and 1/3 of train, 0.48
    on all of it, then flat, beside the svm's 0.598 with 74 minutes left. Its rise through
    the rungs is fidelity; read as its pace it kept the rf 19 minutes."""
    rungs = [(10.0, 0.3640), (35.0, 0.3964), (88.0, 0.4284)]
    full = [(350.0, 0.4807), (420.0, 0.4790), (480.0, 0.4801), (554.0, 0.4817)]
    svm = Curve(start=0.25, improvements=[(337.0, 0.5980)], spent=900.0, reports=40)

    def rf(flags: bool) -> Curve:
        curve = Curve(start=0.25, min_gain=allocator.noise_gain(2871))
        for at, val in rungs:
            curve.add(at, val, full=not flags)
        for i, (at, val) in enumerate(full):
            curve.add(at, val)
            if flags:
                curve.add(at + 5.0, 0.35, full=False)  # a new trial's first rung
        return curve
    as_pace, as_fidelity = rf(False), rf(True)
    assert as_fidelity.settled_at == 350.0 and as_fidelity.reports == 4  # its reports on all of train
    assert as_pace.slope() > 0 and as_fidelity.slope() == 0.0
    assert allocator.to_drop({"rf": as_pace, "svm": svm}, seconds_left=4440) == {}
    assert "rf" in allocator.to_drop({"rf": as_fidelity, "svm": svm}, seconds_left=4440)
    # before its fourth report on all of train it is not judged
    young = rf(True)
    young.reports, young.recent = 3, young.recent[-3:]
    assert allocator.to_drop({"rf": young, "svm": svm}, seconds_left=4440) == {}


# The 2-hour run's cnn on the real data (one trial): its own seconds and val at each of its
# first 23 epochs. Epoch 15 scored 0.606, above its trend; epochs 16-22 0.585-0.601.
CNN_EPOCHS = list(zip(
    (138, 266, 391, 536, 668, 784, 897, 1005, 1152, 1267, 1387, 1531, 1676, 1785, 1895, 2040, 2148, 2267, 2378, 2523,
     2667, 2769, 2878),
    (.3403, .3229, .3438, .4925, .5312, .4765, .5514, .4932, .5385, .5792, .5563, .5841, .5249, .5413, .6061, .5852,
     .5946, .5869, .5974, .5960, .5974, .6008, .6050)))


def network_curve(epochs, trend: bool = True, trial: str = "t1", curve: Curve | None = None) -> Curve:
    """A network's curve fed as a lane feeds it: each epoch's report carries its trial's
    best so far and its own val."""
    curve = curve or Curve(start=0.25, min_gain=allocator.noise_gain(2871), trend=trend)
    best = max((v for t, v in curve.epochs.get(trial, [])), default=0.0)
    for at, val in epochs:
        best = max(best, val)
        curve.add(at, best, trial=trial, epoch_val=val)
    return curve


def test_a_networks_pace_is_the_trend_of_its_epochs_not_its_best_after_one_spike():
    """The real data's case: after the cnn's epoch 22 its best-so-far (the spike of epoch 15)
    rose 0.12 points a minute over the last half of its time, under the rf's 0.151 (its
    cost for improvement), and the rf and the svm, flat, got 10 minutes for nothing. The
    least-squares trend of its epochs over the same half, 0.22 points a minute, keeps the
    time on the cnn."""
    # flat since its climb, its last improvement 185 s of its time ago: its ECI's rate
    rf = Curve(start=0.25, improvements=[(10.0, 0.4807)], spent=195.0, reports=5, min_gain=allocator.noise_gain(2871))
    rf_rate = allocator.gain_rate(rf, 0.6061)
    assert 0.1 < rf_rate * 6000 < 0.2
    by_best, by_trend = network_curve(CNN_EPOCHS[:22], trend=False), network_curve(CNN_EPOCHS[:22])
    assert by_best.best == by_trend.best == 0.6061
    assert by_best.slope() * 6000 == pytest.approx(0.117, abs=0.005)
    assert by_trend.slope() * 6000 == pytest.approx(0.222, abs=0.005)
    units = {"cnn": 120.0, "rf": 165.0}
    assert allocator.choose({"cnn": by_best, "rf": rf}, units, 4000, current="cnn").family == "rf"
    assert allocator.choose({"cnn": by_trend, "rf": rf}, units, 4000, current="cnn").family == "cnn"
    # where its best-so-far rises more than its trend (a young network's first epochs), that counts
    young = network_curve(CNN_EPOCHS[:5])
    assert young.slope() >= network_curve(CNN_EPOCHS[:5], trend=False).slope() > 0


def test_a_young_networks_pace_is_its_rise_from_nothing_until_it_has_a_few_epochs():
    """The real data's case: the cnn's first two epochs scored 0.3403 then 0.3448 (no gain
    beyond the noise of val), 270 s of its time, beside the rf rising 0.37 points a minute.
    Over the last half of its time (one epoch) it read as flat and the rf had the next 14
    minutes; its rise from knowing nothing (0.25) over all its time is 2 points a minute."""
    rf = Curve(start=0.25, improvements=[(104.0, 0.4807), (432.0, 0.4939), (545.0, 0.5089)], spent=676.0, reports=5,
               recent=[183.0, 432.0, 545.0, 637.0], settled_at=104.0, partial=True, min_gain=allocator.noise_gain(2871))
    young = [(114.2, 0.3403), (269.6, 0.3448)]
    as_network, as_flat = network_curve(young), network_curve(young, trend=False)
    assert as_flat.slope() == 0.0
    assert as_network.slope() * 6000 == pytest.approx((0.3403 - 0.25) / 269.6 * 6000, rel=1e-6)
    units = {"cnn": 130.0, "rf": 60.0}
    assert allocator.choose({"cnn": as_flat, "rf": rf}, units, 6000, current="rf").family == "rf"
    assert allocator.choose({"cnn": as_network, "rf": rf}, units, 6000, current="rf").family == "cnn"
    # from its fourth epoch on, its slope is its recent one again
    grown = network_curve(young + [(400.0, 0.3450), (530.0, 0.3452)])
    assert grown.slope() < as_network.slope()


def test_a_networks_trend_falls_to_nothing_when_its_epochs_fall():
    """A network that overfits, its epochs falling, has no trend to lend it time: its slope
    is that of its best, which stays put."""
    falling = [(2769 + 110 * i, 0.6008 - 0.004 * i) for i in range(1, 9)]
    curve = network_curve(CNN_EPOCHS[:22] + falling)
    assert curve.trend_slope(0.5 * curve.spent) < 0
    assert curve.slope() == network_curve(CNN_EPOCHS[:22] + falling, trend=False).slope()


def test_a_networks_trend_is_read_from_its_leading_trial_not_a_new_one_rising_from_nothing():
    """A second trial of the family (a new configuration) rises steeply through its first
    epochs from 0.3: its rise is not the family's, whose best stays the first trial's."""
    curve = network_curve(CNN_EPOCHS[:22])
    end = CNN_EPOCHS[21][0]
    network_curve([(end + 100 * i, 0.30 + 0.05 * i) for i in range(1, 6)], trial="t2", curve=curve)  # 3 points a minute
    assert curve.lead == "t1" and curve.best == 0.6061 and set(curve.epochs) == {"t1", "t2"}
    first_alone = dataclasses.replace(curve, epochs={"t1": curve.epochs["t1"]})
    assert curve.slope() == first_alone.slope() and curve.slope() * 6000 < 0.5
    # a classical family's reports are different trials: no trend is read from them
    svm = Curve(start=0.25)
    for i, val in enumerate((0.50, 0.52, 0.55, 0.58, 0.59), start=1):
        svm.add(60.0 * i, val, trial=f"t{i}", epoch_val=val)
    assert svm.epochs == {} and svm.trend_slope(300.0) == 0.0


def test_a_lane_tells_a_classical_rung_from_a_fit_on_all_of_train():
    from search.engine.auto.lanes import Lane

    rf = Lane(family=None, args=None, curve=Curve(start=0.25))
    rf.observe("t1", {"val_accuracy": 0.36, "train_fraction": 1 / 27, "next_unit_seconds": 9.0}, spent=10.0)
    assert rf.curve.partial and rf.curve.reports == 0 and rf.units == {"t1": 9.0}
    rf.observe("t1", {"val_accuracy": 0.48, "train_fraction": 1.0}, spent=100.0)
    assert rf.curve.reports == 1 and rf.curve.settled_at == 100.0 and rf.curve.best == 0.48
    cnn = Lane(family=None, args=None, curve=Curve(start=0.25))  # an epoch's report has no train_fraction
    cnn.observe("t2", {"val_accuracy": 0.39, "best_val_accuracy": 0.39}, spent=400.0)
    assert cnn.curve.reports == 1 and not cnn.curve.partial and cnn.curve.settled_at == 0.0
    # a network's lane (``trend``) keeps each epoch's own val for the trend, its best for the curve
    net = Lane(family=None, args=None, curve=Curve(start=0.25, trend=True))
    net.observe("t3", {"val_accuracy": 0.45, "best_val_accuracy": 0.45}, spent=120.0)
    net.observe("t3", {"val_accuracy": 0.41, "best_val_accuracy": 0.45}, spent=240.0)
    assert net.curve.epochs == {"t3": [[120.0, 0.45], [240.0, 0.41]]} and net.curve.best == 0.45 and net.curve.lead == "t3"


@pytest.mark.parametrize("minutes, named, kept", [
    (15, False, ["svm", "rf"]),  # the cnn's first epoch (~6 min here) is over a third of 15 minutes
    (30, False, ["svm", "rf", "cnn"]),
    (15, True, ["svm", "rf", "cnn"]),  # named in --families: the user's choice
])
def test_a_family_whose_probe_is_over_a_third_of_the_budget_is_left_out_unless_named(minutes, named, kept):
    import time

    from search import registry
    from search.engine.auto import driver

    families = [registry.get(name) for name in ("svm", "rf", "cnn")]
    budget = Budget(deadline=time.time() + minutes * 60, faces={"val": 2871, "test": 3589})
    said = []
    got = driver.affordable(families, budget, time.time(), 25838, 2871 + 3589, cpus=2, gpus=0, say=said.append, named=named)
    assert [f.name for f in got] == kept
    assert any("cnn left out: its first epoch" in line and "over a third" in line for line in said) == (len(kept) == 2)


def test_where_two_lanes_run_at_once_their_probes_are_counted_side_by_side_not_one_after_another():
    """On a GPU machine the cnn's first epoch runs beside the svm's and the rf's first fits:
    a budget that holds the longer lane's probes and every end keeps all three families;
    counted one after another, the same budget leaves the dearest out."""
    import time

    from search import registry
    from search.engine import priors
    from search.engine.auto import driver

    families = [registry.get(name) for name in ("svm", "rf", "cnn")]
    n_train, n_scored = 25838, 2871 + 3589
    probe = {f.name: priors.probe_seconds(f.name, n_train, 1, 1 if f.is_network else 0) for f in families}
    ends = sum(priors.end_seconds(f.name, n_scored) * (1 + driver.FINAL_PER_EXPORT) for f in families)
    side_by_side = max(probe["cnn"], probe["svm"] + probe["rf"]) + ends
    serial = sum(probe.values()) + ends
    assert side_by_side < serial
    tracks, cap = driver.lane_split(families, cpus=4, gpus=1, gpus_per_trial=None)
    assert tracks == [["cnn"], ["svm", "rf"]] and cap == 3.0

    def kept(lanes):
        now = time.time()
        budget = Budget(deadline=now + priors.STARTUP_SECONDS + (side_by_side + serial) / 2, faces={"val": 2871, "test": 3589},
                        fixed_seconds=0.0)
        said = []
        got = driver.affordable(families, budget, now, n_train, n_scored, cpus=4, gpus=1, say=said.append, named=True,
                                tracks=lanes)
        return [f.name for f in got], said
    assert kept(tracks)[0] == ["svm", "rf", "cnn"]
    names, said = kept(None)  # one lane: the probes one after another
    dearest = max(probe, key=probe.get)
    assert dearest not in names and len(names) == 2
    assert any(line.startswith(f"auto: {dearest} left out: its probe") for line in said)


def test_a_resumed_run_keeps_what_a_family_exported_before_and_only_its_own(tmp_path):
    """A family whose slices a resumed run never came back to still has its earlier export
    in the final choice, if this run's search of it wrote that export."""
    from types import SimpleNamespace

    from search import registry
    from search.engine.auto import driver
    from search.engine.auto.lanes import Lane
    from search.stores import models

    svm = registry.get("svm")
    path = tmp_path / "svm_best.skops"
    lane = Lane(svm, SimpleNamespace(name="r-svm"), search=SimpleNamespace(args=SimpleNamespace(models_dir=str(tmp_path))))
    said = []
    assert driver.earlier_export(lane, said.append) is None  # nothing exported
    models.write_card(path, {"search": "another-svm"})
    assert driver.earlier_export(lane, said.append) is None  # another search's model
    models.write_card(path, {"search": "r-svm"})
    assert driver.earlier_export(lane, said.append) == (path, {"search": "r-svm"})
    models.card_path(path).write_text("{half a card")
    assert driver.earlier_export(lane, said.append) is None and "svm's earlier export left out" in said[-1]


def test_a_family_with_no_running_trial_asks_the_time_a_new_trial_needs_to_be_of_use():
    """auto gives the next minutes only to a family whose next work fits: a running (or
    paused) trial's next unit, else a new trial's time to come near its family's best."""
    from types import SimpleNamespace

    from search.engine.auto.lanes import Lane

    budget = Budget(deadline=10_000.0, faces={"val": 100, "test": 100})
    for epoch, (total, val) in enumerate([(400.0, 0.40), (800.0, 0.55), (1200.0, 0.60)], 1):
        budget.observe("cnn", {"trial_id": "a", "training_iteration": epoch, "time_this_iter_s": 400.0,
                               "time_total_s": total, "epoch": epoch, "unit_seconds": 400.0, "val_accuracy": val})
    lane = Lane(SimpleNamespace(name="cnn", is_network=True), args=None)
    lane.units = {"a": 400.0}
    assert lane.next_work(budget) == 400.0  # its trial's next epoch
    lane.ended("a")  # the trial reached its cosine's last epoch
    assert lane.next_work(budget) == 1200.0 and lane.next_unit(budget) == 400.0
    curves = {"cnn": Curve(start=0.25, improvements=[(1200.0, 0.60)], spent=1200.0)}
    assert allocator.choose(curves, {"cnn": lane.next_work(budget)}, seconds_left=900.0) is None
