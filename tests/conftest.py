"""Shared fixtures: tiny FER sources in every format, a real local Ray, the CLI in-process.

One place shrinks everything for tests (in the manner of lightning-hydra-template): the
demo size, trial counts and output folders all come from here.

The map: ``search/`` and ``trainables/`` hold the tests of those rooms' functions (the
fast path, ``-m "not slow"``, a few minutes); ``e2e/`` the end-to-end runs of the CLI,
each marked ``slow`` here; ``fakes/`` the trainables that fail on purpose.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL_ZIP = ROOT.parent / "shared" / "fer2013" / "fer2013.zip"
TINY_DEMO = "demo:700"

# Keep every library's files out of HOME, and Ray's usage stats off.
_SANDBOX = Path(tempfile.mkdtemp(prefix="fer-search-tests-"))
atexit.register(shutil.rmtree, _SANDBOX, ignore_errors=True)
for var, sub in (("KERAS_HOME", "keras"), ("MPLCONFIGDIR", "mpl"), ("FER_SEARCH_CACHE", "cache")):
    os.environ[var] = str(_SANDBOX / sub)
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
# As the CLI does for its local Ray (search/engine/tuner.py): node address and servers on 127.0.0.1.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
# The tests' `mlflow server` and `mlflow ui` run no MLflow jobs (its GenAI scorers): without
# this each start adds a job runner and about eight Huey consumers, each importing MLflow
# (measured: about 40 s of CPU per start, a fifth of all MLflow's CPU in the suite).
os.environ["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
os.environ["DO_NOT_TRACK"] = "1"

# What CI promises to test (.ci/run names them in FER_SEARCH_REQUIRE): a test that would
# skip for want of one of them fails there instead, so a missing file or a broken install
# cannot pass as a skip. On a user's machine they skip, saying what is missing.
REQUIRED = {name.strip() for name in os.environ.get("FER_SEARCH_REQUIRE", "").split(",") if name.strip()}


def missing(what: str, why: str) -> str:
    """A skip's reason naming what is missing (``real_data``, ``chromium``, ``onedal``)."""
    return f"missing {what}: {why}"


def skip_missing(what: str, why: str):
    pytest.skip(missing(what, why))


needs_real_data = pytest.mark.skipif(not REAL_ZIP.exists(), reason=missing("real_data", f"real FER2013 not found at {REAL_ZIP}"))

EMOTION_FOLDERS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def pytest_collection_modifyitems(config, items):
    """Every end-to-end test (tests/e2e/) is slow: the fast path leaves them out."""
    for item in items:
        if "e2e" in Path(str(item.fspath)).parts:
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A skip for want of something CI promises (``REQUIRED``) is a failure."""
    report = yield
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        what = reason.removeprefix("missing ").split(":", 1)[0] if reason.startswith("missing ") else None
        if what in REQUIRED:
            report.outcome, report.longrepr = "failed", f"FER_SEARCH_REQUIRE promises {what}, and it is {reason}"
    return report


# pytest-xdist runs two tests at once (addopts: ``-n 2``): on 2 cores a quarter of the serial
# suite's time was one core waiting on the other's single-threaded start-ups (imports, Ray,
# MLflow). A test marked ``alone`` (its assertion is about wall-clock time, or it waits on
# a process with a deadline) runs with no test beside it: every test holds one lock shared
# for its setup, call and teardown, an ``alone`` test holds it exclusively. filelock's
# ReadWriteLock is SQLite's lock, whose waiting writer keeps new readers out.
_XDIST_RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID")


def _lock_of(run: str | None) -> Path:
    return Path(tempfile.gettempdir()) / f"fer-search-tests-{run}.lock"


_MACHINE_LOCK = _lock_of(_XDIST_RUN)


def _machine_share(item) -> contextlib.AbstractContextManager:
    if not _XDIST_RUN:
        return contextlib.nullcontext()  # one test at a time already
    from filelock import ReadWriteLock

    lock = ReadWriteLock(_MACHINE_LOCK)
    return lock.write_lock() if item.get_closest_marker("alone") else lock.read_lock()


# The lock's files are removed by the run's controller once its workers have ended. Removed
# at a worker's exit, they were gone while the other worker still took the lock for its last
# tests (a CI-like run ended in filelock's FileNotFoundError), and so they could be at the
# exit of any process that imports this file with the run's id inherited (the harness
# test's inner pytest).
_RUN_LOCKS: set = set()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist's controller, starting a worker: the lock that worker's run will take."""
    _RUN_LOCKS.add(_lock_of(node.workerinput["testrunuid"]))


