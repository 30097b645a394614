"""A person's stop inside Ray Tune's loop waits for trials' checkpoints in flight, and the
export finds a trial's newest checkpoint where Ray Tune's state missed it.

The race, seen in the suite: SIGTERM right after a network trial's first report (its
``result.json`` line written) and before Ray Tune recorded the checkpoint that came with
it; Ray Tune's loop ended at that step, the export found no checkpoint and the command
ended in a traceback with exit 1 (``tests/e2e/test_resume.py`` stops a cnn search so)."""

from __future__ import annotations

import signal
from types import SimpleNamespace

import pytest

from search import stopping


@pytest.fixture
def signals(monkeypatch):
    """A command's StopSignals, inside Ray Tune's loop; Ray Tune's stop (SIGUSR1 to this
    process, which would stop pytest) recorded instead of sent."""
    current = stopping.StopSignals()
    monkeypatch.setattr(stopping, "CURRENT", current)  # this test's own, the command's after it
    current.fits = 1
    sent = []
    monkeypatch.setattr(stopping, "end_fit", lambda: sent.append(True))
    return current, sent


def test_a_stop_inside_ray_tunes_loop_waits_for_a_checkpoint_in_flight(signals):
    from search.engine.graceful_stop import GracefulStop

    current, sent = signals
    current._handle(signal.SIGTERM, None)  # the first signal: no exception inside the loop
    assert current.received == signal.SIGTERM and current.stop_pending is not None and not sent
    saving, done = SimpleNamespace(is_saving=True), SimpleNamespace(is_saving=False)
    callback = GracefulStop()
    callback.on_step_end(1, [saving, done])
    assert not sent  # a trial's save is in flight: not at this step
    callback.on_step_end(2, [done, done])
    assert sent == [True]
    callback.on_step_end(3, [done])
    assert sent == [True]  # once
    with pytest.raises(KeyboardInterrupt):  # a second signal stops at once
        current._handle(signal.SIGTERM, None)


def test_a_save_that_never_comes_back_does_not_hold_the_stop_for_ever(signals):
    from search.engine.graceful_stop import GracefulStop

    current, sent = signals
    current._handle(signal.SIGINT, None)
    current.stop_pending -= stopping.SAVE_WAIT_S + 1
    GracefulStop().on_step_end(1, [SimpleNamespace(is_saving=True)])
    assert sent == [True]


def test_no_stop_without_a_signal(signals):
    from search.engine.graceful_stop import GracefulStop

    current, sent = signals
    GracefulStop().on_step_end(1, [SimpleNamespace(is_saving=False)])
    assert not sent and current.received is None


def test_the_export_takes_the_newest_checkpoint_on_disk_where_ray_recorded_none(tmp_path):
    from ray.tune import Checkpoint, Result

    from search.stores.models import newest_checkpoint_on_disk, recorded_checkpoint

    trial = tmp_path / "train_abc_00000"
    for name in ("checkpoint_000000", "checkpoint_000001"):
        (trial / name).mkdir(parents=True)
        (trial / name / "epoch.json").write_text(name)
    unrecorded = Result(metrics={"val_accuracy": 0.4}, checkpoint=None, error=None, path=str(trial), best_checkpoints=[])
    assert recorded_checkpoint(unrecorded) is None  # Ray raises for it: "No checkpoint exists in the trial directory!"
    newest = newest_checkpoint_on_disk(unrecorded.path)
    assert newest is not None and newest.path.endswith("checkpoint_000001")
    assert newest_checkpoint_on_disk(str(tmp_path / "elsewhere")) is None
    first = Checkpoint.from_directory(str(trial / "checkpoint_000000"))
    recorded = Result(metrics={"val_accuracy": 0.4}, checkpoint=first, error=None, path=str(trial),
                      best_checkpoints=[(first, {"val_accuracy": 0.4})])
    assert recorded_checkpoint(recorded).path == first.path  # what Ray recorded comes first
