"""Ray Tune's experiment folders, as ``sync`` and a search read and write them: the
search's own record (``fer_search.json``) beside Ray's trial folders."""

from __future__ import annotations

import json
from pathlib import Path

from trainables.errors import FerSearchError

SEARCH_FILE = "fer_search.json"  # what `sync` needs to know of a search


def folder_of(storage: str | None, results_dir: Path) -> Path:
    """Where Ray Tune writes the experiments: --storage when it is a path, else results/.
    (A bucket's copy is read back with the bucket's own tools; `sync` needs a path.)"""
    if storage and "://" not in storage:
        return Path(storage)
    return Path(results_dir)


def write_meta(folder: Path, meta: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SEARCH_FILE).write_text(json.dumps(meta, indent=2) + "\n")


def read_meta(folder: Path) -> dict:
    return json.loads((folder / SEARCH_FILE).read_text())


def searches(results_dir: Path, name: str | None) -> list[Path]:
    """The experiment folders of every search in ``results_dir``, or of the one named."""
    if name:
        folder = results_dir / name
        if not (folder / SEARCH_FILE).exists():
            raise FerSearchError(f"{folder}: no search of that name", hint=f"searches live in {results_dir}/<name>/")
        return [folder]
    return sorted(p.parent for p in results_dir.glob(f"*/{SEARCH_FILE}"))


def trial_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and (p / "params.json").exists())


def read_trial(folder: Path) -> dict:
    """A trial folder's config, results (one dict per report) and error text."""
    results = []
    result_file = folder / "result.json"
    if result_file.exists():
        results = [json.loads(line) for line in result_file.read_text().splitlines() if line.strip()]
    params = folder / "params.json"
    error = folder / "error.txt"
    return {
        "trial_id": results[0]["trial_id"] if results else folder.name.split("_")[1],
        "config": json.loads(params.read_text()) if params.exists() else {},
        "results": results,
        "error": error.read_text() if error.exists() else None,
    }
