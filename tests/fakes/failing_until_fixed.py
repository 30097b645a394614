"""The real svm trainable, except that the space's defaults (a search's first trial)
raise while a file named ``broken`` lies in the search's cache folder (``--cache-dir``,
which the test names): a fault the user fixes before ``--resume --retry-failed``."""

from pathlib import Path

from spaces.svm import DEFAULTS
from trainables import svm


def train(config, data, settings):
    if config == DEFAULTS and (Path(data.cache_dir) / "broken").exists():
        raise RuntimeError("this trial fails until the fault is fixed")
    svm.train(config, data, settings)


final_model = svm.final_model
