"""The nested, stratified rung subsets of the classical families."""

import numpy as np

from trainables.classical import nested_order, subset_size


def test_nested_order_prefixes_are_stratified():
    rng = np.random.default_rng(0)
    labels = rng.choice(7, size=3000, p=[0.14, 0.015, 0.14, 0.25, 0.17, 0.11, 0.175])
    order = nested_order(labels, seed=1)
    assert sorted(order) == list(range(3000))
    whole = np.bincount(labels, minlength=7) / 3000
    for n in (333, 1000):
        share = np.bincount(labels[order[:n]], minlength=7) / n
        assert np.abs(share - whole).max() < 0.01
    assert np.array_equal(order, nested_order(labels, seed=1))
    assert not np.array_equal(order, nested_order(labels, seed=2))


def test_subset_sizes():
    assert [subset_size(25838, f, 7) for f in (1 / 9, 1 / 3, 1.0)] == [2871, 8613, 25838]
    assert subset_size(30, 1 / 9, 7) == 14  # never fewer than two images per class
