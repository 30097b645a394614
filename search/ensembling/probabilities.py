"""Seven emotion probabilities from any exported model.

Networks end in a softmax and a forest votes: both have ``predict_proba``. An RBF SVC has
none (libsvm's own Platt scaling refits five times on train). At export, an SVC's
one-vs-rest decision function is calibrated by temperature scaling fitted on val, never
test (scikit-learn's ``CalibratedClassifierCV(method="temperature")``): one number,
``beta``, kept in the model card, and the probabilities are ``softmax(beta * decision)``.
A single temperature keeps the decision function's ranking, so the most probable emotion
is the SVC's own vote but for ties of votes, which the card counts on val.
"""

from __future__ import annotations

import warnings

import numpy as np

from trainables.errors import FerSearchError
from trainables.labels import EMOTIONS

METHOD = "temperature scaling of the one-vs-rest decision function, fitted on val"


def calibrate(model, x_val: np.ndarray, y_val: np.ndarray, predicted: np.ndarray | None = None,
              apply=None) -> dict | None:
    """The card's ``probability`` entry for a model without ``predict_proba`` (None for a
    model that has it, or when there is no val split to fit on).

    ``predicted``: the model's predictions on ``x_val`` where already made;
    ``apply(method, x)`` runs one of the model's methods on ``x`` (the export spreads it
    over cores). The decision function is computed once: an SVC's costs as much as its
    predict, minutes on the real val split with libsvm.
    """
    if hasattr(model, "predict_proba"):
        return None
    apply = apply or (lambda method, x: method(x))
    # val faces of a class the model never saw (a tiny or limited train split) say nothing
    # of its temperature, and scikit-learn's calibration cannot take them
    seen = np.isin(y_val, model.classes_)
    y_val = np.asarray(y_val)[seen]
    if len(np.unique(y_val)) < 2:
        return None
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    faces = x_val if seen.all() else x_val[seen]  # the same faces as predicted: an SVC's one pass serves both
    decision = np.asarray(apply(model.decision_function, faces), dtype=np.float64)
    given = _given_decisions(model.classes_)
    with warnings.catch_warnings():  # its folds of val only gather the frozen model's outputs:
        warnings.simplefilter("ignore", UserWarning)  # a class too small for 5 folds is no matter
        calibrated = CalibratedClassifierCV(FrozenEstimator(given), method="temperature").fit(decision, y_val)
    beta = float(calibrated.calibrated_classifiers_[0].calibrators[0].beta_)
    entry = {"method": METHOD, "beta": beta, "classes": [int(c) for c in model.classes_]}
    predicted = apply(model.predict, faces) if predicted is None else np.asarray(predicted)[seen]
    agree = np.mean(_from_values(decision, entry).argmax(axis=1) == np.asarray(predicted, dtype=int))
    entry["top_matches_predict_on_val"] = round(float(agree), 4)
    return entry


def _given_decisions(classes):
    """A fitted stand-in for a model whose decision values were computed already:
    calibration is fitted on them, and its decision function hands its input back.
    (Built here so that scikit-learn stays off the CLI's import path.)"""
    from sklearn.base import BaseEstimator, ClassifierMixin

    class GivenDecisions(ClassifierMixin, BaseEstimator):
        def fit(self, x=None, y=None):
            self.classes_ = np.asarray(classes)
            return self

        def decision_function(self, x):
            return np.asarray(x)

        def predict(self, x):  # asked for by scikit-learn's checks, never used by the calibration
            return self.classes_[np.asarray(x).argmax(axis=1)]

    return GivenDecisions().fit()


def probabilities(model, card: dict | None, faces: np.ndarray) -> np.ndarray:
    """(N, 7) probabilities, columns in label order (EMOTIONS), rows summing to 1."""
    if hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(faces), dtype=np.float64)
        classes = getattr(model, "classes_", range(proba.shape[1]))
        out = np.zeros((len(proba), len(EMOTIONS)))
        out[:, [int(c) for c in classes]] = proba
        return out
    entry = (card or {}).get("probability")
    if not entry:
        raise FerSearchError("this model has no probabilities: its card carries no calibration (exported by an older "
                             "fer-search)", hint="run its search again (or --resume it) to export it with one")
    return _from_decision(model, entry, faces)


def _from_decision(model, entry: dict, faces: np.ndarray) -> np.ndarray:
    from ..parallel import fast

    return _from_values(np.asarray(fast(model).decision_function(faces), dtype=np.float64), entry)


def _from_values(decision: np.ndarray, entry: dict) -> np.ndarray:
    from scipy.special import softmax

    proba = softmax(entry["beta"] * decision, axis=1)
    out = np.zeros((len(proba), len(EMOTIONS)))
    out[:, entry["classes"]] = proba
    return out

