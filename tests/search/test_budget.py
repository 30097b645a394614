"""A time budget, unit by unit, as plain functions and the scheduler that applies them: the
cases where AutoGluon, FLAML and auto-sklearn overrun their limits (a fit started near
the deadline, a refit after it, an epoch that runs past it)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from search.engine.budget import FIXED_END_SECONDS, Budget, learned_fixed_seconds, record_fixed_seconds
from trainables import units


def test_a_fit_grows_as_its_rungs_measured_it_at_least_as_its_family_does():
    # the svm defaults on the real FER2013: 3.9 s on 2,871 faces, 15.4 s on 8,613 (x3.9: exponent 1.24)
    assert units.growth_exponent([2871, 8613], [3.95, 15.43], default=1.0) == pytest.approx(1.24, abs=0.01)
    assert units.growth_exponent([2871, 8613], [3.95, 15.43], default=1.5) == 1.5  # never below the family's
    assert units.growth_exponent([957], [1.6], default=1.5) == 1.5  # one fit says nothing of growth
    assert units.growth_exponent([957, 2871], [0.1, 0.2], default=1.2) == 1.2  # too short to tell
    predicted = units.next_rung_seconds([2871, 8613], [3.95, 15.43], 25838, 1.5)
    assert predicted == pytest.approx(15.43 * (25838 / 8613) ** 1.5)  # measured: 74 s
    assert units.next_rung_seconds([8613], [15.0], None) == 0.0  # the last rung: nothing next


def test_the_cosine_ends_on_the_last_epoch_the_deadline_allows():
    now = 1000.0
    assert units.cosine_horizon(0, 30, None, None, now) == 30
    assert units.cosine_horizon(0, 30, now + 3600, None, now) == 30  # nothing measured yet
    assert units.cosine_horizon(5, 30, now + 1000, 100.0, now) == 15  # 10 more epochs fit
    assert units.cosine_horizon(5, 30, now + 10_000, 100.0, now) == 30
    assert units.cosine_horizon(5, 30, now + 50, 100.0, now) == 6  # at least the epoch in hand


def test_the_cosine_horizon_holds_steady_when_epochs_alternate_in_length():
    now, deadline, state = 0.0, 3600.0, {"epoch": 0}
    assert units.typical_epoch_seconds(state) is None
    horizons = []
    for epoch, seconds in enumerate([122, 145] * 6):  # as the real run's epochs alternated
        state = units.with_epoch_seconds(state, seconds)
        now += seconds
        horizons.append(units.cosine_horizon(epoch + 1, 100, deadline, units.typical_epoch_seconds(state), now))
    assert len(state["recent_unit_seconds"]) == units.RECENT_EPOCHS
    # read from the last epoch alone it flips by 3-4 epochs each time; from the recent mean, by at most one
    assert all(abs(b - a) <= 1 for a, b in zip(horizons[units.RECENT_EPOCHS:], horizons[units.RECENT_EPOCHS + 1:])), horizons
    flipping = [units.cosine_horizon(6, 100, deadline, s, 6 * 133.5) for s in (122, 145)]
    assert flipping[0] - flipping[1] >= 3
    assert units.typical_epoch_seconds({"epoch": 3, "unit_seconds": 80.0}) == 80.0  # a checkpoint from before


class Inner:
    """A scheduler that lets every trial continue (as ASHA does for the best)."""

    def on_trial_result(self, controller, trial, result):
        return "CONTINUE"

    def on_trial_error(self, controller, trial):
        pass


class Trial:
    trial_id = "t1"


def gate(deadline_in: float, pause=None):
    from search.engine.deadline import UnitGate

    budget = Budget(deadline=time.time() + deadline_in, faces={"val": 100, "test": 100}, fixed_seconds=10.0)
    return UnitGate(Inner(), budget, "svm", pause), budget


def test_a_unit_that_would_end_past_the_deadline_less_the_reserve_does_not_start():
    g, budget = gate(deadline_in=100)
    report = {"training_iteration": 2, "next_unit_seconds": 50.0, "predict_seconds": 1.0, "trial_id": "t1", "val_accuracy": 0.5}
    assert g.on_trial_result(None, Trial(), report) == "CONTINUE"  # 55 s of work, 100 s left, a 10 + 8 s reserve
    assert g.on_trial_result(None, Trial(), {**report, "next_unit_seconds": 80.0}) == "STOP"
    # a bigger model to export at the end leaves less room (a GB: 45 s of its bytes)
    assert g.on_trial_result(None, Trial(), {**report, "model_mb": 1000.0}) == "STOP"
    assert budget.exports["svm"] > 40
    assert g.on_trial_result(None, Trial(), {**report, "next_unit_seconds": 0.0}) == "CONTINUE"  # its last: it ends


class Rule:
    """auto's pause rule: it decides to pause when told of a report with ``decide_at``."""

    def __init__(self, decide_at: int):
        self.decide_at, self.pausing, self.seen = decide_at, False, []

    def now(self):
        return self.pausing

    def observe(self, trial_id, result):
        self.seen.append(result["training_iteration"])
        self.pausing = self.pausing or result["training_iteration"] >= self.decide_at