def pytest_unconfigure(config):
    for lock in _RUN_LOCKS:
        for path in lock.parent.glob(f"{lock.name}*"):
            path.unlink(missing_ok=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    with _machine_share(item):
        return (yield)


@pytest.fixture(autouse=True)
def _run_in_tmp(tmp_path, monkeypatch):
    """Every test runs in its own folder: the CLI's default results/, models/ and data/
    are never the project's own; no test's MLflow store outlives it (``mlflow.set_tracking_uri``
    sets the environment variable every later search would read)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(scope="session")
def faces():
    """(images, labels): 10 train and 3 test faces per class, from the demo generator."""
    from trainables import demo

    d = demo.generate(1400, seed=7)
    train_idx = np.concatenate([np.flatnonzero(d.labels == c)[:10] for c in range(7)])
    test_idx = np.concatenate([np.flatnonzero(d.labels == c)[10:13] for c in range(7)])
    return d.images[train_idx], d.labels[train_idx], d.images[test_idx], d.labels[test_idx]


def png(img: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


def tree_files(faces, folder_case=str.lower, test_prefix="PublicTest") -> dict[str, bytes]:
    """{relative path: bytes} of a Kaggle-style tree (PNG, so pixels survive exactly)."""
    tr_x, tr_y, te_x, te_y = faces
    files = {}
    for i, (img, y) in enumerate(zip(tr_x, tr_y)):
        files[f"train/{folder_case(EMOTION_FOLDERS[y])}/Training_{i}.png"] = png(img)
    for i, (img, y) in enumerate(zip(te_x, te_y)):
        files[f"test/{folder_case(EMOTION_FOLDERS[y])}/{test_prefix}_{i}.png"] = png(img)
    return files


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def write_zip(path: Path, files: dict[str, bytes], prefix: str = "") -> Path:
    """A zip of ``files``, every member dated alike: an archive's fingerprint holds its
    members' dates (two written a second apart differed, and a test of a same-content
    archive failed when the clock passed zip's 2-second step between them)."""
    with zipfile.ZipFile(path, "w") as zf:
        for rel, data in files.items():
            zf.writestr(zipfile.ZipInfo(prefix + rel, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return path


def write_csv(path: Path, faces, usage_test="PrivateTest", with_usage=True) -> Path:
    tr_x, tr_y, te_x, te_y = faces
    lines = ["emotion,pixels,Usage" if with_usage else "emotion,pixels"]
    # val (PublicTest) is the first 7 test faces, test (PrivateTest) the rest
    rows = [(y, x, "Training") for x, y in zip(tr_x, tr_y)]
    rows += [(y, x, "PublicTest" if i < 7 else usage_test) for i, (x, y) in enumerate(zip(te_x, te_y))]
    for y, x, usage in rows:
        pixels = " ".join(map(str, x.ravel()))
        lines.append(f"{y},{pixels},{usage}" if with_usage else f"{y},{pixels}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def tree(tmp_path, faces) -> Path:
    return write_tree(tmp_path / "fer", tree_files(faces))


@pytest.fixture
def fer_zip(tmp_path, faces) -> Path:
    return write_zip(tmp_path / "fer.zip", tree_files(faces))


@pytest.fixture
def fer_csv(tmp_path, faces) -> Path:
    return write_csv(tmp_path / "fer.csv", faces)


@pytest.fixture
def cache_dir(tmp_path) -> Path:
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def ray_local():
    """One real Ray for the session, bound to 127.0.0.1; the CLI reuses it in-process."""
    import ray

    ray.init(address="local", _node_ip_address="127.0.0.1", include_dashboard=False, num_cpus=2,
             object_store_memory=400 * 1024 * 1024, log_to_driver=False)
    # Its log monitor reads every worker's log ten times a second for a driver that asked
    # for none (log_to_driver=False): over a suite's hundreds of worker logs, 3% of a core
    # for the whole run (measured: 82 and 56 s of CPU in a 40-minute suite). ray.init has
    # no switch for it; the node kills it as at its own shutdown.
    ray._private.worker._global_node.kill_log_monitor(check_alive=False)
    yield
    ray.shutdown()


class CliResult:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err


def run_cli(*argv) -> CliResult:
    """The real CLI, in-process (so it reuses the session's Ray)."""
    from search.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return CliResult(code, out.getvalue(), err.getvalue())


class Tiny:
    """Every end-to-end search's tiny settings and output folders, in one place (in the
    manner of lightning-hydra-template's test configuration): the demo set, at most an
    epoch, no download, results/ and models/ under the test's tmp_path."""

    CLASSICAL_DATA = TINY_DEMO
    NETWORK_DATA = "demo:280"  # a ResNet epoch on a few hundred faces takes seconds here...
    # ...at 48 pixels (224: minutes), the backbone frozen (its blocks unfreeze in tests/test_networks.py)
    PRETRAINED = ("--weights", "none", "--fix", "input_size=48", "--fix", "unfreeze_blocks=0")
    # A cnn of two blocks at width 16: a tiny search tests the search, not the network. The
    # defaults (four blocks at width 32) took 6 s an epoch of 231 faces here and 14 s the
    # first (its graph traced), this one 1.6 s and 6 s; sampled, a space's widest is 4 times
    # the defaults' work. (The real-data test and tests/test_networks.py build the others.)
    SMALL_CNN = ("--fix", "width=16", "--fix", "depth=2")

    def __init__(self, root: Path):
        self.results, self.models = root / "results", root / "models"

    @property
    def folders(self) -> tuple:
        return ("--results-dir", self.results, "--models-dir", self.models)

    @property
    def tracked_folders(self) -> tuple:
        """``folders``, for a search tracked in the embedded store (``prepare_store``)."""
        self.prepare_store()
        return self.folders

    def prepare_store(self) -> None:
        prepare_store(self.results)

    def argv(self, family: str) -> list:
        """The settings of a tiny search of ``family`` (later options on a command line win)."""
        from search import registry

        f = registry.get(family)
        if not f.is_network:
            return ["--data", self.CLASSICAL_DATA, *self.folders]
        held = self.PRETRAINED if f.pretrained else self.SMALL_CNN if {"width", "depth"} <= set(f.space().DEFAULTS) else ()
        return ["--data", self.NETWORK_DATA, "--max-epochs", 1, *held, *self.folders]

    def search(self, family: str, *extra) -> CliResult:
        """``python -m search FAMILY`` with the tiny settings, then ``extra``."""
        if "--no-tracking" not in extra:
            self.prepare_store()
        return run_cli(family, *self.argv(family), *extra)


_EMPTY_STORE = _SANDBOX / "mlflow-empty" / "mlflow.db"


def prepare_store(results: Path) -> None:
    """The embedded store of ``results`` starts as a copy of one MLflow made once per
    session: MLflow creates a new store's tables in about 4 s. (tests/test_tracking.py's
    embedded-store test still has MLflow create its own.)"""
    if not (results / "mlflow.db").exists():
        results.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(empty_mlflow_store(), results / "mlflow.db")


def empty_mlflow_store() -> Path:
    """A new embedded MLflow store, made by MLflow itself once per session."""
    if not _EMPTY_STORE.exists():
        from mlflow import MlflowClient

        _EMPTY_STORE.parent.mkdir(parents=True, exist_ok=True)
        MlflowClient(f"sqlite:///{_EMPTY_STORE}").search_experiments()
    return _EMPTY_STORE


@pytest.fixture
def tiny(tmp_path) -> Tiny:
    return Tiny(tmp_path)


@pytest.fixture
def test_family(monkeypatch):
    """``register(name, space_module, trainable_module, kind, **fields)``: a family whose
    trainable is a test module, registered for one test (``fields``: the rest of its
    ``registry.Family``). Workers import our packages by name; the
    test module travels to them by value instead."""
    import importlib

    import cloudpickle

    from search import registry

    modules = []

    def register(name: str, space_module: str, trainable_module: str, kind: str = registry.CLASSICAL, **fields) -> str:
        module = importlib.import_module(trainable_module)
        cloudpickle.register_pickle_by_value(module)
        modules.append(module)
        monkeypatch.setitem(registry.FAMILIES, name,
                            registry.Family(name, f"test family {name}", space_module, trainable_module, kind, **fields))
        return name

    yield register
    for module in modules:
        cloudpickle.unregister_pickle_by_value(module)


@pytest.fixture(scope="session")
def exported_pair(tmp_path_factory, ray_local) -> Path:
    """An svm search (4 trials) and an rf search (1) on the demo set, each exporting its
    model: what the predict, ensemble and report tests read. (Tests may add files beside
    the models; none changes them for good.)"""
    if not _XDIST_RUN:
        return _export_pair(tmp_path_factory.mktemp("exported"))
    # Made once for the run, not once per pytest-xdist worker (its modules are spread over
    # both): the first worker to need it makes it, the other waits and reads the same
    # folder (pytest-xdist's documented pattern for a session fixture).
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp().parent / "exported"
    with FileLock(f"{root}.lock"):
        if not (root / "done").exists():
            _export_pair(root)
            (root / "done").touch()
    return root


def _export_pair(root: Path) -> Path:
    for family, extra in (("svm", ("--trials", 4)), ("rf", ("--trials", 1, "--scheduler", "none"))):
        result = run_cli(family, "--data", TINY_DEMO, *extra, "--name", f"pair-{family}", "--no-tracking",
                         "--results-dir", root / "results", "--models-dir", root / "models")
        assert result.code == 0, result.err
        (root / f"{family}.out").write_text(result.out)  # what the search printed
    return root
