"""The process environment: set in one place, before Ray, TensorFlow or MLflow is imported.

Each of these libraries reads some of its settings from the environment once, at import
(or when it starts its servers), so the CLI calls ``configure`` first thing. Ray's
workers inherit the environment of the process that starts Ray.

And the terminal: TensorFlow's C++ start-up lines (absl's "All log messages before
absl::InitializeLog()", "failed call to cuInit", "Could not find cuda drivers") reach
stderr below Python, and ``TF_CPP_MIN_LOG_LEVEL`` no longer silences all of them. A user
reads them as errors. ``native_chatter_filtered`` filters stderr at the file-descriptor
level; ``--verbose`` shows everything.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading

# Read at import (or at ray.init) by the library named in each comment.
LOCAL_RAY = {
    # Ray: a local Ray takes 127.0.0.1 as its node address and binds every server there,
    # not the machine's outward address (with clusters enabled Ray rewrites a literal
    # 127.0.0.1 to it). Not for a driver that joins a cluster (--address): it must reach
    # the cluster's nodes at their own addresses.
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}
SETTINGS = {
    "RAY_USAGE_STATS_ENABLED": "0",
    # Ray: the first worker log line the driver prints (a dead worker's, say) otherwise
    # replaces builtins.print with tqdm_ray's (we show no tqdm bars). Functions that hold
    # the original print (a ``say=print`` default) then no longer pickle, and Ray Tune
    # pickles its callbacks: the next search in the same process failed to start.
    "RAY_TQDM_PATCH_PRINT": "0",
    # MLflow: one quick try at a tracking server (the default retries with backoff for a
    # minute), and no telemetry.
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    "MLFLOW_DISABLE_TELEMETRY": "true",
}
QUIET = {
    # TensorFlow's C++ logging below errors (oneDNN notes, CPU feature notes)
    "TF_CPP_MIN_LOG_LEVEL": "3",
    # Ray Tune's newer console output prints an experiment banner even at verbose=0; the
    # legacy reporter at verbose=0 is silent, and our Progress display takes its place.
    "RAY_AIR_NEW_OUTPUT": "0",
}


# Ray Tune saves the experiment's state (trials, Optuna's study) every this many seconds,
# read when a fit starts (``experiment_state_period``). A search saves at every step of
# Ray Tune's loop, so that one killed outright (SIGKILL, a lost machine) resumes without
# running again a trial (or a network's epoch) that had finished: measured on 2 cores, 24
# one-second trials through our engine took 19.65 s, against 19.56 s with Ray's default
# ("auto"). The loop steps about ten times a second, mostly without a change; a save that
# would write what the last one wrote (no trial changed since) is skipped
# (``internals.save_experiment_state_only_on_change``). Saving at every step cost a
# classical search's driver 15 s of CPU a minute on the real data and half a core beside
# a cnn's epochs (py-spy: the searcher's state pickled and the experiment's folder copied
# again and again); with the skip, trials that wait 5 s cost it 1.9 s a minute against 7.9
# (``python -m bench --only overhead``). A value the user set wins.
STATE_PERIOD_S = "0"
USER_STATE_PERIOD = os.environ.get("TUNE_GLOBAL_CHECKPOINT_S")


def experiment_state_period() -> None:
    """Before a fit: how often Ray Tune saves this search's experiment state (see above)."""
    os.environ["TUNE_GLOBAL_CHECKPOINT_S"] = USER_STATE_PERIOD or STATE_PERIOD_S


# Of the above, what Ray's worker processes read themselves (TensorFlow's log level is read
# where TensorFlow is imported: in the trials). A local Ray's workers inherit this
# process's environment; a cluster's are started by each node's raylet, in that node's
# environment, so a search that joins a cluster sends these in its job's runtime_env.
READ_BY_WORKERS = ("TF_CPP_MIN_LOG_LEVEL", "KERAS_BACKEND", "XLA_PYTHON_CLIENT_PREALLOCATE")


def configure(verbose: bool = False, joins_cluster: bool = False) -> None:
    """Set what the libraries read at import; a variable the user set is kept."""
    for name, value in {**SETTINGS, **({} if joins_cluster else LOCAL_RAY), **({} if verbose else QUIET)}.items():
        os.environ.setdefault(name, value)


def use_backend(name: str | None) -> None:
    """Keras's backend for this process and its workers (``--backend``; else the user's
    KERAS_BACKEND, else TensorFlow). Keras reads it once, at import: a process that has
    Keras loaded already keeps its backend, and asking for another is refused. Under JAX
    a trial takes GPU memory as it needs it (XLA's default takes 75% of the GPU at once,
    and trials share GPUs)."""
    from trainables.errors import FerSearchError

    if name is None:
        return
    keras = sys.modules.get("keras")
    if keras is not None and keras.backend.backend() != name:
        raise FerSearchError(f"--backend {name}: Keras is loaded with {keras.backend.backend()} in this process already",
                             hint=f"run the command in a fresh process, or set KERAS_BACKEND={name} before it starts")
    if name == "jax":
        import importlib.util

        if importlib.util.find_spec("jax") is None:
            raise FerSearchError("--backend jax: JAX is not installed", hint="pip install -e '.[jax]'")
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    os.environ["KERAS_BACKEND"] = name


def for_workers() -> dict:
    """The settings of this process (``configure``'s or the user's) that Ray's workers read."""
    return {name: os.environ[name] for name in READ_BY_WORKERS if name in os.environ}


def check_before_ray(address: str | None) -> None:
    """Before a local Ray starts: Ray reads its node address setting at import, so it must
    have been imported after ``configure``; otherwise its servers would bind the machine's
    outward address."""
    if address is None and "ray" in sys.modules and os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER") != "0":
        raise RuntimeError("Ray was imported before search.environment.configure(): a local Ray would not bind to 127.0.0.1")
    configure(joins_cluster=address is not None)


# TensorFlow's native log lines: absl/glog format ("I0000 00:00:1795.. 1172 file.cc:31] ..."),
# absl's preamble, TF's older format, and the CPU-feature note. Fatal (F) lines still show.
CHATTER = re.compile(
    r"^(?:[IWE]\d{4} [\d:.]+\s+\d+ [\w./-]+:\d+\] "
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|\d{4}-\d\d-\d\d [\d:.]+: [IWE] (?:tensorflow|external|xla)/"
    r"|This TensorFlow binary is optimized to use available CPU instructions"
    r"|To enable the following instructions: .* rebuild TensorFlow)"
)


@contextlib.contextmanager
def native_chatter_filtered(enabled: bool = True):
    """Route file descriptor 2 through a filter that drops ``CHATTER`` lines and passes
    everything else on, as it comes (Python's own stderr writes included)."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr (a closed descriptor): nothing to filter
        yield
        return
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward():
        try:
            with os.fdopen(read_end, "rb") as lines:
                for line in lines:
                    if not CHATTER.match(line.decode(errors="replace")):
                        os.write(saved, line)
        except OSError:  # the terminal went away
            pass

    reader = threading.Thread(target=forward, name="stderr-filter", daemon=True)
    reader.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # the pipe's last writer here is gone: the reader sees its end
        reader.join(timeout=2)
        if not reader.is_alive():  # else a process started inside still holds the pipe: the
            os.close(saved)        # reader goes on passing its lines to the terminal
