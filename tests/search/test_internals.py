"""Every private part of Ray Tune and Optuna that ``search/internals.py`` reaches, checked
against the installed versions: an upgrade that moves one fails here, by name."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from search import internals


@pytest.fixture
def optuna_search():
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch

    return OptunaSearch({"x": tune.uniform(0, 1)}, metric="val_accuracy", mode="max", seed=0)


def test_the_optuna_trial_of_a_ray_trial_is_the_one_optuna_search_asked_for(optuna_search):
    config = optuna_search.suggest("t1")
    asked = internals.optuna_trial(optuna_search, "t1")
    assert isinstance(asked, optuna.trial.Trial)
    assert asked.params == config
    assert internals.optuna_trial(optuna_search, "never-asked") is None


def test_told_optuna_follows_a_trials_completion(optuna_search):
    optuna_search.suggest("t1")
    assert not internals.told_optuna(optuna_search, "t1")
    optuna_search.on_trial_complete("t1", result={"val_accuracy": 0.4})
    assert internals.told_optuna(optuna_search, "t1")


def test_a_trial_added_to_the_study_is_one_the_sampler_learns_from(optuna_search):
    optuna_search.suggest("t1")
    asked = internals.optuna_trial(optuna_search, "t1")
    internals.add_to_study(optuna_search, optuna.trial.create_trial(params=asked.params, distributions=asked.distributions,
                                                                    value=0.9))
    study = getattr(optuna_search, internals.OPTUNA_STUDY)
    assert [t.value for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))] == [0.9]
    assert study.best_params == asked.params


def test_a_tuners_run_config_searcher_and_scheduler_are_the_ones_it_was_given():
    from ray import tune
    from ray.tune.schedulers import FIFOScheduler
    from ray.tune.search import BasicVariantGenerator

    searcher, scheduler = BasicVariantGenerator(), FIFOScheduler()
    tuner = tune.Tuner(lambda config: None, tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler),
                       run_config=tune.RunConfig(name="parts"))
    run_config, found_searcher, found_scheduler = internals.restored_parts(tuner)
    assert isinstance(run_config, tune.RunConfig) and run_config.name == "parts"
    assert (found_searcher, found_scheduler) == (searcher, scheduler)
    run_config.callbacks = ["set"]
    assert internals.restored_parts(tuner)[0].callbacks == ["set"]


def test_no_saved_state_reads_as_none(tmp_path):
    assert internals.unfinished_trials(tmp_path) is None
    (tmp_path / "experiment_state-2026-01-01_00-00-00.json").write_text("{not json")
    assert internals.unfinished_trials(tmp_path) is None


def test_a_copy_that_meets_rays_own_temporary_file_is_quiet_and_other_sync_failures_show(caplog):
    """Ray Tune saves its searcher's state through a temporary file while its copy of the
    staging folder may be in flight; the copy that meets the renamed file fails with a
    traceback, and the next copy carries the state (``tuner.InterruptWatch``)."""
    import inspect
    import logging

    from ray.tune.execution import experiment_state

    from search.engine.tuner import InterruptWatch

    assert experiment_state.logger.name == internals.RAY_EXPERIMENT_STATE_LOGGER
    assert InterruptWatch.SAVE_RACE in inspect.getsource(experiment_state)
    ray_logger = logging.getLogger(internals.RAY_EXPERIMENT_STATE_LOGGER)

    def save_failed(error):
        try:
            raise error
        except OSError:
            ray_logger.error(f"{InterruptWatch.SAVE_RACE} at '/r/s' failed with exception: ", exc_info=True)

    with caplog.at_level(logging.ERROR, logger=ray_logger.name), InterruptWatch(verbose=False):
        save_failed(FileNotFoundError(2, "Failed to open local file '/tmp/ray/x/.7f-tmp-searcher-state-1.pkl'"))
        assert not caplog.records
        save_failed(FileNotFoundError(2, "Failed to open local file '/tmp/ray/x/result.json'"))
        save_failed(PermissionError(13, "Permission denied: '/r/s/.7f-tmp-searcher-state-1.pkl'"))
    assert len(caplog.records) == 2


def test_ray_tunes_experiment_state_saving_is_where_save_only_on_change_reaches():
    import importlib
    import inspect

    from ray.tune.execution.tune_controller import TuneController

    manager = getattr(importlib.import_module(internals.SAVE_MANAGER_MODULE), internals.SAVE_MANAGER)
    method = getattr(manager, internals.SAVE_METHOD)
    assert list(inspect.signature(getattr(method, "__wrapped__", method)).parameters) == ["self", "save_fn", "force", "wait"]
    source = inspect.getsource(manager)
    assert f"self.{internals.LAST_SYNC} = " in source and f"self.{internals.FORCE_SYNC} = " in source
    controller = inspect.getsource(TuneController)
    assert f"self.{internals.CHANGED_TRIALS}.add(trial)" in controller  # every change marks its trial
    assert f"self.{internals.CHANGED_TRIALS}.clear()" in inspect.getsource(TuneController._get_trial_checkpoints)
    assert "save_fn=self.save_to_dir" in inspect.getsource(TuneController.checkpoint)


def test_a_search_algorithms_saved_finished_flag_is_the_one_reopen_search_clears(tmp_path):
    from ray.tune.search import ConcurrencyLimiter, SearchGenerator, Searcher

    class SaysFinished(Searcher):
        def suggest(self, trial_id):
            return Searcher.FINISHED

        def save(self, checkpoint_path):
            Path(checkpoint_path).write_text("nothing to keep")

        def restore(self, checkpoint_path):
            pass

    assert SearchGenerator.CKPT_FILE_TMPL.format("*") == internals.SEARCH_GEN_STATE_GLOB
    generator = SearchGenerator(ConcurrencyLimiter(SaysFinished(), max_concurrent=1))
    generator._finished = True  # as create_trial_if_possible leaves it when its searcher says FINISHED
    generator.save_to_dir(str(tmp_path), session_str="2026-01-01_00-00-00")
    assert generator.get_state()[internals.SEARCH_FINISHED] is True
    # as --storage names it (a URI, through pyarrow's filesystems), then as a folder: nothing left to reopen
    assert internals.reopen_search(tmp_path.as_uri()) and not internals.reopen_search(tmp_path)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    restored = SearchGenerator(ConcurrencyLimiter(SaysFinished(), max_concurrent=1))
    restored.restore_from_dir(str(tmp_path))
    assert restored.get_state()[internals.SEARCH_FINISHED] is False
    assert not internals.reopen_search(tmp_path / "none")
