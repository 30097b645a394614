"""Random Forest: depth (None = unlimited), trees, features per split, leaf size, class
weighting, and what it sees (HOG or raw pixels)."""

from .fidelity import Fidelity

# as the svm's: 1/27, 1/9, 1/3, then all of train; ASHA keeps a third at each rung
FIDELITY = Fidelity("train_fraction", (1 / 27, 1 / 9, 1 / 3, 1.0), 3)

DEFAULTS = {
    "features": "hog",
    "hog_cell": 8,
    "hog_block": 2,
    "hog_orientations": 9,
    "n_estimators": 200,
    "max_depth": None,
    "max_features": 0.05,
    "min_samples_leaf": 1,
    "class_weight": "none",
    "mirror": False,
}


def space(trial):
    if trial.suggest_categorical("features", ["hog", "pixels"]) == "hog":
        trial.suggest_categorical("hog_cell", [6, 8, 12])
        trial.suggest_int("hog_block", 1, 3)
        trial.suggest_categorical("hog_orientations", [6, 9, 12])
    trial.suggest_int("n_estimators", 50, 500, log=True)
    trial.suggest_categorical("max_depth", [None, 8, 12, 16, 24, 32])
    # share of the features tried at each split; sqrt(900) / 900 is about 0.03
    trial.suggest_float("max_features", 0.005, 0.3, log=True)
    trial.suggest_int("min_samples_leaf", 1, 16, log=True)
    trial.suggest_categorical("class_weight", ["none", "balanced", "balanced_subsample"])
    # each training face also mirrored: twice the faces, about twice the fit
    trial.suggest_categorical("mirror", [True, False])
