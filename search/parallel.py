"""Running a model's method over many faces on every core.

An RBF SVC predicts through BLAS (``fast``, ``trainables.fast_svc.Accelerated``): 4.3x
libsvm's speed on two cores for the real svm defaults' model, with the same predictions.
Other scikit-learn models that predict on one core release the GIL while they do, so row
chunks in threads run side by side. A network's predict is parallel already.
"""

from __future__ import annotations

import os


def cores() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def on_every_core(method, x):
    """``method(x)`` on row chunks side by side, one per core, concatenated."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    n = cores()
    if n < 2 or len(x) < 2 * n:
        return method(x)
    with ThreadPoolExecutor(n) as pool:
        return np.concatenate(list(pool.map(method, np.array_split(x, n))))


def fast(model):
    """The model, or what computes its predictions and decision values faster (an RBF SVC
    pipeline: ``trainables.fast_svc.accelerated``)."""
    from trainables.fast_svc import accelerated

    return accelerated(model) or model


def runner(model):
    """``run(method, x)`` for ``model``'s methods: on every core for a scikit-learn model
    that predicts on one, a plain call for anything else (a network, BLAS)."""
    from sklearn.base import BaseEstimator

    return on_every_core if isinstance(model, BaseEstimator) else (lambda method, x: method(x))
