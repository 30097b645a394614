"""The engine's pure functions, without a search: which trial is exported, whether a
model replaces the slot's, a trial's status, a leaderboard row, --fix's parsing, a
resumed search held to its own options, a trial error in one line, a trial's CPUs."""

from __future__ import annotations

from argparse import Namespace

import pytest

from search import registry, status
from search.engine import export, fixed, resume
from search.engine.resources import shared_cpus
from search.stores import rows
from search.text import error_line
from spaces.fidelity import Fidelity
from trainables.errors import FerSearchError

CLASSICAL = Fidelity("train_fraction", (1 / 27, 1 / 9, 1 / 3, 1.0))


def row(trial_id, val, trial_status=status.FINISHED, seconds=10.0):
    return {"trial_id": trial_id, "val_accuracy": val, "status": trial_status, "seconds": seconds}


def test_the_best_is_among_the_trials_that_reached_full_fidelity_and_a_tie_goes_to_the_faster():
    trials = [row("low-rung", 0.70, status.STOPPED), row("full", 0.60), row("full-slow", 0.60, seconds=99.0),
              row("broken", 0.90, status.FAILED), row("none", None)]
    assert export.pick_best(trials)["trial_id"] == "full"
    # without any full-fidelity trial, the best of those that scored
    assert export.pick_best([row("a", 0.4, status.STOPPED), row("b", 0.5, status.INTERRUPTED)])["trial_id"] == "b"
    assert export.pick_best([row("x", None), row("y", 0.9, status.FAILED)]) is None


def card(val, fingerprint="abc", val_fraction=0.1):
    return {"data": {"fingerprint": fingerprint, "val_fraction": val_fraction}, "metrics": {"val": {"accuracy": val}}}


def test_a_model_replaces_the_slots_unless_the_slots_is_of_the_same_data_and_better_on_val():
    assert export.replaces(None, card(0.5))
    assert export.replaces(card(0.5), card(0.6))  # better: replaces
    assert export.replaces(card(0.5), card(0.5))  # as good: the newer
    assert not export.replaces(card(0.6), card(0.5))  # a short search never buries a long one's model
    assert export.replaces(card(0.9, fingerprint="other"), card(0.5))  # other data: no comparison
    assert export.replaces(card(0.9, val_fraction=0.2), card(0.5))  # another val split: no comparison


def test_a_trials_status_from_its_last_report():
    assert status.of({"val_accuracy": 0.5, "train_fraction": 1.0}, None, CLASSICAL) == status.FINISHED
    assert status.of({"val_accuracy": 0.5, "train_fraction": 1 / 9}, None, CLASSICAL) == status.STOPPED
    assert status.of({"val_accuracy": 0.5, "train_fraction": 1.0}, "boom", CLASSICAL) == status.FAILED
    assert status.of({}, None, CLASSICAL) == status.FAILED and status.of(None, None, CLASSICAL) == status.FAILED


def test_a_leaderboard_row_scores_what_the_trial_exports_and_keeps_parameters_typed():
    r = rows.row(search="s", family="cnn", trial_id="t", trial_status=status.STOPPED,
                 metrics={"val_accuracy": 0.50, "best_val_accuracy": 0.55, "epoch": 4, "time_total_s": 12.0},
                 params={"learning_rate": "0.001", "mirror": "True", "max_depth": None, "optimizer": "adam"}, data="fp")
    assert r["val_accuracy"] == 0.55  # a network exports its best epoch
    assert r["fidelity"] == 4 and r["seconds"] == 12.0
    assert (r["param_learning_rate"], r["param_mirror"], r["param_max_depth"], r["param_optimizer"]) == (0.001, True, "None", "adam")
    assert list(r)[: len(rows.COLUMNS)] == rows.COLUMNS


def test_fix_takes_the_spaces_own_types_and_refuses_what_it_cannot_take():
    cnn = registry.get("cnn")
    assert fixed.parse(cnn, ["width=16", "optimizer=adamw"]) == {"width": 16, "optimizer": "adamw"}
    for bad in (["width"], ["=3"], ["width=17"], ["nonsense=1"]):
        with pytest.raises(FerSearchError):
            fixed.parse(cnn, bad)


def test_a_resumed_search_takes_its_own_options_and_refuses_other_values():
    meta = {"search": "svm-1", "options": {"data": "demo:700", "val_fraction": 0.1, "train_limit": None, "seed": 3,
                                           "trials": 8, "searcher": "tpe", "scheduler": "asha", "max_epochs": None, "fix": None}}
    args = Namespace(argv=["svm", "--resume"], data=None, val_fraction=0.1, train_limit=None, seed=0, trials=20,
                     searcher="tpe", scheduler="asha", fix=None, name=None)
    resume.hold_to(args, meta)
    assert (args.seed, args.trials, args.data, args.name) == (3, 8, "demo:700", "svm-1")
    changed = Namespace(**{**vars(args), "argv": ["svm", "--resume", "--seed", "9"], "seed": 9})
    with pytest.raises(FerSearchError, match="--seed 9 differs from the search's 3"):
        resume.hold_to(changed, meta)


def test_a_trials_error_in_one_line():
    traceback = ("Traceback (most recent call last):\n  File \"x.py\", line 3, in f\n"
                 "ray.exceptions.RayTaskError(FloatingPointError): boom\n"
                 "FloatingPointError: the training loss became nan in epoch 2: this configuration diverges\n")
    assert error_line(traceback) == "FloatingPointError: the training loss became nan in epoch 2: this configuration diverges"
    assert error_line("The actor died unexpectedly before finishing this task.") == \
        "The actor died unexpectedly before finishing this task."
    assert len(error_line("x" * 1000)) == 300


def test_fewer_trials_than_the_cpus_hold_share_them_and_more_get_the_familys_default():
    # cnn --trials 1 on 2 cores trains on both, not on one beside an idle one
    assert shared_cpus(1, 1, cluster_cpus=2, largest_node_cpus=2) == 2
    assert shared_cpus(1, 20, cluster_cpus=2, largest_node_cpus=2) == 1  # a search of many: side by side
    assert shared_cpus(1, 3, cluster_cpus=16, largest_node_cpus=16) == 5  # the share, whole CPUs
    assert shared_cpus(1, 2, cluster_cpus=64, largest_node_cpus=16) == 16  # a trial runs on one node
    assert shared_cpus(4, 8, cluster_cpus=16, largest_node_cpus=16) == 4  # never under the family's own
