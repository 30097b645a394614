"""``python -m search ensemble``: two tiny exported models soft-voted (chosen on held-out
halves of val, or with the way a user names), the manifest evaluated, reloaded and used
by ``predict``; a changed member is refused."""

import json

import numpy as np
import pytest

from tests.conftest import png, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture
def two_models(exported_pair):
    return exported_pair / "models"


def test_an_ensemble_of_two_models_evaluates_exports_reloads_and_predicts(two_models, tmp_path):
    from search.ensembling import selection, soft_vote
    from search.stores import ensembles, loader, models

    # by default auto's end choice: the best member alone, greedy selection or least-log-loss
    # weights, whichever scores best on held-out halves of val, never below its best member
    result = run_cli("ensemble", "--models-dir", two_models)
    assert result.code == 0, result.err
    chosen = json.loads((two_models / "ensemble.json").read_text())
    choice = chosen["choice"]
    assert chosen["kind"] == ensembles.KIND and chosen["tta"] is False and choice["variant"] == "plain"
    assert {c["family"] for c in choice["candidates"]} == {"svm", "rf"}
    assert {m["family"] for m in chosen["members"]} <= {"svm", "rf"} and chosen["members"]
    assert set(choice["held_out_val"]) == {f"plain/{m}" for m in selection.METHODS}
    if not choice["fallback"]:
        assert choice["held_out_val"][f"plain/{choice['method']}"] == max(choice["held_out_val"].values())
    assert chosen["metrics"]["val"]["accuracy"] >= max(c["val"] for c in choice["candidates"])
    assert "chosen: " in result.out and "held-out halves of val" in result.out
    assert "against its best member on test" in result.out
    out = tmp_path / "eval.json"  # evaluate takes the manifest, on the data it names: the manifest's test score
    result = run_cli("evaluate", two_models / "ensemble.json", "--json", out)
    assert result.code == 0, result.err
    assert json.loads(out.read_text())["accuracy"] == pytest.approx(chosen["metrics"]["test"]["accuracy"])

    # --method weights: least-log-loss weights over every member, whatever held-out val says
    result = run_cli("ensemble", "--models-dir", two_models, "--method", "weights", "--out", two_models / "weights.json")
    assert result.code == 0, result.err
    manifest = json.loads((two_models / "weights.json").read_text())
    assert manifest["choice"]["method"] == "weights" and set(manifest["choice"]["held_out_val"]) == {"plain/weights"}
    assert {m["family"] for m in manifest["members"]} == {"svm", "rf"} and manifest["tta"] is False
    weights = [m["weight"] for m in manifest["members"]]
    assert sum(weights) == pytest.approx(1.0) and min(weights) >= 0
    for m in manifest["members"]:  # by path (relative to the manifest) and sha256
        assert models.sha256_of(two_models / m["path"]) == m["sha256"]
    assert "ensemble" in result.out and "against its best member on test" in result.out
    result = run_cli("evaluate", two_models / "weights.json", "--json", out)
    assert result.code == 0, result.err
    assert json.loads(out.read_text())["accuracy"] == pytest.approx(manifest["metrics"]["test"]["accuracy"])

    # predict takes it too: the weighted members' probabilities
    from trainables import demo

    face = tmp_path / "face.png"
    face.write_bytes(png(demo.generate(5, seed=6).images[0]))
    result = run_cli("predict", two_models / "weights.json", face, "--json", tmp_path / "faces.json")
    assert result.code == 0, result.err
    [found] = json.loads((tmp_path / "faces.json").read_text())[str(face)]
    assert sum(found["probabilities"].values()) == pytest.approx(1.0)

    ensemble = loader.load(two_models / "weights.json")
    faces = demo.generate(30, seed=7).images
    proba = ensemble.predict_proba(faces)
    assert proba.shape == (30, 7)
    # the soft vote is the manifest's weights over each member's own probabilities, member
    # by member as its file and card give them
    from search.ensembling.probabilities import probabilities

    expected = sum(m["weight"] * probabilities(models.load(two_models / m["path"]), models.read_card(two_models / m["path"]), faces)
                   for m in manifest["members"])
    assert np.allclose(proba, expected, atol=1e-6)
    assert (ensemble.predict(faces) == expected.argmax(axis=1)).all()

    # with TTA, each member's probabilities are the mean over the ten views
    member, card = ensemble.members[0], ensemble.cards[0]
    by_view = np.mean([probabilities(member, card, view) for view in soft_vote.views(faces)], axis=0)
    assert np.allclose(soft_vote.member_probabilities(member, card, faces, tta=True), by_view, atol=1e-6)
    # the plain view's probabilities given (auto's final has them already): the same mean
    plain = probabilities(member, card, faces)
    assert np.allclose(soft_vote.member_probabilities(member, card, faces, tta=True, plain=plain), by_view, atol=1e-6)
    assert not np.allclose(by_view, probabilities(member, card, faces), atol=1e-3)  # the views do change it


