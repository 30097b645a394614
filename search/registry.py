"""The model families: name -> (space, trainable, fidelity, exporter).

Modules are named, not imported: an ``svm`` search never imports TensorFlow, and the CLI
lists families without importing any of them. Adding a family is one module in
``spaces/``, one in ``trainables/`` and one line here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from trainables.errors import FerSearchError


@dataclass(frozen=True)
class Family:
    name: str
    summary: str
    space_module: str  # space(trial), DEFAULTS, FIDELITY
    trainable_module: str  # train(config, data, settings), final_model(config, data, settings)
    exporter: str  # "skops" for scikit-learn pipelines
    cpus_per_trial: int = 1
    uses_gpu: bool = False  # a deep family asks for a GPU per trial where the cluster has one

    def space(self) -> ModuleType:
        return importlib.import_module(self.space_module)

    def trainable(self) -> ModuleType:
        return importlib.import_module(self.trainable_module)

    @property
    def is_network(self) -> bool:
        return self.exporter == "keras"

    def fidelity(self, max_epochs: int | None = None) -> dict:
        """The space's fidelity; for networks, its epochs bounded by --max-epochs."""
        fidelity = dict(self.space().FIDELITY)
        if fidelity.get("epochs") and max_epochs:
            fidelity["rungs"] = (1, max_epochs)
        return fidelity

    @property
    def model_suffix(self) -> str:
        return {"skops": ".skops", "keras": ".keras"}[self.exporter]


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("svm", "support vector machine on HOG features (C, gamma, kernel, PCA, HOG)", "spaces.svm", "trainables.svm", "skops"),
        Family("rf", "random forest on HOG features or raw pixels (depth, trees, features)", "spaces.rf", "trainables.rf", "skops"),
        Family("resnet50", "ResNet50 fine-tuning in Keras (learning rates, unfrozen blocks, input size)",
               "spaces.resnet50", "trainables.deep", "keras", uses_gpu=True),
        Family("resnet101", "ResNet101 fine-tuning in Keras (learning rates, unfrozen blocks, input size)",
               "spaces.resnet101", "trainables.deep", "keras", uses_gpu=True),
        Family("cnn", "VGG-style network trained from scratch in Keras (depth, width, learning rate)",
               "spaces.cnn", "trainables.deep", "keras", uses_gpu=True),
    )
}


def get(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise FerSearchError(f"unknown family '{name}'", hint=f"known families: {', '.join(FAMILIES)}") from None