def test_auto_pauses_a_trial_at_the_very_report_it_decides_on_and_starts_none_while_it_does():
    rule = Rule(decide_at=2)
    g, _ = gate(deadline_in=1000, pause=rule)
    assert g.on_trial_result(None, Trial(), {"training_iteration": 1, "next_unit_seconds": 5.0}) == "CONTINUE"
    # the decision made on the second report pauses the trial there, not a unit later
    assert g.on_trial_result(None, Trial(), {"training_iteration": 2, "next_unit_seconds": 5.0}) == "PAUSE"
    assert rule.seen == [1, 2]
    assert g.choose_trial_to_run(None) is None
    import pickle

    assert pickle.loads(pickle.dumps(g)).pause is None  # the pause rule stays in the process that set it


def test_a_budget_learns_the_first_unit_of_a_family_and_the_end_it_must_keep():
    budget = Budget(deadline=time.time() + 50, faces={"val": 50, "test": 50}, fixed_seconds=5.0)
    assert budget.first_unit("cnn") == 0.0  # unknown: the first trial is how it is learned
    for seconds in (40.0, 44.0, 60.0):
        budget.observe("cnn", {"training_iteration": 1, "time_this_iter_s": seconds})
    assert budget.first_unit("cnn") == 44.0
    assert not budget.fits(budget.first_unit("cnn"))  # 44 s and a tenth more, 45 s before the reserve
    assert budget.fits(38.0)
    budget.observe("cnn", {"training_iteration": 3, "predict_seconds": 2.0, "trial_id": "a"})
    budget.observe("cnn", {"training_iteration": 4, "predict_seconds": 1.0, "trial_id": "a"})  # its latest counts
    assert budget.scoring_seconds("cnn") == pytest.approx(2.0)


def test_a_new_networks_first_epoch_costs_no_less_than_its_familys_latest_epoch():
    # the 2-hour auto run on the real data: the probe's first cnn epoch 409 s, the trial's
    # later epochs 537, 571, ... 463 s as the machine slowed; a new trial priced by the probe
    # started with 8 minutes left and its first epoch took 13 min 30 s
    budget = Budget(deadline=time.time() + 500 + FIXED_END_SECONDS, faces={"val": 50, "test": 50})
    budget.observe("cnn", {"training_iteration": 1, "time_this_iter_s": 409.0, "epoch": 1, "unit_seconds": 399.0})
    assert budget.first_unit("cnn") == 409.0  # the first epoch's start-up counts
    for iteration, seconds in ((2, 537.0), (3, 571.0), (8, 463.0)):
        budget.observe("cnn", {"training_iteration": iteration, "time_this_iter_s": seconds, "epoch": iteration,
                               "unit_seconds": seconds})
    assert budget.first_unit("cnn") == 463.0  # the latest epoch: the machine's pace now
    assert budget.fits(409.0) and not budget.fits(budget.first_unit("cnn"))
    # a classical trial's later units fit more of train than its first: they say nothing of a new first
    budget.observe("svm", {"training_iteration": 1, "time_this_iter_s": 4.0, "unit_seconds": 3.5})
    budget.observe("svm", {"training_iteration": 4, "time_this_iter_s": 80.0, "unit_seconds": 80.0})
    assert budget.first_unit("svm") == 4.0