def test_test_time_augmentation_and_a_changed_member(two_models, tmp_path):
    from search.ensembling import soft_vote

    views_of = soft_vote.views
    views = views_of(np.arange(2 * 48 * 48, dtype=np.uint8).reshape(2, 48, 48))
    assert len(views) == 10 == soft_vote.TTA_VIEWS and all(v.shape == (2, 48, 48) for v in views)
    assert (views[1] == views[0][:, :, ::-1]).all()
    # five positions, each also mirrored: the mirror is half the views
    shifted, mirrored = views[2:6], views[6:]
    assert all((m == v[:, :, ::-1]).all() for v, m in zip(shifted, mirrored))
    assert len({v.tobytes() for v in views}) == 10
    assert (shifted[0][:, :, 2:] == views[0][:, :, :-2]).all()  # the face moved two pixels right, its left edge repeated

    # chosen with --tta: each way judged without the views, with them, and with them for the
    # members they help on val; each member says whether it takes them
    out = tmp_path / "chosen.json"
    result = run_cli("ensemble", "--models-dir", two_models, "--tta", "--out", out)
    assert result.code == 0, result.err
    chosen = json.loads(out.read_text())
    choice, candidates = chosen["choice"], {c["family"]: c for c in chosen["choice"]["candidates"]}
    assert {"plain/greedy", "tta/greedy", "tta/weights"} <= set(choice["held_out_val"])
    for m in chosen["members"]:
        helped = candidates[m["family"]]["tta_val"] > candidates[m["family"]]["val"]
        assert m["tta"] == {"plain": False, "tta": True, "mixed": helped}[choice["variant"]]
    assert chosen["metrics"]["val"]["accuracy"] >= max(max(c["val"], c["tta_val"]) for c in candidates.values())
    assert "against its best member on test (with or without TTA)" in result.out

    out = tmp_path / "tta.json"
    result = run_cli("ensemble", "--models-dir", two_models, "--tta", "--method", "weights", "--out", out)
    assert result.code == 0, result.err
    written = json.loads(out.read_text())
    assert written["tta"] is True and written["tta_views"] == 10 and "ensemble + TTA" in result.out
    assert all(m["tta"] for m in written["members"]) and len(written["members"]) == 2
    from search.ensembling.probabilities import probabilities
    from search.stores import ensembles
    from trainables import demo

    faces = np.asarray(demo.generate(12, seed=3).images)
    ensemble = ensembles.load(out)
    member, card = ensemble.members[0], ensemble.cards[0]
    assert np.allclose(soft_vote.member_probabilities(member, card, faces, tta=True, n_views=ensemble.n_views),
                       np.mean([probabilities(member, card, v) for v in views_of(faces)], axis=0), atol=1e-6)
    # a manifest written before the ten views (no tta_views) keeps the six its weights were fitted on
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps({k: v for k, v in written.items() if k != "tta_views"}))
    assert ensembles.load(earlier).n_views == 6
    six = np.mean([probabilities(member, card, v) for v in views_of(faces)[:6]], axis=0)
    assert np.allclose(soft_vote.member_probabilities(member, card, faces, tta=True, n_views=6), six, atol=1e-6)
    assert not np.allclose(six, soft_vote.member_probabilities(member, card, faces, tta=True), atol=1e-4)

    # auto's final gives the views to the members they help on val alone: each member says so
    some = tmp_path / "some.json"
    some.write_text(json.dumps({**written, "members": [{**m, "path": str(out.parent / m["path"]), "tta": i == 0}
                                                       for i, m in enumerate(written["members"])]}))
    assert ensembles.tta_label(json.loads(some.read_text())) == f" + TTA on {written['members'][0]['family']}"
    assert ensembles.tta_label(written) == " + TTA"
    # a manifest whose members do not say (written before auto): the manifest's own flag
    unsaid = [{k: v for k, v in m.items() if k != "tta"} for m in written["members"]]
    assert ensembles.tta_label({**written, "members": unsaid}) == " + TTA"
    assert ensembles.tta_label({**written, "members": unsaid, "tta": False}) == ""
    mixed = ensembles.load(some)
    assert mixed.tta == [True, False]
    expected = sum(w * soft_vote.member_probabilities(m, c, faces, tta) for m, c, w, tta
                   in zip(mixed.members, mixed.cards, mixed.weights, (True, False)))
    assert np.allclose(mixed.predict_proba(faces), expected / expected.sum(axis=1, keepdims=True), atol=1e-6)
    assert not np.allclose(mixed.predict_proba(faces), ensemble.predict_proba(faces), atol=1e-4)
    assert run_cli("evaluate", some).code == 0

    # a member changed after the manifest was written: refused in one line
    member = out.parent / json.loads(out.read_text())["members"][0]["path"]  # relative to the manifest
    original = member.read_bytes()
    try:
        member.write_bytes(original + b"\0")
        result = run_cli("evaluate", out)
        assert result.code == 2 and "changed since the ensemble was made" in result.err
    finally:
        member.write_bytes(original)


