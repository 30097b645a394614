"""A trainable that fails on the space's default configuration (the search's first trial)
and is the real svm trainable otherwise: a failure inside a real search."""

from spaces.svm import DEFAULTS
from trainables import svm


def train(config, data, settings):
    if config == DEFAULTS:
        raise RuntimeError("this trial fails on purpose")
    svm.train(config, data, settings)


final_model = svm.final_model
