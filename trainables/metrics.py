"""The scores every family and the evaluate command report, under one set of names."""

from __future__ import annotations

import numpy as np

from .labels import EMOTIONS


def accuracy(y_true, y_pred) -> float:
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred))) if len(y_true) else float("nan")


def report(y_true, y_pred) -> dict:
    """accuracy, macro_f1, per_class (precision, recall, f1, support) and confusion_matrix.

    Classes are the seven emotions in label order, present in the data or not, so reports
    of different sources line up.
    """
    from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

    labels = list(range(len(EMOTIONS)))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    present = support > 0
    return {
        "accuracy": accuracy(y_true, y_pred),
        # Macro F1 over the classes the split holds: an absent class is not a failure.
        "macro_f1": float(f1_score(y_true, y_pred, labels=np.flatnonzero(present), average="macro", zero_division=0)),
        "per_class": {
            name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]), "support": int(support[i])}
            for i, name in enumerate(EMOTIONS)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }
