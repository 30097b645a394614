"""``search/internals.py``'s reads of a real Ray Tune run: the ResultGrid's trials and the
saved experiment state that a resume continues from."""

from __future__ import annotations

import json

import pytest

from search import internals


def test_a_finished_runs_trials_and_saved_state_read_as_internals_expects(ray_local, tmp_path):
    from ray import tune

    def trainable(config):
        if config["x"] == 2:
            raise ValueError("this trial fails")
        tune.report({"v": config["x"]})

    tuner = tune.Tuner(trainable, param_space={"x": tune.grid_search([1, 2])},
                       run_config=tune.RunConfig(name="e", storage_path=str(tmp_path), verbose=0))
    results = tuner.fit()
    assert sorted(t.status for t in internals.result_trials(results)) == ["ERROR", "TERMINATED"]
    # the saved state's trials, in the shape the reader assumes
    state = sorted((tmp_path / "e").glob(internals.EXPERIMENT_STATE_GLOB))[-1]
    trials = [json.loads(t[0]) if isinstance(t[0], str) else t[0] for t in json.loads(state.read_text())[internals.TRIAL_DATA]]
    assert sorted(t["status"] for t in trials) == ["ERROR", "TERMINATED"]
    assert {t["trial_id"] for t in trials} == {t.trial_id for t in internals.result_trials(results)}
    assert internals.unfinished_trials(tmp_path / "e") == set()  # parsed (not None): nothing left to continue


def _saves_and_steps(tmp_path, name: str, monkeypatch) -> tuple[int, int, object]:
    """A Ray Tune run of two trials that each report three times a second apart, its state
    saved at every step (period 0): how many saves it wrote, in how many loop steps."""
    import time

    from ray import tune
    from ray.tune.execution.tune_controller import TuneController

    counted = {"saves": 0, "steps": 0}
    save, step = TuneController.save_to_dir, TuneController.step

    def counting_save(self):
        counted["saves"] += 1
        return save(self)

    def counting_step(self):
        counted["steps"] += 1
        return step(self)
    monkeypatch.setattr(TuneController, "save_to_dir", counting_save)
    monkeypatch.setattr(TuneController, "step", counting_step)
    monkeypatch.setenv("TUNE_GLOBAL_CHECKPOINT_S", "0")

    def trainable(config):
        for i in range(3):
            time.sleep(1.0)
            tune.report({"v": config["x"] + i})

    tuner = tune.Tuner(trainable, param_space={"x": tune.grid_search([1, 2])},
                       run_config=tune.RunConfig(name=name, storage_path=str(tmp_path), verbose=0))
    results = tuner.fit()
    return counted["saves"], counted["steps"], results


def test_the_experiment_state_is_saved_when_a_trial_changed_not_at_every_step(ray_local, tmp_path, monkeypatch):
    """At a save period of 0 Ray Tune saves (and copies to the results folder) at every step
    of its loop; saved only on a change, it writes a handful for two trials' three reports
    each, and the last state it leaves is the same: every trial finished, its last result."""
    try:
        internals.save_experiment_state_only_on_change(on=False)  # Ray Tune's own saving: the peer
        every_step, steps, _ = _saves_and_steps(tmp_path, "every", monkeypatch)
        internals.save_experiment_state_only_on_change()
        internals.save_experiment_state_only_on_change()  # twice is once
        on_change, steps_then, results = _saves_and_steps(tmp_path, "changed", monkeypatch)
    finally:
        internals.save_experiment_state_only_on_change()  # as a search leaves this process
    assert every_step >= steps - 1 and steps > 20, (every_step, steps)
    # each trial: added, started, three results, stopped; Ray Tune's forced saves at the end
    # (measured: 12 saves in 58 steps, against 59 in 58)
    assert on_change <= 20 and on_change < steps_then / 3, (on_change, steps_then)
    assert internals.unfinished_trials(tmp_path / "changed") == set()
    state = sorted((tmp_path / "changed").glob(internals.EXPERIMENT_STATE_GLOB))[-1]
    trials = [json.loads(t[0]) if isinstance(t[0], str) else t[0] for t in json.loads(state.read_text())[internals.TRIAL_DATA]]
    assert len(trials) == 2 and all(t["status"] == "TERMINATED" for t in trials)
    assert sorted(r.metrics["v"] for r in results) == [3, 4]


