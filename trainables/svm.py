"""Support vector machine on standardised HOG features, with an optional PCA.

``gamma_factor`` scales scikit-learn's ``gamma="scale"`` (1 / (n_features * variance))
instead of naming gamma outright: the right gamma moves with the HOG setting and the PCA
size, the right factor much less, so one log range serves every setting.
"""

from __future__ import annotations

from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

from .classical import fit_all, fit_on_rungs
from .data import Splits
from .features import HogFeatures, cached_hog, hog_params


def features(config: dict, splits: Splits):
    return cached_hog(splits.images, splits.fingerprint, splits.cache_dir, **hog_params(config))


def fit(config: dict, x, y, settings: dict) -> Pipeline:
    steps = [("scale", StandardScaler())]
    if config.get("pca"):
        n = min(int(config["pca_components"]), x.shape[1], len(x))
        steps.append(("pca", PCA(n_components=n, random_state=settings["seed"])))
    prep = Pipeline(steps)
    xt = prep.fit_transform(x)
    class_weight = None if config.get("class_weight", "none") == "none" else config["class_weight"]
    if config.get("kernel", "rbf") == "linear":
        svm = LinearSVC(C=config["C"], class_weight=class_weight, max_iter=5000, random_state=settings["seed"])
    else:
        gamma = config.get("gamma_factor", 1.0) / (xt.shape[1] * max(float(xt.var()), 1e-12))
        svm = SVC(C=config["C"], kernel="rbf", gamma=gamma, class_weight=class_weight, cache_size=500)
    svm.fit(xt, y)
    return Pipeline(steps + [("svm", svm)])


def train(config: dict, data: Splits, settings: dict) -> None:
    """The Ray Tune trainable: one fit per fidelity rung, one report each."""
    fit_on_rungs(config, data, settings, features, fit)


def final_model(config: dict, data: Splits, settings: dict) -> Pipeline:
    """Refit on the whole train split; the pipeline takes raw (N, 48, 48) images."""
    fitted = fit_all(config, data, settings, features, fit)
    return Pipeline([("hog", HogFeatures(**hog_params(config)))] + fitted.steps)
