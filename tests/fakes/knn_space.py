"""A throwaway family's space, written the way docs/development.md says a new classical
family is added (``tests/e2e/test_new_family.py``): k nearest neighbours on HOG."""

from spaces.fidelity import Fidelity

FIDELITY = Fidelity("train_fraction", (1 / 9, 1 / 3, 1.0), 3)

DEFAULTS = {"hog_cell": 8, "hog_block": 2, "hog_orientations": 9, "n_neighbors": 10, "weights": "distance", "mirror": False}


def space(trial):
    trial.suggest_categorical("hog_cell", [6, 8])
    trial.suggest_int("hog_block", 1, 2)
    trial.suggest_categorical("hog_orientations", [9])
    trial.suggest_int("n_neighbors", 1, 30, log=True)
    trial.suggest_categorical("weights", ["uniform", "distance"])
    trial.suggest_categorical("mirror", [False])