def test_two_fits_run_at_once_in_two_threads_and_the_threads_one_stops_and_resumes(ray_local, tmp_path):
    """auto's two lanes: each fit runs its own trainable (Ray keeps one per name), the
    thread's fit stops gracefully where ``stop_fit_in_this_thread`` asks (no signal reaches
    a thread), its trial is left unfinished, and a restore continues it from its checkpoint."""
    import tempfile
    import threading
    import time
    from pathlib import Path

    from ray import tune

    internals.fits_in_threads()

    def counting(config):
        start = 0
        if checkpoint := tune.get_checkpoint():
            with checkpoint.as_directory() as folder:
                start = int((Path(folder) / "i").read_text())
        for i in range(start, 40):
            time.sleep(0.3)
            with tempfile.TemporaryDirectory() as folder:
                (Path(folder) / "i").write_text(str(i + 1))
                tune.report({"i": i + 1, "who": "counting"}, checkpoint=tune.Checkpoint.from_directory(folder))

    def quick(config):
        time.sleep(2.0)
        tune.report({"who": "quick"})

    def named(fn, name):
        run = tune.with_parameters(fn)
        run.__name__ = name
        return run

    class StopAfterFirst(tune.Callback):
        def __init__(self):
            self.stopped = None

        def on_trial_result(self, iteration, trials, trial, result, **info):
            if self.stopped is None and result["i"] >= 2:
                self.stopped = internals.stop_fit_in_this_thread()

    stop, started, out = StopAfterFirst(), threading.Barrier(2), {}

    def in_thread():
        tuner = tune.Tuner(named(counting, "counting"), run_config=tune.RunConfig(
            name="side", storage_path=str(tmp_path), verbose=0, callbacks=[stop]))
        started.wait()
        out["side"] = tuner.fit()
    thread = threading.Thread(target=in_thread)
    thread.start()
    main = tune.Tuner(named(quick, "quick"), run_config=tune.RunConfig(name="main", storage_path=str(tmp_path), verbose=0))
    started.wait()
    (quick_result,) = main.fit()
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert quick_result.metrics["who"] == "quick"
    (side,) = out["side"]
    assert stop.stopped is True and side.metrics["who"] == "counting" and side.metrics["i"] < 40
    assert len(internals.unfinished_trials(tmp_path / "side")) == 1  # left to continue, as a paused slice
    (resumed,) = tune.Tuner.restore(str(tmp_path / "side"), trainable=named(counting, "counting"),
                                    resume_unfinished=True).fit()
    counted = [json.loads(line)["i"] for line in (Path(resumed.path) / "result.json").read_text().splitlines()]
    assert counted[-1] == 40 and counted.count(1) == 1  # from its checkpoint, not from the start


def test_a_search_built_under_the_old_trainable_name_restores_under_it(ray_local, tmp_path):
    """An auto run started before its families' trainables were named after them resumes:
    Ray Tune refuses the new name, and names the one it expects only in its message."""
    from ray import tune

    from search.engine.tuner import restore_under_its_name

    def train(config):
        tune.report({"v": 1})

    def named(name):
        run = tune.with_parameters(train)
        run.__name__ = name or "train"
        return run
    tune.Tuner(named(None), run_config=tune.RunConfig(name="old", storage_path=str(tmp_path), verbose=0)).fit()
    with pytest.raises(ValueError) as refused:
        tune.Tuner.restore(str(tmp_path / "old"), trainable=named("svm"))
    assert internals.restore_expected_name(refused.value) == "train"
    assert internals.restore_expected_name(ValueError("something else")) is None
    tuner = restore_under_its_name(str(tmp_path / "old"), named, "svm", resume_unfinished=True)
    assert [r.metrics["v"] for r in tuner.fit()] == [1]
