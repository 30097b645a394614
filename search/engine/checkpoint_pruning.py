"""Disk bounded over a long search: an ended trial's checkpoints are deleted once the
trial can no longer be the one exported (imports Ray: load it lazily).

A trial keeps its best few checkpoints while it runs: a resumed search continues it from
them. A trial that ended (finished, or stopped early by the scheduler) never runs again,
and of the ended trials only the one the export would take (``export.pick_best``: the
best val among those that reached full fidelity, else among all) needs its checkpoints.
Measured before: 60 one-epoch cnn trials on demo:200 left 1.9 GB of checkpoints (32 MB a
trial); a resnet101 checkpoint is over 170 MB. A failed trial keeps its checkpoints
(``--resume --retry-failed`` continues it), and so does an interrupted one.
"""

from __future__ import annotations

from pyarrow.fs import FileSelector, FileType
from ray.tune import Callback
from ray.tune.experiment import Trial

from .. import status
from ..stores import rows
from .export import pick_best


class CheckpointPruning(Callback):
    def __init__(self, fidelity):
        self.fidelity = fidelity
        self.pruned: set[str] = set()

    def on_trial_complete(self, iteration, trials, trial, **info):
        # every trial that ended, restored ones of an earlier run of this search included
        ended = [t for t in trials if t.status == Trial.TERMINATED or t is trial]
        candidates = [{"trial_id": t.trial_id, "status": status.of(t.last_result, None, self.fidelity),
                       "val_accuracy": rows.score(t.last_result or {}),
                       "seconds": (t.last_result or {}).get("time_total_s")} for t in ended]
        keep = pick_best(candidates)
        for t in ended:
            if t.trial_id not in self.pruned and (keep is None or t.trial_id != keep["trial_id"]):
                remove_checkpoints(t)
                self.pruned.add(t.trial_id)


def remove_checkpoints(trial) -> None:
    """The trial's checkpoint folders, wherever its storage is (a local folder or a
    bucket); its reports stay. A failure to delete costs only disk."""
    fs, folder = trial.storage.storage_filesystem, trial.storage.trial_fs_path
    try:
        for entry in fs.get_file_info(FileSelector(folder, allow_not_found=True)):
            if entry.type == FileType.Directory and entry.base_name.startswith("checkpoint_"):
                fs.delete_dir(entry.path)
    except (OSError, RuntimeError):  # (RuntimeError: a trial that never started has no folder)
        pass
