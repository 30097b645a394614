"""What the network families' spaces share: the optimisation, regularisation and input
parameters. Private: the family modules re-export what they use."""

from .fidelity import Fidelity


# Networks are judged by epochs: ASHA compares trials after 1, 3, 9, ... epochs.
def fidelity(max_epochs: int = 30) -> Fidelity:
    return Fidelity("epoch", (1, max_epochs), 3)


def training(trial, batch_sizes=(32, 64, 128)) -> None:
    optimizer = trial.suggest_categorical("optimizer", ["adam", "adamw", "sgd"])
    trial.suggest_float("learning_rate", 1e-4, 3e-2 if optimizer == "sgd" else 3e-3, log=True)
    # cosine: from the rate down to zero over --max-epochs, set per epoch
    trial.suggest_categorical("lr_schedule", ["cosine", "constant"])
    if optimizer != "adam":
        trial.suggest_float("weight_decay", 1e-6, 1e-3, log=True)
    trial.suggest_categorical("batch_size", list(batch_sizes))
    trial.suggest_float("dropout", 0.0, 0.6)
    trial.suggest_float("label_smoothing", 0.0, 0.2)
    trial.suggest_float("augment", 0.0, 1.0)  # strength of flip, shift, rotation, zoom, contrast
    trial.suggest_categorical("class_weight", ["none", "balanced"])  # Disgust is 1.5% of FER2013
