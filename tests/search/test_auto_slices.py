"""auto's slices: when the next decision is taken, on the curves of the real data's 2-hour
run (the cnn's fourth epoch, 0.34 to 0.49, came in 40 s after its slice's time was up)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from ray.tune.experiment import Trial

from search.engine.auto import allocator
from search.engine.auto.allocator import Curve
from search.engine.auto.lanes import Lane
from search.engine.auto.run import PauseRule, Slices
from search.engine.budget import Budget

MIN_GAIN = 0.0047  # noise_gain of 2,871 val faces
RUNNING, PAUSED = SimpleNamespace(status=Trial.RUNNING), SimpleNamespace(status=Trial.PAUSED)


@pytest.fixture
def run():
    """The cnn's slice, its third epoch done (0.34, 0.32, 0.34), the svm flat at 0.598."""
    cnn = Lane(SimpleNamespace(name="cnn", is_network=True), args=None,
               curve=Curve(start=0.25, improvements=[(139.6, 0.3403)], spent=395.5, min_gain=MIN_GAIN, reports=3,
                           recent=[139.6, 270.1, 395.5]))
    cnn.units = {"t": 130.0}
    svm = Lane(SimpleNamespace(name="svm", is_network=False), args=None,
               curve=Curve(start=0.25, improvements=[(6.5, 0.428), (14.7, 0.464), (29.6, 0.520), (136.3, 0.598)],
                           spent=136.4, min_gain=MIN_GAIN, reports=1, recent=[136.3], settled_at=136.3, partial=True))
    budget = Budget.of(time.time(), 7200, {"val": 2871, "test": 3589})
    decisions = []
    slices = Slices({"svm": svm, "cnn": cnn}, budget, 7200, {}, lambda *_: None, lambda *a: decisions.append(a))
    slices.start(cnn, allocator.Choice("cnn", "most expected gain", {}))
    # the decision the slice's end would take now, before the fourth epoch's report: the svm
    assert slices.decide().family == "svm"
    slices.slice_end = time.time() - 1.0  # the slice's time is up in the middle of the epoch
    return slices, decisions


def epoch_ends(slices, val: float) -> bool:
    """The epoch's report as the cnn's scheduler passes it on; whether the trial pauses."""
    slices.slice_started -= 144.7  # the epoch's seconds: the cnn's own clock at 540.2
    rule = PauseRule(slices)
    rule.observe("t", {"val_accuracy": val, "best_val_accuracy": val, "next_unit_seconds": 130.0})
    return rule.now()


def test_a_slice_whose_time_is_up_is_decided_on_the_report_of_its_unit_in_progress(run):
    slices, decisions = run
    slices.on_step([RUNNING])
    assert not slices.pausing  # the epoch in progress has its say first
    assert not epoch_ends(slices, 0.4925)  # rising 2.3 points a minute: the cnn keeps the next slice
    assert decisions[-1][0] == "cnn" and decisions[-1][1].startswith("continues")
    assert slices.slice_end > time.time()


def test_a_unit_that_brings_nothing_hands_the_slice_on_at_its_report(run):
    slices, _ = run
    slices.on_step([RUNNING])
    assert epoch_ends(slices, 0.3300)  # flat: the trial pauses at this epoch's end
    assert slices.next_choice.family == "svm"


def test_with_no_unit_in_progress_the_slice_is_decided_when_its_time_is_up(run):
    slices, _ = run
    slices.on_step([PAUSED])
    assert slices.pausing and slices.next_choice.family == "svm"


def test_with_two_lanes_each_chooses_among_its_own_families_and_drops_within_them(run):
    """The networks' lane has the cnn alone: it keeps the time whatever the svm's rate, and
    the classical lane gives the svm its time while the cnn trains, where one lane would
    hand the slice between them. The rf, trailing the svm by the margin, is dropped in
    the classical lane; the cnn, behind the svm too, is never dropped by the other lane."""
    slices, decisions = run
    lanes, budget = slices.lanes, slices.budget
    lanes["rf"] = Lane(SimpleNamespace(name="rf", is_network=False), args=None,
                       curve=Curve(start=0.25, improvements=[(300.0, 0.48)], spent=600.0, min_gain=MIN_GAIN, reports=6,
                                   recent=[450.0, 500.0, 550.0, 600.0]))
    networks = Slices(lanes, budget, 7200, {}, lambda *_: None, lambda *a: decisions.append(a), track=["cnn"])
    classical = Slices(lanes, budget, 7200, {}, lambda *_: None, lambda *a: decisions.append(a), track=["svm", "rf"])
    assert networks.decide().family == "cnn"  # one lane would give this slice to the svm (the fixture's first assertion)
    assert classical.decide().family == "svm"
    assert lanes["rf"].state == "dropped" and lanes["cnn"].playing
    assert ("rf", "dropped") == decisions[-1][:2]


@pytest.mark.parametrize("gpus, cpus, per_trial, expected, cap", [
    (0, 16, None, [["svm", "rf", "cnn"]], None),  # no GPU: a network trial takes every core, the families take turns
    (1, 16, None, [["cnn"], ["svm", "rf"]], 15.0),  # one network trial on the GPU holds a CPU
    (2, 16, 0.5, [["cnn"], ["svm", "rf"]], 12.0),  # four network trials share two GPUs
    (1, 1, None, [["svm", "rf", "cnn"]], None),  # the network trial would hold the only CPU
])
def test_two_lanes_where_the_cluster_has_gpus_networks_on_them_classical_trials_on_the_cores_left(
        gpus, cpus, per_trial, expected, cap):
    from search import registry
    from search.engine.auto.driver import two_lanes

    said = []
    families = [registry.get(n) for n in ("svm", "rf", "cnn")]
    assert two_lanes(families, cpus, gpus, per_trial, said.append) == (expected, cap)
    assert two_lanes(families[:2], cpus, gpus, per_trial, said.append) == ([["svm", "rf"]], None)  # no network: one lane
    if cap:
        on = "the GPU" if gpus == 1 else f"the {gpus} GPUs"
        assert said[0] == f"auto: two lanes at once: cnn on {on}, svm and rf on {cap:.0f} of the {cpus} CPUs"


def test_a_run_resumed_from_a_version_whose_trainables_shared_one_name_goes_on_in_one_lane():
    """Ray keeps one trainable per name in a driver: an auto run started before the
    families' trainables were named after them has every family's as ``train``, and two
    lanes at once would run one family's code for the other's trials."""
    from search import registry
    from search.engine.auto.driver import NAMED_TRAINABLES, two_lanes

    families = [registry.get(n) for n in ("svm", "rf", "cnn")]
    said = []
    assert two_lanes(families, 4, 1, None, said.append, earlier={"decisions": []}) == ([["svm", "rf", "cnn"]], None)
    assert said == ["auto: one lane: this run was started by an older version, whose families' trainables share one "
                    "name (two lanes need one each)"]
    said.clear()
    assert two_lanes(families, 4, 1, None, said.append, earlier={NAMED_TRAINABLES: True}) == ([["cnn"], ["svm", "rf"]], 3.0)
    assert two_lanes(families, 4, 1, None, said.append, earlier=None) == ([["cnn"], ["svm", "rf"]], 3.0)
    assert two_lanes(families, 2, 0, None, said.append, earlier={"decisions": []}) == ([["svm", "rf", "cnn"]], None)  # no GPU
    assert len(said) == 2 and all(line.startswith("auto: two lanes at once") for line in said)
