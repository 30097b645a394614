"""A throwaway family's trainable, written the way docs/development.md says a new
classical family is added (``tests/e2e/test_new_family.py``): its own scikit-learn step
(``UnitLength``), so its model holds a class from outside scikit-learn that its registry
entry must trust."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline

from trainables.classical import trainable_of
from trainables.features import HogFeatures, cached_hog, hog_params


class UnitLength(TransformerMixin, BaseEstimator):
    """Each row scaled to unit length: cosine distance for the neighbours."""

    def fit(self, x, y=None):
        return self

    def transform(self, x):
        x = np.asarray(x, dtype=np.float32)
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def features(config, splits, mirrored=False):
    return cached_hog(splits.images, splits.fingerprint, splits.cache_dir, **hog_params(config), mirrored=mirrored)


def fit(config, x, y, settings):
    knn = KNeighborsClassifier(n_neighbors=int(config["n_neighbors"]), weights=config["weights"], algorithm="brute",
                               n_jobs=settings.get("threads", 1))
    return Pipeline([("unit", UnitLength()), ("knn", knn)]).fit(x, y)


def exported(config, fitted):
    return Pipeline([("hog", HogFeatures(**hog_params(config))), *fitted.steps])


train, final_model = trainable_of(features, fit, exported)
