"""The families' contracts in code (search/contracts.py): every registered family keeps
them, and a module that misses a piece is refused with what it lacks."""

import types

import pytest

from search import registry
from search.contracts import ClassicalTrainable, SpaceModule, Trainable, checked
from trainables.errors import FerSearchError


@pytest.mark.parametrize("family", list(registry.FAMILIES))
def test_every_family_keeps_its_contracts(family):
    f = registry.get(family)
    assert isinstance(f.space(), SpaceModule)
    assert isinstance(f.trainable(), Trainable)
    assert isinstance(f.trainable(), ClassicalTrainable) != f.is_network  # only a classical one fits a final model


def test_a_module_missing_a_piece_is_refused_with_what_it_lacks():
    space = types.ModuleType("spaces.half")
    space.space, space.DEFAULTS = (lambda trial: None), {}
    with pytest.raises(FerSearchError, match=r"^spaces.half is not a SpaceModule: it lacks FIDELITY$"):
        checked(space, SpaceModule)
    trainable = types.ModuleType("trainables.half")
    trainable.train = lambda config, data, settings: None
    assert checked(trainable, Trainable) is trainable
    with pytest.raises(FerSearchError, match="it lacks final_model$"):
        checked(trainable, ClassicalTrainable)


def test_a_registered_family_with_a_broken_module_fails_when_it_is_imported(test_family):
    name = test_family("half", "spaces.svm", "trainables.errors")  # a module with no train()
    with pytest.raises(FerSearchError, match="trainables.errors is not a ClassicalTrainable: it lacks train, final_model"):
        registry.get(name).trainable()
