"""SVM on HOG: C and gamma on log scales, kernel, class weighting, HOG setting, PCA."""

# Classical trials fit on nested subsets of train: 1/9, 1/3, then all of it.
FIDELITY = {"attr": "train_fraction", "rungs": (1 / 9, 1 / 3, 1.0), "reduction_factor": 3}

DEFAULTS = {
    "hog_cell": 8,
    "hog_block": 2,
    "hog_orientations": 9,
    "pca": True,
    "pca_components": 200,
    "kernel": "rbf",
    "C": 3.0,
    "gamma_factor": 1.0,
    "class_weight": "none",
}


def space(trial):
    trial.suggest_categorical("hog_cell", [6, 8, 12])
    trial.suggest_int("hog_block", 1, 3)
    trial.suggest_categorical("hog_orientations", [6, 9, 12])
    if trial.suggest_categorical("pca", [True, False]):
        # PCA makes RBF fits several times cheaper on the large HOG settings.
        trial.suggest_int("pca_components", 32, 512, log=True)
    kernel = trial.suggest_categorical("kernel", ["rbf", "linear"])
    trial.suggest_float("C", 1e-2, 1e2, log=True)
    if kernel == "rbf":
        # a multiple of scikit-learn's gamma="scale" (see trainables/svm.py)
        trial.suggest_float("gamma_factor", 0.05, 20.0, log=True)
    trial.suggest_categorical("class_weight", ["none", "balanced"])
