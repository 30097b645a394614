"""Random Forest on HOG: depth (None = unlimited), trees, features per split, leaf size,
class weighting, the HOG's cells, blocks and orientations.

Measured on the real FER2013 (a third of train, 8,600 faces, 2 threads, HOG 8/2/9): 200
trees at max_features 0.033 fitted in 23 s for val 0.442; 0.1 in 67 s for 0.450; 0.3 in
192 s for 0.442; 400 trees in 46 s for 0.436; raw pixels (2,304 values) in 29 s for
0.415. So the space keeps HOG only, at most 300 trees and at most a tenth of the features
per split. (The trainable still reads raw pixels for a configuration that names
``features="pixels"``, such as an earlier search's.)"""

from .fidelity import Fidelity

# as the svm's: 1/27, 1/9, 1/3, then all of train; ASHA keeps a third at each rung
FIDELITY = Fidelity("train_fraction", (1 / 27, 1 / 9, 1 / 3, 1.0), 3)

DEFAULTS = {
    "hog_cell": 8,
    "hog_block": 2,
    "hog_orientations": 9,
    "n_estimators": 200,
    "max_depth": None,
    "max_features": 0.033,  # sqrt(900) / 900: scikit-learn's own default for a forest
    "min_samples_leaf": 1,
    "class_weight": "none",
    "mirror": False,
}


def space(trial):
    trial.suggest_categorical("hog_cell", [6, 8, 12])
    trial.suggest_int("hog_block", 1, 3)
    trial.suggest_categorical("hog_orientations", [6, 9, 12])
    trial.suggest_int("n_estimators", 50, 300, log=True)
    trial.suggest_categorical("max_depth", [None, 8, 12, 16, 24, 32])
    # share of the features tried at each split (the fit's cost grows with it); sqrt(900) / 900 is about 0.03
    trial.suggest_float("max_features", 0.005, 0.1, log=True)
    trial.suggest_int("min_samples_leaf", 1, 16, log=True)
    trial.suggest_categorical("class_weight", ["none", "balanced", "balanced_subsample"])
    # each training face also mirrored: twice the faces, about twice the fit
    trial.suggest_categorical("mirror", [True, False])
