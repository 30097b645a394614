"""On the real FER2013 zip, when ../shared/fer2013/fer2013.zip is there (skipped otherwise)."""

import json

import numpy as np
import pytest

from tests.conftest import REAL_ZIP, needs_real_data, run_cli
from trainables import data as fer

pytestmark = [pytest.mark.real_data, needs_real_data]

# README beside the zip: train / test counts per class, alphabetical folders
TRAIN = {"angry": 3995, "disgust": 436, "fear": 4097, "happy": 7215, "neutral": 4965, "sad": 4830, "surprise": 3171}
TEST = {"angry": 467, "disgust": 56, "fear": 496, "happy": 895, "neutral": 607, "sad": 653, "surprise": 415}


@pytest.fixture(scope="module")
def real_cache(tmp_path_factory):
    """One data cache for the module: the zip is decoded once, not once per search."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def real(real_cache):
    return fer.load(REAL_ZIP, real_cache)


def test_all_images_load_with_the_documented_counts(real):
    from trainables.labels import EMOTIONS

    assert len(real.labels) == 32298 and not real.skipped
    train = real.usage == "Training"
    for name, counts in (("train", TRAIN), ("test", TEST)):
        mask = train if name == "train" else ~train
        got = np.bincount(real.labels[mask], minlength=7)
        assert {e: int(got[i]) for i, e in enumerate(EMOTIONS)} == counts, name
    assert set(real.usage[~train]) == {"PublicTest"}  # this copy holds only the PublicTest half


# The short searches on the real data, each run once per module into one models folder
# (the ensemble test takes both models). Without augmentation or dropout, at width 16 and
# the space's highest Adam rate, a short cnn learns sooner. Measured here, the whole
# command: 2 epochs of 4,000 faces at batch 64 reached val 0.395 and 0.416 (seeds 0 and 1)
# in 114 and 124 s; with the defaults' rate 0.001 and dropout 0.4, 0.297 in 112 s, and 4
# epochs of them 0.403 in 197 s (width 32, batch 128: 3 epochs reached 0.379 in 4 min 18 s;
# with the default augment 0.5 they reached 0.300).
SHORT = {
    "svm": ("--trials", 2, "--train-limit", 4000),
    "rf": ("--trials", 1, "--train-limit", 4000),  # the defaults
    "cnn": ("--trials", 1, "--max-epochs", 2, "--train-limit", 4000, "--fix", "augment=0", "--fix", "width=16",
            "--fix", "batch_size=64", "--fix", "learning_rate=0.003", "--fix", "dropout=0", "--cpus-per-trial", 2),
}


@pytest.fixture(scope="module")
def short_search(ray_local, real, real_cache, tmp_path_factory):
    """``short_search(family)``: the card of that family's short search's export (run on
    first use); ``short_search.models``: the folder of their models."""
    root = tmp_path_factory.mktemp("short")
    cards = {}

    def run(family: str) -> dict:
        if family not in cards:
            result = run_cli(family, "--data", REAL_ZIP, *SHORT[family], "--no-tracking", "--results-dir", root / family,
                             "--models-dir", root / "models", "--cache-dir", real_cache)
            assert result.code == 0, result.err
            cards[family] = json.loads((root / "models" / f"{family}_best.json").read_text())
        return cards[family]

    run.models = root / "models"
    return run


@pytest.mark.slow
def test_a_short_svm_search_learns(short_search):
    card = short_search("svm")
    assert card["data"]["sizes"] == {"train": 4000, "val": 2871, "test": 3589}
    # the majority class (happy) is 25% of val; a search that learned lands clearly above
    assert card["metrics"]["val"]["accuracy"] > 0.40
    assert card["metrics"]["test"]["accuracy"] > 0.40


@pytest.mark.slow
def test_a_short_cnn_search_learns(short_search):
    card = short_search("cnn")
    # the majority class is 25% of val; two short epochs on 4,000 faces already learn clearly more
    assert card["metrics"]["val"]["accuracy"] > 0.33, card["metrics"]["val"]["accuracy"]


# The ensemble test's members: the rf, not the svm, whose val and test predictions under
# TTA (then six views of 6,460 faces through an RBF SVC; ten now) took most of 170 s here.
MEMBERS = ("rf", "cnn")
# an ensemble may lose a little to its best member on test, its weights being fitted on val
THRESHOLD = 0.01


# With TTA only: the ensemble without it is the same soft vote over the plain view, which
# tests/e2e/test_ensemble.py checks on demo data; here it cost 27 s of the test's 100.
@pytest.mark.slow
def test_an_ensemble_of_the_exported_models_with_tta_against_its_best_member(short_search, real_cache, tmp_path):
    cards = {family: short_search(family) for family in MEMBERS}
    best = max(card["metrics"]["test"]["accuracy"] for card in cards.values())
    out = tmp_path / "ensemble-tta.json"
    result = run_cli("ensemble", "--models-dir", short_search.models, "--families", ",".join(MEMBERS),
                     "--cache-dir", real_cache, "--out", out, "--tta")
    assert result.code == 0, result.err
    print(result.out)  # the members' and the ensemble's accuracies (pytest -s shows them)
    manifest = json.loads(out.read_text())
    choice = manifest["choice"]  # chosen on held-out halves of val: the best member alone may win
    assert {c["family"] for c in choice["candidates"]} == set(MEMBERS) and manifest["weights_fitted_on"] == "val"
    assert {m["family"] for m in manifest["members"]} <= set(MEMBERS)
    assert {"tta/greedy", "plain/weights"} <= set(choice["held_out_val"])
    assert manifest["metrics"]["val"]["accuracy"] >= choice["best_member_val"]
    assert choice["best_member_val"] == max(max(c["val"], c["tta_val"]) for c in choice["candidates"])
    # chosen on val, it does not fall below the best member on test
    assert manifest["metrics"]["test"]["accuracy"] >= best - THRESHOLD, (manifest["metrics"], best)
