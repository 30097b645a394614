"""``search/internals.py``'s reads of a real Ray Tune run: the ResultGrid's trials and the
saved experiment state that a resume continues from."""

from __future__ import annotations

import json

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
