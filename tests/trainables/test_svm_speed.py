"""The faster svm search: its space's dimension cap, oneDAL fits exported as scikit-learn's
own SVC, mirrored faces, and the rungs."""

import json
import subprocess
import sys

import numpy as np
import optuna
import pytest

from spaces import svm as svm_space
from tests.conftest import ROOT, missing
from trainables import demo, fast_svc, svm
from trainables.data import make_splits
from trainables.features import hog_size


def sampled_configs(n=400):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    configs = []
    for sampler in (optuna.samplers.RandomSampler(seed=0), optuna.samplers.TPESampler(seed=0, multivariate=True, group=True)):
        study = optuna.create_study(sampler=sampler, direction="maximize")
        for i in range(n // 2):
            trial = study.ask()
            svm_space.space(trial)
            configs.append(dict(trial.params))
            study.tell(trial, float(trial.params["C"]) % 1)  # any value: TPE needs feedback to sample its own way
    return configs


def test_the_svm_space_never_proposes_an_rbf_svc_above_the_dimension_cap():
    for config in sampled_configs() + [svm_space.DEFAULTS]:
        assert config["pca_components"] <= svm_space.MAX_RBF_DIMS
        assert "kernel" not in config or config["kernel"] == "rbf"


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    d = demo.generate(1200, seed=5)
    from trainables.data import FerData

    data = FerData(d.images, d.labels, d.usage, "demo:1200", "demo", "demo-test-1200")
    return make_splits(data, 0.1, None, tmp_path_factory.mktemp("cache"), ("train", "val"))


def test_the_svc_sees_at_most_the_cap_even_on_the_largest_hog(splits):
    config = dict(svm_space.DEFAULTS, hog_cells="6+12", hog_orientations=12, pca_components=svm_space.MAX_RBF_DIMS,
                  mirror=False)
    x = svm.features(config, splits)
    assert x.shape[1] == hog_size(12, 6, 3) + hog_size(12, 12, 3) > svm_space.MAX_RBF_DIMS
    model = svm.fit(config, x[splits.index["train"]], splits.y("train"), {"seed": 0})
    assert model.steps[-1][1].shape_fit_[1] <= svm_space.MAX_RBF_DIMS


def test_mirrored_faces_double_the_training_set(splits):
    from trainables.classical import training_set

    rows = splits.index["train"][:50]
    x, y = training_set(dict(svm_space.DEFAULTS, mirror=True), splits, svm.features, rows)
    plain = svm.features(svm_space.DEFAULTS, splits)[rows]
    assert len(x) == 100 and np.array_equal(y, np.r_[splits.labels[rows], splits.labels[rows]])
    assert np.array_equal(x[:50], plain) and not np.array_equal(x[50:], plain)
    flipped = svm.features(svm_space.DEFAULTS, splits, mirrored=True)
    from trainables.features import hog, hog_params, mirror

    assert np.allclose(flipped[rows[:3]], hog(mirror(splits.images[rows[:3]]), **hog_params(svm_space.DEFAULTS)))


@pytest.mark.skipif(not fast_svc.available(), reason=missing("onedal", "scikit-learn-intelex is not installed"))
def test_a_onedal_trained_export_reloads_safely_and_predicts_exactly_as_the_trial(splits, tmp_path):
    from search.stores import models

    config = dict(svm_space.DEFAULTS, class_weight="balanced")
    settings = {"seed": 0, "threads": 1}
    trial_model = svm.fit(config, *_train(config, splits), settings)  # what a trial fits and scores with
    assert type(trial_model.steps[-1][1]).__module__.startswith("sklearnex")
    images = splits.images[np.r_[splits.index["val"], splits.index["test"]]]
    trial_pred = trial_model.predict(svm.features(config, splits)[np.r_[splits.index["val"], splits.index["test"]]])

    exported = svm.final_model(config, splits, settings)
    assert type(exported.steps[-1][1]).__module__ == "sklearn.svm._classes"
    path = tmp_path / "svm_best.skops"
    models.save(models.TrialModel(exported), path, {"family": "svm", "config": config})
    np.save(tmp_path / "faces.npy", images)
    code = ("import sys, numpy as np; from search.stores import models; "
            "m = models.load(sys.argv[1]); np.save(sys.argv[2], m.predict(np.load(sys.argv[3])))")
    subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "pred.npy"), str(tmp_path / "faces.npy")],
                   cwd=ROOT, check=True, capture_output=True)
    assert np.array_equal(np.load(tmp_path / "pred.npy"), trial_pred)
    assert json.loads(models.card_path(path).read_text())["family"] == "svm"


def _train(config, splits):
    from trainables.classical import nested_order, training_set

    train = splits.index["train"]
    order = train[nested_order(splits.labels[train], 0)]
    return training_set(config, splits, svm.features, order)


def test_the_two_backends_agree(splits):
    x, y = _train(dict(svm_space.DEFAULTS, mirror=False), splits)
    x = x[:, :40].astype(np.float64)
    libsvm = fast_svc.fit(x, y, C=3.0, gamma=0.02, class_weight=None, backend="libsvm")
    fast = fast_svc.fit(x, y, C=3.0, gamma=0.02, class_weight=None)
    assert np.array_equal(fast_svc.as_sklearn(fast).predict(x), fast.predict(x))
    assert np.mean(libsvm.predict(x) == fast.predict(x)) > 0.98  # two solvers, one optimum (up to tolerance)
