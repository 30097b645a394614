"""The report's pure parts: which misclassified faces it shows, which curves it draws."""

import numpy as np
import pytest

from search.stores import report


def test_the_mistakes_shown_are_each_classes_surest_in_label_order():
    y = np.array([0, 0, 0, 0, 3, 3, 1, 5, 5])
    predicted = np.array([3, 0, 6, 3, 4, 3, 1, 0, 2])  # class 1's face is right: none shown of it
    confidence = np.array([0.5, 0.99, 0.9, 0.7, 0.4, 0.9, 0.9, 0.3, 0.8])
    assert report.confident_mistakes(y, predicted, confidence, per_class=2) == [2, 3, 4, 8, 7]
    assert report.confident_mistakes(y, predicted, None, per_class=2) == [0, 2, 4, 7, 8]  # no probabilities: the first


def test_learning_curves_draw_the_best_trials_last_report_of_each_epoch():
    def trial(order, curve):
        return {"order": order, "val_accuracy": max(v for _, v in curve),
                "results": [{"epoch": e, "val_accuracy": v, "train_accuracy": v + 0.1, "val_loss": 2 - v, "train_loss": 1.9 - v}
                            for e, v in curve]}

    trials = [trial(i, [(1, 0.1 * i), (2, 0.1 * i + 0.05)]) for i in range(7)]
    trials[6]["results"].append({**trials[6]["results"][-1], "val_accuracy": 0.99})  # epoch 2 again, after a pause
    trials[6]["val_accuracy"] = 0.99
    fig = report.learning_curves_figure(trials, "epoch")
    accuracy, loss = fig.axes
    drawn = {line.get_label(): line.get_ydata().tolist() for line in accuracy.lines if not line.get_label().startswith("_")}
    assert len(drawn) == report.CURVES_OF_BEST  # the best five of seven, each a val line (and a train one)
    assert drawn["trial 6 (0.990)"] == pytest.approx([0.6, 0.99])  # its last report of epoch 2
    assert "trial 0 (0.050)" not in drawn and len(accuracy.lines) == len(loss.lines) == 2 * report.CURVES_OF_BEST
    assert report.learning_curves_figure([{"order": 0, "val_accuracy": 0.3, "results": [{"val_accuracy": 0.3}]}],
                                         "train_fraction") is None  # nothing per rung to draw
