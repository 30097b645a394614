"""An ``auto`` run's record: ``results/<name>/auto.json``, beside its families' experiment
folders (``results/<name>-<family>/``). It holds what a resume needs (the options, each
family's state and learning curve) and what a person reads afterwards (every decision
with its reason, the final choice). Written after every decision, atomically."""

from __future__ import annotations

import json
from pathlib import Path

from trainables.errors import FerSearchError

from .files import atomic_write

AUTO_FILE = "auto.json"


def write(folder: Path, state: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / AUTO_FILE, lambda tmp: Path(tmp).write_text(json.dumps(state, indent=2, default=str) + "\n"))


def read(folder: Path) -> dict:
    return json.loads((folder / AUTO_FILE).read_text())


def is_auto(folder: Path) -> bool:
    return (Path(folder) / AUTO_FILE).is_file()


def find(results_dir: Path, name: str | None) -> Path:
    """The run named, else the latest auto run in ``results_dir``."""
    if name:
        folder = Path(results_dir) / name
        if not is_auto(folder):
            raise FerSearchError(f"--resume: no auto run named '{name}' in {results_dir}/ (a folder with {AUTO_FILE})",
                                 hint="--results-dir DIR where it ran, or --name NAME")
        return folder
    found = sorted(Path(results_dir).glob(f"*/{AUTO_FILE}"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise FerSearchError(f"--resume: no auto run in {results_dir}/", hint="--results-dir DIR where it ran, or --name NAME")
    return found[-1].parent
