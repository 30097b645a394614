"""Long searches stay healthy: the resident memory of the driver and of the largest Ray
worker early and late in a long search of short trials (peaks over trials 10-19 and over
the last 10), and the disk its experiment folder takes (Linux: it reads /proc).

Minutes of trials, so not in the default run (pyproject's addopts deselect the
``endurance`` marker, to keep CI under 30 minutes): ``python -m pytest -m endurance``.
``python -m bench --only endurance`` measures the same against plain Optuna.
"""

import sys

import pytest

from bench import endurance

pytestmark = [pytest.mark.endurance,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")]


@pytest.mark.parametrize("family,data,trials,experiment_mb", [
    ("svm", "demo:400", 60, 30),  # a finished trial keeps no model (the export took the best)
    # only the best ended trial keeps its checkpoints (at most 3, of up to 55 MB at width 64);
    # before they were pruned, 60 trials left 1.9 GB
    ("cnn", "demo:200", 60, 250),
])
def test_memory_stays_flat_over_a_long_search(family, data, trials, experiment_mb, tmp_path):
    got = endurance.ours(family, data, trials, tmp_path)
    print(f"{family}: driver {got['driver_mb']} MB, largest worker {got['worker_mb']} MB at trials {got['at_trials']}, "
          f"experiment {got['experiment_mb']:.1f} MB")
    (first, last), at = got["driver_mb"], got["at_trials"]
    assert last / first < 1.10, f"driver {first:.0f} -> {last:.0f} MB over trials {at[0]}, then {at[1]}"
    first, last = got["worker_mb"]
    assert last / first < 1.10, f"largest worker {first:.0f} -> {last:.0f} MB over trials {at[0]}, then {at[1]}"
    assert got["experiment_mb"] < experiment_mb, f"{got['experiment_mb']:.0f} MB of experiment folder"
