"""Where a network's random draws stand, kept with its checkpoint.

The augmentation layers and the dropout draw from Keras seed generators, whose states a
``.keras`` file does not keep: a model loaded from its checkpoint starts them again from
their seeds. A trial paused and continued (``auto``'s slices, a stop and ``--resume``)
then replayed its first epoch's augmentations and dropout masks in the epoch after each
restart, in the same order (the input's shuffle restarted from its seed too). The states
are saved beside the model and set again on restore; the shuffle's seed moves on by the
epochs done (``deep.inputs``)."""

from __future__ import annotations

STATE_SUFFIX = "seed_generator_state"  # the name Keras gives every seed generator's state variable


def generators(model):
    """(key, state variable) for each seed generator: its top-level layer's name and its
    place among that layer's (the generators' own names are numbered per process)."""
    for layer in model.layers:
        seeds = [v for v in layer.variables if v.path.endswith(STATE_SUFFIX)]
        for i, variable in enumerate(seeds):
            yield f"{layer.name}/{i}", variable


def generator_states(model) -> dict[str, list[int]]:
    """Each seed generator's state, by ``generators``' key."""
    return {key: [int(n) for n in variable.numpy()] for key, variable in generators(model)}


def set_generator_states(model, states: dict[str, list[int]]) -> int:
    """The states ``generator_states`` gave, set again on the same network (loaded from
    its checkpoint); how many were set. A generator the states do not name keeps its own."""
    import numpy as np

    done = 0
    for key, variable in generators(model):
        if key in states:
            variable.assign(np.asarray(states[key], dtype=variable.dtype))
            done += 1
    return done
