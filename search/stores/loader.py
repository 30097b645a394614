"""What ``evaluate``, ``predict`` and a user load: an exported model or an ensemble's
manifest, each through its own checks (above both ``models`` and ``ensembles``, which
loads its members as models)."""

from __future__ import annotations

from pathlib import Path

from . import ensembles, models


def load(path: Path, trust: bool = False):
    """The model at ``path``, or the ensemble its manifest names (its members checked one
    by one); a FerSearchError when it is missing, not one of ours, or (unless ``trust``)
    not what its card or manifest describes."""
    if ensembles.is_manifest(Path(path)):
        return ensembles.load(Path(path), trust=trust)
    return models.load(path, trust=trust)