def test_only_a_model_that_can_still_be_exported_holds_part_of_the_reserve():
    budget = Budget(deadline=time.time() + 600, faces={"val": 100, "test": 100})
    for trial, val, predict in (("a", 0.5, 10.0), ("b", 0.4, 30.0), ("c", 0.3, 20.0)):
        budget.observe("rf", {"trial_id": trial, "val_accuracy": val, "predict_seconds": predict})
    assert budget.scoring_seconds("rf") == pytest.approx(2 * 30.0)  # b's, the costliest, while it may still win
    budget.ended("rf", "b")  # stopped below a: it can never be the export
    assert budget.scoring_seconds("rf") == pytest.approx(2 * 20.0)  # c is still running
    budget.ended("rf", "a")  # the best ended: it is the export unless c passes it
    budget.ended("rf", "c")
    assert budget.scoring_seconds("rf") == pytest.approx(2 * 10.0)
    assert budget.best["rf"] == (0.5, "a")


def test_a_classical_trials_predict_on_fewer_threads_counts_as_on_every_core(monkeypatch):
    from search import parallel

    monkeypatch.setattr(parallel, "cores", lambda: 4)
    budget = Budget(deadline=time.time() + 600, faces={"val": 100, "test": 0})
    budget.observe("svm", {"trial_id": "one", "predict_seconds": 8.0, "threads": 1})
    budget.observe("svm", {"trial_id": "all", "predict_seconds": 3.0, "threads": 4})
    budget.observe("cnn", {"trial_id": "net", "predict_seconds": 5.0})  # a network predicts on every core already
    assert budget.models[("svm", "one")][0] == pytest.approx(2.0)
    assert budget.models[("svm", "all")][0] == pytest.approx(3.0)
    assert budget.models[("cnn", "net")][0] == pytest.approx(5.0)


def test_a_trial_reads_the_deadline_as_the_reserve_moves_not_as_it_started(tmp_path):
    # the 90-minute auto run: the cnn's trial kept the deadline of the moment its search
    # started (a 16-minute reserve), cut its seventh epoch and ended with 20 minutes left,
    # while the reserve had shrunk to 9 minutes
    g, budget = gate(deadline_in=1000)
    budget.published = tmp_path / "run" / ".deadline.json"
    started_with = budget.unit_deadline()
    settings = {"deadline": started_with, "deadline_file": str(budget.published)}
    assert units.current_deadline(settings) == started_with  # nothing written yet
    report = {"training_iteration": 2, "next_unit_seconds": 5.0, "trial_id": "t1", "val_accuracy": 0.5}
    g.on_trial_result(None, Trial(), {**report, "predict_seconds": 1.0})
    g.on_trial_result(None, Trial(), {**report, "trial_id": "t2", "val_accuracy": 0.4, "predict_seconds": 30.0})
    grown = budget.unit_deadline()
    assert grown < started_with - 50  # t2's model may still be the export: it holds part of the reserve
    assert units.current_deadline(settings) == pytest.approx(grown)
    t2 = type("T2", (), {"trial_id": "t2"})()
    g.on_trial_error(None, t2)  # it can no longer be: the reserve shrinks, the deadline moves later
    assert units.current_deadline(settings) == pytest.approx(budget.unit_deadline())
    assert budget.unit_deadline() > grown + 50
    live = units.LiveDeadline(settings, every=3600.0)
    assert live() == pytest.approx(budget.unit_deadline())
    budget.published.write_text('{"unit_deadline": 1.0}')
    assert live() == pytest.approx(budget.unit_deadline())  # read at most every `every` seconds
    assert units.LiveDeadline(settings, every=0.0)() == 1.0
    budget.published.write_text("half a wri")  # never the case (written whole), but a reader survives it
    assert units.current_deadline(settings) == started_with
    assert units.current_deadline({"deadline": None}) is None


