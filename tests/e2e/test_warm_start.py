"""--warm-start: the best configurations of earlier searches run first, in the space's types."""

import json

import pandas as pd
import pytest

from search import registry
from search.engine import warmstart
from search.stores import leaderboard
from spaces import rf as rf_space
from spaces import svm as svm_space
from tests.conftest import TINY_DEMO, run_cli


def test_conform_takes_the_leaderboards_text_back_into_the_spaces_types():
    # as a CSV or MLflow gives them back: booleans and numbers as text or floats
    params = {**{k: str(v) for k, v in svm_space.DEFAULTS.items()}, "pca_components": float(svm_space.DEFAULTS["pca_components"])}
    assert warmstart.conform(svm_space, params) == svm_space.DEFAULTS
    assert warmstart.conform(rf_space, {**rf_space.DEFAULTS, "max_depth": None}) == rf_space.DEFAULTS


@pytest.mark.parametrize("change", [
    {"kernel": "linear"},  # a parameter the space no longer has is harmless only when the rest fits
    {"C": 1e4},  # out of range now
    {"hog_cells": "4"},  # a choice that was cut
])
def test_conform_refuses_what_the_space_cannot_propose(change):
    params = {**svm_space.DEFAULTS, **change}
    expected_ok = set(change) == {"kernel"}
    assert (warmstart.conform(svm_space, params) is not None) == expected_ok


def test_conform_refuses_a_missing_parameter():
    params = dict(svm_space.DEFAULTS)
    del params["mirror"]
    assert warmstart.conform(svm_space, params) is None


def trial_configs_in_order(experiment):
    """Each trial's config, in the order Ray Tune created the trials."""
    trials = []
    for folder in experiment.glob("train_*"):
        index = int(folder.name.split("_")[2])
        trials.append((index, json.loads((folder / "params.json").read_text())))
    return [config for _, config in sorted(trials, key=lambda t: t[0])]


@pytest.mark.slow
def test_warm_start_evaluates_the_earlier_best_configurations_first(ray_local, tiny):
    common = ("--data", TINY_DEMO, *tiny.tracked_folders)
    # no early stopping, so that every trial of the first search finishes on the full rung
    first = run_cli("rf", "--trials", 3, "--seed", 1, "--scheduler", "none", "--name", "first", *common)
    assert first.code == 0, first.err
    board = leaderboard.read_file(tiny.results)  # as written: "None" is a depth, not a missing value
    finished = board[(board["search"] == "first") & (board["status"] == "finished")].sort_values("val_accuracy", ascending=False)
    assert len(finished) >= 2

    second = run_cli("rf", "--trials", 3, "--seed", 2, "--name", "second", "--warm-start", 2, *common)
    assert second.code == 0, second.err
    assert "warm start: the 2 best configuration(s)" in second.out
    order = trial_configs_in_order(tiny.results / "second")
    family = registry.get("rf")
    expected = [warmstart.conform(family.space(), {k[len("param_"):]: (None if v == "None" else v)
                                                   for k, v in row.items() if k.startswith("param_") and pd.notna(v)})
                for _, row in finished.head(2).iterrows()]
    assert order[:2] == expected
    if rf_space.DEFAULTS not in expected:  # the defaults still run, once, after them
        assert order[2] == rf_space.DEFAULTS

    # the first points run on the whole node (2 CPUs here), one after another, straight
    # on all of train; the trials Optuna proposes run at --cpus-per-trial (1)
    first_points = expected + [rf_space.DEFAULTS]
    for folder in (tiny.results / "second").glob("train_*"):
        reports = pd.read_json(folder / "result.json", lines=True)
        config = json.loads((folder / "params.json").read_text())
        if config in first_points:
            assert reports["threads"].tolist() == [2] and reports["train_fraction"].tolist() == [1.0]
        else:
            assert set(reports["threads"]) == {1} and reports["train_fraction"].iloc[0] < 1.0


def test_warm_start_with_nothing_earlier_says_so(ray_local, tiny):
    result = run_cli("svm", "--data", TINY_DEMO, "--trials", 1, "--scheduler", "none", "--warm-start", "--no-tracking",
                     *tiny.folders)
    assert result.code == 0, result.err
    assert "warm start: no finished svm trial on this data" in result.out
