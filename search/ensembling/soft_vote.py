"""Soft votes of models' probabilities, with optional test-time augmentation.

Weights are fitted on val alone: the convex combination of the members' probabilities
with the least log-loss on val (softmax-parametrised, scipy's L-BFGS). Test-time
augmentation averages a member's probabilities over the face, its mirror image and the
face shifted two pixels each way (six views): FER2013 is left-right symmetric, and its
faces are registered to a few pixels.
"""

from __future__ import annotations

import numpy as np

SHIFT = 2  # pixels, for the shifted views of test-time augmentation
# Probabilities are sums, and different paths sum them in different orders (the final
# choice adds a member's plain pass to its other views, evaluate predicts the six views
# at once; a forest adds its trees in its threads' order). Two emotions tied exactly (a
# forest's votes often tie) then differ by a unit in the last place, either way: a tiny
# auto search's final scored one test face of 79 differently from evaluate. Rounded this
# far first, a tie stays a tie and every path gives it to the first emotion.
TIE_DECIMALS = 12


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


def member_probabilities(model, card: dict | None, faces: np.ndarray, tta: bool,
                         plain: np.ndarray | None = None) -> np.ndarray:
    """A member's probabilities, averaged over the TTA views: all the views in one pass,
    spread over every core for a scikit-learn model (an SVC predicts on one core).
    ``plain``: its probabilities of the faces themselves, where already computed (the
    first view is not predicted again)."""
    from ..parallel import fast, runner
    from .probabilities import probabilities

    run = runner(fast(model))  # an SVC through BLAS (every core already), else row chunks on every core
    if not tta:
        return run(lambda x: probabilities(model, card, x), faces)
    stacked = views(faces)
    predicted = stacked if plain is None else stacked[1:]
    proba = run(lambda x: probabilities(model, card, x), np.concatenate(predicted)).reshape(len(predicted), len(faces), -1)
    return (proba.sum(axis=0) + (0 if plain is None else plain)) / len(stacked)


def decide(proba: np.ndarray) -> np.ndarray:
    """The most probable emotion of each row, an exact tie to the first, whatever order
    the probabilities were summed in."""
    return np.round(np.asarray(proba, dtype=np.float64), TIE_DECIMALS).argmax(axis=1)


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
        return decide(self.predict_proba(faces))
