"""A trainable with two kinds of failure inside a real search, and the real svm
trainable otherwise:
- the space's default configuration (the search's first trial) raises;
- the first other trial to start is killed by SIGKILL, as the kernel's out-of-memory
  killer would do it, each time it runs (Ray Tune retries a trial whose worker died).
"""

import os
import signal
from pathlib import Path

from spaces.svm import DEFAULTS
from trainables import svm


def train(config, data, settings):
    if config == DEFAULTS:
        raise RuntimeError("this trial fails on purpose")
    if _is_the_victim():
        os.kill(os.getpid(), signal.SIGKILL)
    svm.train(config, data, settings)


def _is_the_victim() -> bool:
    """Whether this trial is the one to kill: the first to claim a marker in the
    experiment's folder, named by its trial id so that its retry is killed too."""
    from ray import tune

    context = tune.get_context()
    marker = Path(context.get_trial_dir()).parent / "victim"
    try:
        with open(marker, "x") as f:
            f.write(context.get_trial_id())
        return True
    except FileExistsError:
        return marker.read_text() == context.get_trial_id()


final_model = svm.final_model
