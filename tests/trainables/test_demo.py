"""The embedded demo set: FER-shaped, seeded, fast, learnable but not trivial."""


import numpy as np

from trainables import demo
from trainables.labels import FER2013_TRAIN_COUNTS


def test_shape_labels_and_imbalance():
    d = demo.generate(5000, seed=0)
    assert d.images.shape == (5000, 48, 48) and d.images.dtype == np.uint8
    share = np.bincount(d.labels, minlength=7) / 5000
    fer = np.array(FER2013_TRAIN_COUNTS) / sum(FER2013_TRAIN_COUNTS)
    assert np.abs(share - fer).max() < 0.02
    assert share[1] < 0.03  # disgust stays rare, as in FER2013
    assert 0.08 < (d.usage == "Test").mean() < 0.17


def test_seeded():
    a, b, c = demo.generate(50, seed=1), demo.generate(50, seed=1), demo.generate(50, seed=2)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.images, c.images)


def test_learnable_but_not_trivial():
    """A default RBF SVM on HOG learns it well above chance and well below 100%."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from trainables.features import hog

    d = demo.generate(3000, seed=0)
    x = hog(d.images)
    model = make_pipeline(StandardScaler(), SVC()).fit(x[:2400], d.labels[:2400])
    score = model.score(x[2400:], d.labels[2400:])
    majority = np.bincount(d.labels[2400:]).max() / 600
    assert majority + 0.2 < score < 0.9, score