def test_an_ensemble_needs_two_models(two_models, tmp_path):
    result = run_cli("ensemble", "--models-dir", two_models, "--families", "svm")
    assert result.code == 2 and "two or more exported models" in result.err
    result = run_cli("evaluate", two_models / "svm_best.json")
    assert result.code == 2 and "not a model" in result.err


def test_auto_final_choice_prices_tta_by_what_this_results_folder_measured(two_models, tmp_path):
    """auto's final choice times each member's load and plain pass, asks whether TTA's
    views fit at the ratio learned in the results folder, and records what it measured for
    the next run's reserve (in the 2-hour runs on the real data the pass was priced at the
    trials' predict times, took at least 1.4 of them, and TTA no longer fitted, twice in a row)."""
    from search.engine import datasets
    from search.engine.auto import final
    from tests.conftest import TINY_DEMO
    from trainables.data import DEFAULT_VAL_FRACTION

    _, splits = datasets.load(TINY_DEMO, DEFAULT_VAL_FRACTION, None, None, need=("train", "val", "test"), say=lambda _: None)
    exported = [("svm", two_models / "svm_best.skops"), ("rf", two_models / "rf_best.skops")]
    asked = []
    costs = final.FinalCosts({}, {"svm": 40.0, "rf": 60.0})

    def nothing_fits(seconds):
        asked.append(seconds)
        return False
    said = []
    manifest = final.choose(exported, splits, 0, True, nothing_fits, said.append, costs)
    seconds = manifest["choice"]["seconds"]
    assert set(seconds) == {"load", "plain"} and set(seconds["plain"]) == {"svm", "rf"}
    passed = {f: seconds["load"][f] + seconds["plain"][f] for f in ("svm", "rf")}
    other = final.OTHER_VIEWS  # each view priced at the folder's ratio
    assert asked == [pytest.approx(other * (40.0 * passed["svm"] + 60.0 * passed["rf"]), rel=0.01, abs=0.01)]
    assert manifest["tta"] is False and any("without TTA" in s for s in said)

    manifest = final.choose(exported, splits, 0, True, lambda seconds: True, said.append, costs)
    seconds = manifest["choice"]["seconds"]
    assert set(seconds["tta"]) == {"svm", "rf"} and all(v > 0 for v in seconds["tta"].values())
    assert "tta/greedy" in manifest["choice"]["held_out_val"]
    # each member says whether it takes the views: all of them, none, or those they help on val
    variant, candidates = manifest["choice"]["variant"], {c["family"]: c for c in manifest["choice"]["candidates"]}
    for m in manifest["members"]:
        helped = candidates[m["family"]]["tta_val"] > candidates[m["family"]]["val"]
        assert m["tta"] == {"plain": False, "tta": True, "mixed": helped}[variant]
    assert manifest["tta"] == any(m["tta"] for m in manifest["members"])

    results = tmp_path / "results"
    results.mkdir()
    foretold = {"svm": 0.01, "rf": 0.0}  # the rf reported nothing in this run: nothing to learn of its pass
    final.record_costs(results, seconds, foretold.get)
    learned = final.FinalCosts.learned(results, ["svm", "rf", "cnn"])
    svm_pass = seconds["load"]["svm"] + seconds["plain"]["svm"]
    assert learned.pass_per_scoring["svm"] == pytest.approx(svm_pass / 0.01, rel=0.01)
    assert learned.pass_per_scoring["rf"] == final.PASS_PER_SCORING == learned.pass_per_scoring["cnn"]
    assert learned.view_per_plain["svm"] == pytest.approx(seconds["tta"]["svm"] / svm_pass / final.OTHER_VIEWS, rel=0.01)
    assert learned.view_per_plain["cnn"] == final.VIEW_PER_PLAIN
    assert learned.views("svm", svm_pass) == pytest.approx(seconds["tta"]["svm"], rel=0.01)
