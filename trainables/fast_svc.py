"""RBF SVC fits through Intel's oneDAL (scikit-learn-intelex) where it is installed.

Measured on the real FER2013 HOG + PCA 200 features (C=3, 2 threads): oneDAL fits 25,838
faces in 19.7 s against libsvm's 130.5 s, and predicts 2,871 in 2.3 s against 7.5 s,
with the same support vectors and val accuracy (see ``python -m bench --only svc``).

The fitted model is handed back as scikit-learn's own ``sklearn.svm.SVC``: oneDAL's
support vectors, dual coefficients and intercepts already follow libsvm's layout, so
the copy predicts exactly what the oneDAL model predicts (a test checks it), and an
exported pipeline loads through skops with scikit-learn's types alone, with or without
scikit-learn-intelex on the loading machine.
"""

from __future__ import annotations

import numpy as np
from sklearn.svm import SVC


def available() -> bool:
    try:
        import sklearnex.svm  # noqa: F401
    except ImportError:  # not installed, or no wheel for this platform: libsvm it is
        return False
    return True


def cache_mb(threads: int) -> int:
    """The kernel cache of one fit, in MB: 2,000 per thread, at most a quarter of this
    machine's memory per CPU. Measured on the real FER2013 (the svm defaults' fit on all of
    train, 51,676 faces, 2 threads of oneDAL): 117.5 s with 500 MB, 73.9 s with 2,000,
    82.3 s with 4,000 and 80.7 s with 8,000; the same support vectors and val accuracy."""
    import os

    per_cpu = 2000
    try:
        per_cpu = min(per_cpu, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20 / 4 / (os.cpu_count() or 1))
    except (ValueError, OSError, AttributeError):  # no sysconf (Windows): the plain figure
        pass
    return int(max(200, per_cpu * max(1, threads)))


# The solver's stopping tolerance (scikit-learn's default is 1e-3). Measured on the real
# FER2013 (the svm defaults' fit on all 51,676 mirrored faces, oneDAL, 2 threads): 1e-2
# fits in 51.5 s against 63.7 s, val 0.6001 against 0.6008, test 0.6094 both; 3e-2 cost
# 0.0003 of val for a further 8%.
TOLERANCE = 1e-2


def fit(x, y, *, C: float, gamma: float, class_weight, threads: int = 1, backend: str = "auto"):
    """An RBF SVC fitted on (x, y): oneDAL's (it predicts faster, for the trials) or
    scikit-learn's; ``as_sklearn`` turns either into scikit-learn's for export.

    ``backend``: ``onedal``, ``libsvm`` or ``auto`` (oneDAL when installed).
    """
    params = {"C": C, "kernel": "rbf", "gamma": gamma, "class_weight": class_weight, "cache_size": cache_mb(threads),
              "tol": TOLERANCE}
    if backend == "libsvm" or (backend == "auto" and not available()):
        return SVC(**params).fit(x, y)
    import daal4py
    from sklearnex.svm import SVC as OneDalSVC

    # Ray Tune runs a function trainable in a worker thread, where sklearnex ignores
    # n_jobs and takes every core of the node; the process-wide setting is obeyed.
    daal4py.daalinit(max(1, int(threads)))
    return OneDalSVC(**params).fit(x, y)


def as_sklearn(fitted) -> SVC:
    """scikit-learn's SVC holding a oneDAL-fitted model's solution (libsvm layout)."""
    if type(fitted) is SVC:
        return fitted
    svc = SVC(**{k: v for k, v in fitted.get_params().items() if k != "n_jobs"})
    f64 = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731  libsvm's C code reads float64
    svc.support_ = np.asarray(fitted.support_, np.int32)
    svc.support_vectors_ = f64(fitted.support_vectors_)
    svc._n_support = np.asarray(fitted._n_support, np.int32)
    svc.dual_coef_ = svc._dual_coef_ = f64(fitted._dual_coef_)
    svc.intercept_ = svc._intercept_ = f64(fitted._intercept_)
    svc._probA = svc._probB = np.empty(0)
    svc.fit_status_, svc.shape_fit_, svc._gamma, svc._sparse = 0, fitted.shape_fit_, float(fitted._gamma), False
    svc.classes_, svc.n_features_in_, svc.class_weight_ = fitted.classes_, fitted.n_features_in_, f64(fitted.class_weight_)
    svc.n_iter_ = np.asarray(fitted.n_iter_, np.int32)
    return svc