def test_the_ends_fixed_costs_are_learned_only_from_an_end_that_measured_them(tmp_path):
    assert learned_fixed_seconds(tmp_path) == FIXED_END_SECONDS  # a new results folder
    record_fixed_seconds(tmp_path, -40.0)  # the exports took less than foreseen: the fixed part is unknown
    record_fixed_seconds(tmp_path, 0.0)
    assert learned_fixed_seconds(tmp_path) == FIXED_END_SECONDS
    record_fixed_seconds(tmp_path, 4.0)
    record_fixed_seconds(tmp_path, -3.0)
    assert learned_fixed_seconds(tmp_path) == pytest.approx(1.25 * 4.0)
    for seconds in (9.0, 1, 1, 1, 1, 1):  # the largest of the last five, with a quarter more
        record_fixed_seconds(tmp_path, seconds)
    assert learned_fixed_seconds(tmp_path) == pytest.approx(1.25 * 1.0)


class _Driver:  # as auto's driver: a reserve of its own, and every face of the data
    def __init__(self):
        self.faces = bytes(5_000_000)

    def final_reserve(self, budget):
        return 60.0


def test_a_pickled_budget_leaves_its_drivers_extra_reserve_behind():
    import pickle

    budget = Budget(deadline=time.time() + 600, faces={"val": 50, "test": 50}, fixed_seconds=5.0)
    budget.extra_reserve = _Driver().final_reserve
    assert budget.reserve() == pytest.approx(65.0)
    pickled = pickle.dumps(budget)
    assert len(pickled) < 10_000  # Ray Tune writes it into tuner.pkl on every start and sync
    restored = pickle.loads(pickled)
    assert restored.extra_reserve is None and restored.deadline == budget.deadline
    assert budget.reserve() == pytest.approx(65.0)  # the live budget keeps its own


def test_the_end_costs_file_keeps_each_measurement_beside_the_others(tmp_path):
    """The fixed costs and auto's final passes share the results folder's end-costs file:
    recording one keeps the others, and a file from before (fixed costs only) still reads."""
    from search.engine.budget import END_COSTS_FILE, learned, record

    (tmp_path / END_COSTS_FILE).write_text('{"fixed_seconds": [4.0]}\n')  # as written before the final's passes
    record(tmp_path, "final_pass_per_scoring", 1.7, "svm")
    record(tmp_path, "final_pass_per_scoring", 1.2, "cnn")
    record_fixed_seconds(tmp_path, 2.0)
    assert learned(tmp_path, "fixed_seconds") == [4.0, 2.0]
    assert learned(tmp_path, "final_pass_per_scoring", "svm") == [1.7]
    assert learned(tmp_path, "final_pass_per_scoring", "rf") == []
    for value in range(7):
        record(tmp_path, "final_pass_per_scoring", float(value), "svm")
    assert learned(tmp_path, "final_pass_per_scoring", "svm") == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert learned(tmp_path, "final_pass_per_scoring", "cnn") == [1.2]
    (tmp_path / END_COSTS_FILE).write_text("[1, 2]")  # unreadable as costs: nothing learned, nothing lost but it
    assert learned(tmp_path, "fixed_seconds") == [] and learned_fixed_seconds(tmp_path) == FIXED_END_SECONDS


# The 2-hour auto run's cnn trial: each epoch's time_this_iter_s and val_accuracy.
CNN_EPOCHS = [(409.1, 0.3908), (552.1, 0.4803), (571.3, 0.4385), (512.4, 0.5374), (512.5, 0.5587), (531.8, 0.5772),
              (452.8, 0.5893), (462.9, 0.5980)]


def observe_cnn_run(budget: Budget, trial_id: str = "a") -> None:
    total = 0.0
    for epoch, (seconds, val) in enumerate(CNN_EPOCHS, 1):
        total += seconds
        budget.observe("cnn", {"trial_id": trial_id, "training_iteration": epoch, "time_this_iter_s": seconds,
                               "time_total_s": total, "epoch": epoch, "unit_seconds": seconds, "val_accuracy": val,
                               "predict_seconds": 9.0, "model_mb": 20.0})


def proposes():
    """A Ray Tune searcher that proposes every trial asked of it."""
    from ray.tune.search import Searcher

    class Proposes(Searcher):
        def __init__(self):
            super().__init__(metric="val_accuracy", mode="max")

        def suggest(self, trial_id):
            return {"trial": trial_id}

        def on_trial_complete(self, trial_id, result=None, error=False):
            pass

        def save(self, checkpoint_path):  # it has no state of its own
            Path(checkpoint_path).write_bytes(b"")

        def restore(self, checkpoint_path):
            pass
    return Proposes()


