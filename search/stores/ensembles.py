"""Soft-voting ensembles of exported models, with optional test-time augmentation.

An ensemble is a JSON manifest (``models/ensemble.json``), not a model file: it names
its members by path and sha256, their weights and the TTA setting, and carries the data
it was fitted on and its val and test scores, as a model card does. Loading it checks
every member against the manifest's sha256 (and against the member's own card unless
trusted), then loads each through its own format's guard.

Weights are fitted on val alone: the convex combination of the members' probabilities
with the least log-loss on val (softmax-parametrised, scipy's L-BFGS). Test-time
augmentation averages a member's probabilities over the face, its mirror image and the
face shifted two pixels each way (six views): FER2013 is left-right symmetric, and its
faces are registered to a few pixels.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from trainables.errors import FerSearchError

KIND = "fer-search ensemble"
SHIFT = 2  # pixels, for the shifted views of test-time augmentation


def views(faces: np.ndarray) -> list[np.ndarray]:
    """The faces, mirrored, and shifted by SHIFT pixels left, right, up and down (edges
    repeated)."""
    faces = np.asarray(faces)
    padded = np.pad(faces, ((0, 0), (SHIFT, SHIFT), (SHIFT, SHIFT)), mode="edge")
    h, w = faces.shape[1:3]
    s = SHIFT
    shifted = [padded[:, s:s + h, 0:w], padded[:, s:s + h, 2 * s:2 * s + w],
               padded[:, 0:h, s:s + w], padded[:, 2 * s:2 * s + h, s:s + w]]
    return [faces, faces[:, :, ::-1], *shifted]


def member_probabilities(model, card: dict | None, faces: np.ndarray, tta: bool) -> np.ndarray:
    """A member's probabilities, averaged over the TTA views: all the views in one pass,
    spread over every core for a scikit-learn model (an SVC predicts on one core)."""
    from ..parallel import fast, runner
    from .probabilities import probabilities

    run = runner(fast(model))  # an SVC through BLAS (every core already), else row chunks on every core
    if not tta:
        return run(lambda x: probabilities(model, card, x), faces)
    stacked = views(faces)
    proba = run(lambda x: probabilities(model, card, x), np.concatenate(stacked))
    return proba.reshape(len(stacked), len(faces), -1).mean(axis=0)


def fit_weights(member_proba: list[np.ndarray], y: np.ndarray) -> np.ndarray:
    """Convex weights of the members' val probabilities with the least log-loss."""
    from scipy.optimize import minimize
    from scipy.special import softmax

    stacked = np.stack(member_proba)  # (members, N, 7)
    picked = stacked[:, np.arange(len(y)), np.asarray(y, dtype=int)]  # each member's probability of the truth

    def loss(logits):
        return -np.mean(np.log(softmax(logits) @ picked + 1e-12))

    found = minimize(loss, np.zeros(len(member_proba)), method="L-BFGS-B")
    return softmax(found.x)


class Ensemble:
    """Members' probabilities, weighted; ``predict`` is the most probable emotion."""

    def __init__(self, members: list, cards: list[dict | None], weights, tta: bool):
        self.members, self.cards, self.weights, self.tta = members, cards, np.asarray(weights, float), tta

    def predict_proba(self, faces) -> np.ndarray:
        faces = np.asarray(faces)
        proba = sum(w * member_probabilities(m, c, faces, self.tta)
                    for m, c, w in zip(self.members, self.cards, self.weights))
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, faces) -> np.ndarray:
        return self.predict_proba(faces).argmax(axis=1)


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
    return Ensemble(members, cards, [m["weight"] for m in manifest["members"]], bool(manifest["tta"]))


def write(path: Path, manifest: dict) -> None:
    from .files import atomic_write

    atomic_write(Path(path), lambda tmp: Path(tmp).write_text(json.dumps({"kind": KIND, **manifest}, indent=2) + "\n"))
