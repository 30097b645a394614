"""Random Forest on HOG features or raw pixels."""

from __future__ import annotations

from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline

from .classical import trainable_of
from .data import Splits
from .features import HogFeatures, PixelFeatures, cached_hog, hog_params, mirror


def features(config: dict, splits: Splits, mirrored: bool = False):
    if config.get("features", "hog") == "pixels":
        # uint8 view, no copy: the forest converts only the rows it fits on to float32
        images = mirror(splits.images) if mirrored else splits.images
        return images.reshape(len(images), -1)
    return cached_hog(splits.images, splits.fingerprint, splits.cache_dir, **hog_params(config), mirrored=mirrored)


def fit(config: dict, x, y, settings: dict) -> RandomForestClassifier:
    class_weight = None if config.get("class_weight", "none") == "none" else config["class_weight"]
    forest = RandomForestClassifier(
        n_estimators=int(config["n_estimators"]),
        max_depth=config.get("max_depth"),
        max_features=float(config["max_features"]),
        min_samples_leaf=int(config["min_samples_leaf"]),
        class_weight=class_weight,
        n_jobs=settings.get("threads", 1),
        random_state=settings["seed"],
    )
    return forest.fit(x, y)


def exported(config: dict, forest: RandomForestClassifier) -> Pipeline:
    """The exportable pipeline: it takes raw (N, 48, 48) images."""
    step = PixelFeatures() if config.get("features", "hog") == "pixels" else HogFeatures(**hog_params(config))
    return Pipeline([("features", step), ("forest", forest)])


# How a forest's fit grows with the faces, t ~ n ** FIT_EXPONENT (trainables.units):
# measured between the last two rungs (8,613 and 25,838 faces) of three forests of
# `auto --time-budget 2h` on the real FER2013, 2 cores: 1.22, 0.98 and 1.20.
FIT_EXPONENT = 1.2


train, final_model = trainable_of(features, fit, exported, FIT_EXPONENT)