def test_a_new_trial_starts_only_where_it_has_time_to_come_near_its_familys_best():
    """The 2-hour auto run on the real data: the cnn's trial reached 0.5980 at its eighth
    epoch, and first came within 0.02 of it at its seventh (0.5893, after 59 minutes of
    its own); a second trial started with 8 minutes left, its one epoch took 13 min 30 s
    and reached 0.21."""
    from ray.tune.search import Searcher

    from search.engine.limiter import BudgetedLimiter

    budget = Budget(deadline=time.time() + 900 + FIXED_END_SECONDS, faces={"val": 50, "test": 50})
    observe_cnn_run(budget)
    near = sum(seconds for seconds, _ in CNN_EPOCHS[:7])
    assert budget.new_trial_seconds("cnn") == pytest.approx(near)  # epoch 6's 0.5772 is not within 0.02
    assert budget.fits(budget.first_unit("cnn")) and not budget.fits(near)
    limiter = BudgetedLimiter(proposes(), max_concurrent=1, budget=budget, family="cnn")
    assert limiter.suggest("b") == Searcher.FINISHED  # a first epoch fits; getting anywhere does not
    budget.deadline = time.time() + 1.2 * near + FIXED_END_SECONDS
    assert limiter.suggest("b") == {"trial": "b"}
    # a trial that ended below its family's best leaves no history; a family's first trial asks its first unit
    budget.observe("cnn", {"trial_id": "c", "time_total_s": 50.0, "val_accuracy": 0.3})
    budget.ended("cnn", "c")
    assert ("cnn", "c") not in budget.histories and ("cnn", "a") in budget.histories
    budget.observe("svm", {"trial_id": "s", "training_iteration": 1, "time_this_iter_s": 4.0, "time_total_s": 4.0,
                           "val_accuracy": 0.5})
    assert budget.new_trial_seconds("svm") == 4.0 and budget.new_trial_seconds("rf") == 0.0


def test_a_search_resumed_in_a_new_process_prices_its_work_as_before(tmp_path):
    """Ray Tune saves the searcher's state with the experiment and gives it back on
    ``--resume``; the budget's clock is the new process's, what its trials measured is not
    lost: a new trial still needs the time the best trial took to come near its best, and
    the end still reserves that trial's export."""
    from ray.tune.search import SearchGenerator

    from search.engine.limiter import BudgetedLimiter

    def search(budget: Budget) -> SearchGenerator:
        return SearchGenerator(BudgetedLimiter(proposes(), max_concurrent=1, budget=budget, family="cnn"))
    before = Budget(deadline=time.time() + 900 + FIXED_END_SECONDS, faces={"val": 50, "test": 50})
    observe_cnn_run(before)
    search(before).save_to_dir(str(tmp_path), session_str="first")

    resumed = Budget(deadline=time.time() + 5000, faces={"val": 50, "test": 50})
    assert resumed.new_trial_seconds("cnn") == 0.0 and resumed.reserve() == FIXED_END_SECONDS
    restored = search(resumed)
    restored.restore_from_dir(str(tmp_path))
    assert restored.searcher.budget is resumed and resumed.deadline > before.deadline + 4000
    assert resumed.new_trial_seconds("cnn") == pytest.approx(sum(seconds for seconds, _ in CNN_EPOCHS[:7]))
    assert resumed.reserve() == pytest.approx(before.reserve()) and resumed.reserve() > FIXED_END_SECONDS

    # auto restores a family's search at each of its slices in one process: its budget's
    # own reports of the family stand
    live = Budget(deadline=time.time() + 5000, faces={"val": 50, "test": 50})
    live.observe("cnn", {"trial_id": "b", "training_iteration": 1, "time_this_iter_s": 300.0, "time_total_s": 300.0,
                         "val_accuracy": 0.41})
    again = search(live)
    again.restore_from_dir(str(tmp_path))
    assert live.best["cnn"] == (0.41, "b") and ("cnn", "a") not in live.histories
    # and each family takes only its own from its own search's state
    other = Budget(deadline=time.time() + 5000, faces={"val": 50, "test": 50})
    other.learn(before.measured(), "svm")
    assert other.measured() == Budget(deadline=None, faces={}).measured()
