"""Soft-voting ensembles as files: a JSON manifest (``models/ensemble.json``), not a model
file. It names its members by path and sha256, their weights and the TTA setting (the
number of views; where only some members take them, each member says so in its ``tta``),
and carries the data it was fitted on and its val and test scores, as a model card does.
Loading it checks every member against the manifest's sha256 (and against the member's
own card unless trusted), then loads each through its own format's guard; the vote
itself is ``ensembling.soft_vote.Ensemble``.
"""

from __future__ import annotations

import json
from pathlib import Path

from trainables.errors import FerSearchError

from ..ensembling.soft_vote import EARLIER_TTA_VIEWS, TTA_VIEWS, Ensemble

KIND = "fer-search ensemble"


def is_manifest(path: Path) -> bool:
    if Path(path).suffix != ".json" or not Path(path).is_file():
        return False
    try:
        return json.loads(Path(path).read_text()).get("kind") == KIND
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return False


def load(path: Path, trust: bool = False) -> Ensemble:
    """The ensemble a manifest names; a FerSearchError when a member is missing, changed
    since the manifest was written, or (unless ``trust``) not vouched for by its card."""
    from . import models

    manifest = json.loads(Path(path).read_text())
    members, cards = [], []
    for m in manifest["members"]:
        member = Path(m["path"])
        if not member.is_absolute():  # written relative to the manifest's folder
            member = Path(path).parent / member
        if not member.is_file():
            raise FerSearchError(f"{path}: its member {member} is missing")
        if models.sha256_of(member) != m["sha256"]:
            raise FerSearchError(f"{path}: its member {member} changed since the ensemble was made (sha256 differs)",
                                 hint="make the ensemble again: python -m search ensemble")
        members.append(models.load(member, trust=trust))
        cards.append(models.read_card(member))
    # a member's own "tta" where auto's final gave the views to some members only
    return Ensemble(members, cards, [m["weight"] for m in manifest["members"]],
                    [bool(m.get("tta", manifest["tta"])) for m in manifest["members"]],
                    int(manifest.get("tta_views", EARLIER_TTA_VIEWS)))


def write(path: Path, manifest: dict) -> None:
    """The manifest, with the views its TTA averages (``tta_views``): its weights were fitted on them."""
    from .files import atomic_write

    manifest = {"kind": KIND, **manifest, "tta_views": TTA_VIEWS if manifest["tta"] else 1}
    atomic_write(Path(path), lambda tmp: Path(tmp).write_text(json.dumps(manifest, indent=2) + "\n"))


def tta_label(manifest: dict) -> str:
    """" + TTA", " + TTA on cnn" (some members only) or "", for a line about the ensemble."""
    taking = [m["family"] for m in manifest["members"] if m.get("tta", manifest["tta"])]
    if not taking:
        return ""
    return " + TTA" if len(taking) == len(manifest["members"]) else f" + TTA on {', '.join(taking)}"
