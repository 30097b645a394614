"""ResNet50 fine-tuning: learning rates, optimiser, regularisation, input size, and how
many residual blocks (of 16) are trained, counted from the top."""

from ._deep import fidelity, training

BACKBONE = "resnet50"
BLOCKS = 16
FIDELITY = fidelity()

DEFAULTS = {
    "optimizer": "adam", "learning_rate": 1e-3, "lr_schedule": "cosine", "batch_size": 64, "dropout": 0.3,
    "label_smoothing": 0.1, "augment": 0.5, "class_weight": "none", "input_size": 96, "unfreeze_blocks": 4,
    "two_phase": True, "head_epochs": 2, "backbone_lr_mult": 0.1,
}


def backbone(trial, blocks: int):
    trial.suggest_categorical("input_size", [48, 64, 96, 128, 160, 224])
    unfreeze = trial.suggest_int("unfreeze_blocks", 0, blocks)
    if unfreeze and trial.suggest_categorical("two_phase", [True, False]):
        # head alone first, then the unfrozen blocks join at a lower learning rate
        trial.suggest_int("head_epochs", 1, 5)
        trial.suggest_float("backbone_lr_mult", 0.01, 1.0, log=True)


def space(trial):
    training(trial)
    backbone(trial, BLOCKS)
    return {"backbone": BACKBONE}