# -- Predicting with a fitted RBF SVC through BLAS
#
# libsvm predicts one face at a time, one kernel row after another: the svm defaults' model
# on all of FER2013 (46,820 support vectors) took 41.5 s for the 2,871 val faces on one
# core. The same decision values as one matrix product per chunk of faces took 6.2 s,
# differing from libsvm's by at most 1.7e-6, with no sign changed: the same votes.

CHUNK = 1024  # faces per kernel block: 1,024 x 46,820 float64 is 380 MB


def is_rbf_svc(model) -> bool:
    return isinstance(model, SVC) and model.kernel == "rbf" and not getattr(model, "_sparse", False)


def ovo_decision(svc: SVC, z: np.ndarray) -> np.ndarray:
    """libsvm's one-vs-one decision values of ``svc`` on features ``z``, (n, k(k-1)/2),
    pairs in libsvm's order (0-1, 0-2, ..., 1-2, ...): positive votes for the first."""
    sv = np.asarray(svc.support_vectors_, dtype=np.float64)
    gamma, k = float(svc._gamma), len(svc.classes_)
    starts = np.concatenate([[0], np.cumsum(svc._n_support)])
    sv_norms = np.einsum("ij,ij->i", sv, sv)
    z = np.asarray(z, dtype=np.float64)
    out = np.empty((len(z), k * (k - 1) // 2))
    for lo in range(0, len(z), CHUNK):
        block = z[lo:lo + CHUNK]
        kernel = block @ sv.T
        kernel *= -2.0
        kernel += np.einsum("ij,ij->i", block, block)[:, None]
        kernel += sv_norms[None, :]
        np.maximum(kernel, 0.0, out=kernel)
        kernel *= -gamma
        np.exp(kernel, out=kernel)
        pair = 0
        for i in range(k):
            for j in range(i + 1, k):
                own, other = slice(starts[i], starts[i + 1]), slice(starts[j], starts[j + 1])
                out[lo:lo + len(block), pair] = (kernel[:, own] @ svc._dual_coef_[j - 1, own]
                                                 + kernel[:, other] @ svc._dual_coef_[i, other] + svc._intercept_[pair])
                pair += 1
    return out


def votes_of(svc: SVC, decision: np.ndarray) -> np.ndarray:
    """The labels libsvm predicts from one-vs-one decision values: most votes, a tie to the
    first class."""
    k = len(svc.classes_)
    votes = np.zeros((len(decision), k), dtype=np.int64)
    pair = 0
    for i in range(k):
        for j in range(i + 1, k):
            wins = decision[:, pair] > 0
            votes[:, i] += wins
            votes[:, j] += ~wins
            pair += 1
    return svc.classes_[votes.argmax(axis=1)]


def ovr_of(svc: SVC, decision: np.ndarray) -> np.ndarray:
    """scikit-learn's one-vs-rest decision function from the one-vs-one values."""
    from sklearn.utils.multiclass import _ovr_decision_function

    return _ovr_decision_function(decision < 0, -decision, len(svc.classes_))


class Accelerated:
    """A fitted pipeline ending in an RBF SVC (or the SVC), whose ``predict`` and
    ``decision_function`` go through ``ovo_decision``; every other step as fitted."""

    def __init__(self, model):
        self.model = model
        steps = getattr(model, "steps", None)
        self.svc = steps[-1][1] if steps else model
        self.before = model[:-1] if steps else None
        self.classes_ = self.svc.classes_
        self._last = (None, None)  # (faces, their decision values): predict and decision_function of the same faces cost one pass

    def features(self, x) -> np.ndarray:
        return self.before.transform(x) if self.before is not None else x

    def ovo(self, x) -> np.ndarray:
        if self._last[0] is not x:
            self._last = (x, ovo_decision(self.svc, self.features(x)))
        return self._last[1]

    def predict(self, x) -> np.ndarray:
        return votes_of(self.svc, self.ovo(x))

    def decision_function(self, x) -> np.ndarray:
        return ovr_of(self.svc, self.ovo(x))


def accelerated(model):
    """``Accelerated(model)`` for a pipeline ending in a dense RBF SVC (or one), else None."""
    steps = getattr(model, "steps", None)
    return Accelerated(model) if is_rbf_svc(steps[-1][1] if steps else model) else None
