"""Running a model's method over many faces on every core.

scikit-learn's SVC predicts on one core (libsvm), and it releases the GIL while it does,
so row chunks in threads run side by side: the export's 6,460 val and test faces took
over a minute on one core for the real svm defaults' model. A network's predict is
parallel already, and runs as it is.
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


def runner(model):
    """``run(method, x)`` for ``model``'s methods: on every core for a scikit-learn model,
    a plain call for anything else."""
    from sklearn.base import BaseEstimator

    return on_every_core if isinstance(model, BaseEstimator) else (lambda method, x: method(x))
