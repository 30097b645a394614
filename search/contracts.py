"""What a family's modules must define, in code: ``typing.Protocol``s that the registry
checks when it imports a module, so that a family missing a piece is one line naming
what is missing rather than an AttributeError deep in a search.

- A space module (``spaces/``): ``space(trial)``, an Optuna define-by-run function at
  module level (a restored search unpickles it by name); ``DEFAULTS``, a known-good
  configuration, the search's first trial; ``FIDELITY``, what ASHA counts, its rungs.
- A trainable module (``trainables/``): ``train(config, data, settings)``, the Ray Tune
  function trainable (it reports ``val_accuracy`` at each rung or epoch). A classical
  one also ``final_model(config, data, settings)``: the fitted, exportable model on all
  of train. (A network's final model is its best trial's checkpoint.)
- A model format (``search.stores.models.ModelFormat``): how a family's model is
  stored; the registry names it by ``Family.model_format``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from trainables.errors import FerSearchError


@runtime_checkable
class SpaceModule(Protocol):
    DEFAULTS: dict
    FIDELITY: Any  # spaces.fidelity.Fidelity

    def space(self, trial) -> dict | None: ...


@runtime_checkable
class Trainable(Protocol):
    def train(self, config: dict, data, settings: dict) -> None: ...


@runtime_checkable
class ClassicalTrainable(Trainable, Protocol):
    def final_model(self, config: dict, data, settings: dict) -> Any: ...


def members(protocol: type) -> list[str]:
    """The names a protocol asks for, its own and its bases'."""
    names: list[str] = []
    for cls in reversed(protocol.__mro__):
        if cls in (Protocol, object) or not getattr(cls, "_is_protocol", False):
            continue
        names += [n for n in getattr(cls, "__annotations__", {}) if n not in names]
        names += [n for n, v in vars(cls).items() if callable(v) and not n.startswith("_") and n not in names]
    return names


def checked(module, protocol: type):
    """``module`` itself, once it defines what ``protocol`` asks for."""
    if isinstance(module, protocol):
        return module
    missing = [n for n in members(protocol) if not hasattr(module, n)]
    raise FerSearchError(f"{module.__name__} is not a {protocol.__name__}: it lacks {', '.join(missing)}",
                         hint="search/contracts.py says what each module of a family defines")
