"""Choosing the final model from candidates' val probabilities, never from test: the single
best model, Caruana's greedy ensemble selection with replacement, or the convex weights
of least log-loss (``soft_vote.fit_weights``, ``ensemble --method weights``), each without
test-time augmentation, with it, and with it for the members it helps on val alone
(``MIXED``: an svm trained on mirrored faces gains nothing from the views, a cnn gains
two points).

Each way is judged on held-out halves of val: fitted on one half, scored on the other,
and the other way round. The best held-out accuracy wins (the simpler way on a tie), and
is then fitted on all of val. An ensemble whose val accuracy ends below its best member's
gives way to that member: the final model is never worse on val than its best member.

Plain numpy over arrays of shape (models, faces, 7).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .soft_vote import decide

# Greedy selection adds one model (a repeat allowed) per round; with a handful of
# candidates, weights in steps of 1/ROUNDS are fine enough (AutoGluon's default is 25).
ROUNDS = 25
METHODS = ("single", "greedy", "weights")  # simplest first: ties go to the first
MIN_WEIGHT = 0.005


def accuracy(proba: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(decide(proba) == y)) if len(y) else float("nan")


def log_loss(proba: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(proba[np.arange(len(y)), y] + 1e-12)))


def blend(probas: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The weighted mean of the models' probabilities, rows summing to 1."""
    mixed = np.tensordot(np.asarray(weights, float), probas, axes=1)
    return mixed / mixed.sum(axis=1, keepdims=True)


def single(probas: np.ndarray, y: np.ndarray) -> np.ndarray:
    """All the weight on the model of best accuracy (then least log-loss)."""
    best = max(range(len(probas)), key=lambda m: (accuracy(probas[m], y), -log_loss(probas[m], y)))
    weights = np.zeros(len(probas))
    weights[best] = 1.0
    return weights


def greedy(probas: np.ndarray, y: np.ndarray, rounds: int = ROUNDS) -> np.ndarray:
    """Caruana et al. (2004): start from the best single model and add, round by round, the
    model (a repeat allowed) that makes the ensemble's accuracy best (ties: least
    log-loss); the weights are the counts of the best round's ensemble."""
    counts = single(probas, y)
    best_counts, best_key = counts.copy(), _key(probas, counts, y)
    for _ in range(rounds - 1):
        trials = [counts + np.eye(len(probas))[m] for m in range(len(probas))]
        counts = max(trials, key=lambda c: _key(probas, c, y))
        if _key(probas, counts, y) > best_key:
            best_counts, best_key = counts.copy(), _key(probas, counts, y)
    return best_counts / best_counts.sum()


def _key(probas, counts, y):
    mixed = blend(probas, counts)
    return accuracy(mixed, y), -log_loss(mixed, y)


def least_log_loss(probas: np.ndarray, y: np.ndarray) -> np.ndarray:
    from .soft_vote import fit_weights

    return fit_weights(list(probas), y)


FITTERS = {"single": single, "greedy": greedy, "weights": least_log_loss}
MIXED = "mixed"  # the variant of TTA for the members it helps on val, plain for the others


def views_help(plain: np.ndarray, tta: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per member, whether its TTA views raise its own accuracy on val (a tie: no). Chosen
    on all of val, one bit a member, before the held-out halves judge the variant."""
    return np.array([accuracy(t, y) > accuracy(p, y) for p, t in zip(plain, tta)])


def mixed(plain: np.ndarray, tta: np.ndarray, helps: np.ndarray) -> np.ndarray:
    """The members' probabilities with TTA where ``helps``, plain elsewhere."""
    return np.where(np.asarray(helps)[:, None, None], tta, plain)


def halves(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two stratified halves of val's indices."""
    rng = np.random.default_rng(seed)
    a, b = [], []
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        a.append(members[: len(members) // 2])
        b.append(members[len(members) // 2:])
    return np.sort(np.concatenate(a)), np.sort(np.concatenate(b))


def held_out(fitter, probas: np.ndarray, y: np.ndarray, seed: int) -> float:
    """The mean accuracy on each half of val of ``fitter``'s weights fitted on the other."""
    a, b = halves(y, seed)
    scores = [accuracy(blend(probas[:, test], fitter(probas[:, fit], y[fit])), y[test]) for fit, test in ((a, b), (b, a))]
    return float(np.mean(scores))


def trimmed(weights: np.ndarray, least: float = MIN_WEIGHT) -> np.ndarray:
    """The weights less those below ``least`` (a member that gets nothing is no member), summing to 1."""
    kept = np.where(weights >= least, weights, 0.0)
    return kept / kept.sum() if kept.sum() > 0 else weights


@dataclass
class Chosen:
    method: str  # single | greedy | weights
    variant: str  # plain | tta | mixed
    weights: np.ndarray  # per candidate, fitted on all of val
    val_accuracy: float  # on all of val (weights fitted there too)
    best_member_val: float
    table: dict  # (variant, method) -> held-out accuracy
    fallback: bool = False  # the ensemble fell below its best member on val: that member instead


def choose(variants: dict[str, np.ndarray], y: np.ndarray, seed: int = 0, methods: tuple = METHODS,
           fallback: bool = True) -> Chosen:
    """The way (method and variant: ``{"plain": probas, "tta": probas, "mixed": probas}``)
    of best held-out accuracy on val, fitted on all of val; a tie goes to the earlier
    variant, then the simpler method. ``methods``: those to judge (one: that one, as a
    user asked for it); without ``fallback``, an ensemble below its best member on val
    stands (the user asked for that ensemble)."""
    y = np.asarray(y, dtype=int)
    table = {(v, m): held_out(FITTERS[m], p, y, seed) for v, p in variants.items() for m in methods}
    order = {key: i for i, key in enumerate((v, m) for v in variants for m in methods)}
    variant, method = max(table, key=lambda key: (table[key], -order[key]))
    weights = trimmed(FITTERS[method](variants[variant], y))
    val = accuracy(blend(variants[variant], weights), y)
    # the best member on val, with or without TTA
    members = {v: single(p, y) for v, p in variants.items()}
    best_variant = max(members, key=lambda v: (accuracy(blend(variants[v], members[v]), y), v == variant))
    best_member_val = accuracy(blend(variants[best_variant], members[best_variant]), y)
    if fallback and val < best_member_val:
        return Chosen("single", best_variant, members[best_variant], best_member_val, best_member_val, table, fallback=True)
    return Chosen(method, variant, weights, val, best_member_val, table)
