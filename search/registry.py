"""The model families, each described as the driver needs it: name -> Family.

A family says what it is (classical or network), where its space and trainable live, its
fidelity, how its model is stored (``model_format``, a name in
``stores.models.FORMATS``), whether it starts from pretrained weights and which file
those are. The driver asks these questions and never tests a family's name.

Modules are named, not imported: an ``svm`` search never imports TensorFlow, and the CLI
lists families without importing any of them; a module, once imported, is checked against
its contract (``search/contracts.py``). Adding a classical family is one module in
``spaces/``, one in ``trainables/`` and one line here (a model holding classes from
outside scikit-learn, NumPy and SciPy names their modules in ``trusted_types``, and what
else it imports in ``requirements``); adding a pretrained network is one
space module and one line in ``trainables/backbones.py``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from trainables.backbones import BACKBONES
from trainables.errors import FerSearchError

from .contracts import ClassicalTrainable, SpaceModule, Trainable, checked

CLASSICAL, NETWORK = "classical", "network"


@dataclass(frozen=True)
class Family:
    name: str
    summary: str
    space_module: str  # space(trial), DEFAULTS, FIDELITY
    trainable_module: str  # train(config, data, settings); a classical one also final_model(...)
    kind: str = CLASSICAL  # CLASSICAL: scikit-learn on features; NETWORK: Keras, trained by epochs
    weights_file: str | None = None  # a pretrained network's ImageNet weights (Keras' cache name)
    cpus_per_trial: int = 1
    # What its exported model needs beyond scikit-learn, NumPy and SciPy (or Keras): the
    # module prefixes of the classes it may hold, trusted when a skops file is loaded (any
    # other class in a file means it is not one of ours), and the modules (import names)
    # whose installed versions MLflow records with the logged model.
    trusted_types: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()

    def space(self) -> SpaceModule:
        return checked(importlib.import_module(self.space_module), SpaceModule)

    def trainable(self) -> Trainable:
        """The trainable module; a classical one also fits the final model."""
        return checked(importlib.import_module(self.trainable_module), Trainable if self.is_network else ClassicalTrainable)

    @property
    def is_network(self) -> bool:
        return self.kind == NETWORK

    @property
    def uses_gpu(self) -> bool:
        """A network asks for a GPU per trial where the cluster has one."""
        return self.is_network

    @property
    def pretrained(self) -> bool:
        return self.weights_file is not None

    @property
    def model_format(self) -> str:
        return "keras" if self.is_network else "skops"

    def fidelity(self, max_epochs: int | None = None):
        """The space's fidelity (``spaces.fidelity.Fidelity``); a network's ends at --max-epochs."""
        fidelity = self.space().FIDELITY
        return fidelity.up_to(max_epochs) if self.is_network and max_epochs else fidelity


def _network(name: str, summary: str, weights_file: str | None = None) -> Family:
    return Family(name, summary, f"spaces.{name}", "trainables.deep", NETWORK, weights_file)


# A classical model that takes raw faces: its first step is our HOG (OpenCV's).
ON_HOG = {"trusted_types": ("trainables.features.",), "requirements": ("cv2",)}

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("svm", "support vector machine on HOG features (C, gamma, PCA, HOG, mirrored faces)", "spaces.svm", "trainables.svm",
               **ON_HOG),
        Family("rf", "random forest on HOG features (trees, depth, features per split, HOG)", "spaces.rf", "trainables.rf", **ON_HOG),
        *(_network(name, b.summary, b.weights_file) for name, b in BACKBONES.items()),
        _network("cnn", "VGG-style network trained from scratch in Keras (depth, width, learning rate)"),
    )
}


def get(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise FerSearchError(f"unknown family '{name}'", hint=f"known families: {', '.join(FAMILIES)}") from None
