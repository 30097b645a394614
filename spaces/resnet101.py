"""ResNet101 fine-tuning: as ResNet50, with 33 residual blocks to unfreeze from the top."""

from ._deep import fidelity, training
from .resnet50 import DEFAULTS as _RESNET50_DEFAULTS
from .resnet50 import backbone

BACKBONE = "resnet101"
BLOCKS = 33
FIDELITY = fidelity()
DEFAULTS = dict(_RESNET50_DEFAULTS)


def space(trial):
    training(trial)
    backbone(trial, BLOCKS)
    return {"backbone": BACKBONE}
