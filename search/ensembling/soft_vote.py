"""Soft votes of models' probabilities, with optional test-time augmentation.

Weights are fitted on val alone: the convex combination of the members' probabilities
with the least log-loss on val (softmax-parametrised, scipy's L-BFGS). Test-time
augmentation averages a member's probabilities over the face and the face shifted two
pixels each way, each also mirrored (ten views, the ten-crop of Krizhevsky et al. 2012 in
shifts): FER2013 is left-right symmetric, and its faces are registered to a few pixels.
The mirror is half the views, not one of six: on the real data the cnn searched alone for
2 hours scored val 0.6332 plain, 0.6513 with its mirror image alone, 0.6538 with the six
views of the face, its mirror and four shifts, and 0.6590 with these ten (test 0.6369,
0.6548, 0.6520, 0.6631; docs/results.md).
"""

from __future__ import annotations

import numpy as np

SHIFT = 2  # pixels, for the shifted views of test-time augmentation
TTA_VIEWS = 10  # ``views``
# What TTA meant in a manifest that does not say how many views (written before the ten):
# the face, its mirror and the four shifts, the first six of ``views``. Its weights were
# fitted on those.
EARLIER_TTA_VIEWS = 6
# Probabilities are sums, and different paths sum them in different orders (the final
# choice adds a member's plain pass to its other views, evaluate predicts the ten views
# at once; a forest adds its trees in its threads' order). Two emotions tied exactly (a
# forest's votes often tie) then differ by a unit in the last place, either way: a tiny
# auto search's final scored one test face of 79 differently from evaluate. Rounded this
# far first, a tie stays a tie and every path gives it to the first emotion.
TIE_DECIMALS = 12


def views(faces: np.ndarray) -> list[np.ndarray]:
    """The faces and the faces shifted by SHIFT pixels left, right, up and down (edges
    repeated), then the mirror image of each: the faces themselves first, their mirror
    image second."""
    faces = np.asarray(faces)
    padded = np.pad(faces, ((0, 0), (SHIFT, SHIFT), (SHIFT, SHIFT)), mode="edge")
    h, w = faces.shape[1:3]
    s = SHIFT
    shifted = [padded[:, s:s + h, 0:w], padded[:, s:s + h, 2 * s:2 * s + w],
               padded[:, 0:h, s:s + w], padded[:, 2 * s:2 * s + h, s:s + w]]
    return [faces, faces[:, :, ::-1], *shifted, *(v[:, :, ::-1] for v in shifted)]


def member_probabilities(model, card: dict | None, faces: np.ndarray, tta: bool,
                         plain: np.ndarray | None = None, n_views: int = TTA_VIEWS) -> np.ndarray:
    """A member's probabilities, averaged over the first ``n_views`` TTA views: all the
    views in one pass, spread over every core for a scikit-learn model (an SVC predicts on
    one core). ``plain``: its probabilities of the faces themselves, where already computed
    (the first view is not predicted again)."""
    from ..parallel import fast, runner
    from .probabilities import probabilities

    run = runner(fast(model))  # an SVC through BLAS (every core already), else row chunks on every core
    if not tta:
        return run(lambda x: probabilities(model, card, x), faces)
    stacked = views(faces)[:n_views]
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
    """Members' probabilities, weighted; ``predict`` is the most probable emotion. ``tta``:
    for every member, or one flag per member (auto's final choice gives the views to the
    members they help on val alone)."""

    def __init__(self, members: list, cards: list[dict | None], weights, tta, n_views: int = TTA_VIEWS):
        self.members, self.cards, self.weights = members, cards, np.asarray(weights, float)
        self.tta = [bool(tta)] * len(members) if isinstance(tta, bool) else [bool(t) for t in tta]
        self.n_views = n_views  # its weights were fitted on these

    def predict_proba(self, faces) -> np.ndarray:
        faces = np.asarray(faces)
        proba = sum(w * member_probabilities(m, c, faces, tta, n_views=self.n_views)
                    for m, c, w, tta in zip(self.members, self.cards, self.weights, self.tta))
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, faces) -> np.ndarray:
        return decide(self.predict_proba(faces))
