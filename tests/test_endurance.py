"""Long searches stay healthy: the resident memory of the driver and of the largest Ray
worker at the tenth and at the last trial of a long search of short trials, and the disk
its experiment folder takes (Linux: it reads /proc).

Minutes of trials, so not in the default run (pyproject's addopts deselect the
``endurance`` marker, to keep CI under 30 minutes): ``python -m pytest -m endurance``.
``python -m bench --only endurance`` measures the same against plain Optuna.
"""

import sys

import pytest

from bench import endurance

pytestmark = [pytest.mark.endurance,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")]


@pytest.mark.parametrize("family,data,trials,mb_per_trial", [
    ("svm", "demo:400", 60, 1.0),  # a finished trial keeps no model (the export took the best)
    ("cnn", "demo:200", 60, 20.0),  # a network trial keeps its best checkpoints (a resume needs them)
])
def test_memory_stays_flat_over_a_long_search(family, data, trials, mb_per_trial, tmp_path):
    got = endurance.ours(family, data, trials, tmp_path)
    print(f"{family}: driver {got['driver_mb']} MB, largest worker {got['worker_mb']} MB at trials {got['at_trials']}, "
          f"experiment {got['experiment_mb']:.1f} MB")
    (first, last), at = got["driver_mb"], got["at_trials"]
    assert last / first < 1.10, f"driver {first:.0f} -> {last:.0f} MB from trial {at[0]} to {at[1]}"
    first, last = got["worker_mb"]
    assert last / first < 1.10, f"largest worker {first:.0f} -> {last:.0f} MB from trial {at[0]} to {at[1]}"
    assert got["experiment_mb"] < mb_per_trial * trials, f"{got['experiment_mb']:.0f} MB of experiment folder"
