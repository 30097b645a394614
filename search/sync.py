"""``python -m search sync``: log searches to MLflow from their Ray experiment folders.

For a search whose tracking server went away, or that was interrupted. Idempotent: runs
are found again by their tags, and only metric steps MLflow lacks are logged, so a
second sync adds nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from trainables.errors import FerSearchError

from . import leaderboard, registry, status, tracking
from .run import SEARCH_FILE


def searches(results_dir: Path, name: str | None) -> list[Path]:
    if name:
        folder = results_dir / name
        if not (folder / SEARCH_FILE).exists():
            raise FerSearchError(f"{folder}: no search of that name", hint=f"searches live in {results_dir}/<name>/")
        return [folder]
    return sorted(p.parent for p in results_dir.glob(f"*/{SEARCH_FILE}"))


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


def sync_search(folder: Path, uri: str, say=print) -> tuple[int, int]:
    """(trials, metric reports newly logged) for one search folder."""
    meta = json.loads((folder / SEARCH_FILE).read_text())
    family = registry.get(meta["family"])
    space = family.space()
    fidelity = meta.get("fidelity") or space.FIDELITY
    attr, top = fidelity["attr"], fidelity["rungs"][-1]
    tracker = tracking.Tracker(uri, meta["experiment"], meta["search"], family.name,
                               meta["tags"]["data_fingerprint"], folder.parent, say)
    tracker.start_search(meta["tags"], space)
    trials = logged = 0
    for trial_folder in sorted(p for p in folder.iterdir() if p.is_dir() and (p / "params.json").exists()):
        trial = read_trial(trial_folder)
        run_id = tracker.trial_run(trial["trial_id"], trial["config"])
        if run_id is None:
            break
        have = tracker.logged_steps(run_id)
        for result in trial["results"]:
            if int(result.get("training_iteration", 0)) not in have:
                tracker.log_result(run_id, result)
                logged += 1
        last = trial["results"][-1] if trial["results"] else None
        outcome = status.FAILED if trial["error"] else status.of(last, None, attr, top)
        tracker.end_trial(run_id, outcome, trial["error"])
        trials += 1
    if tracker.parent_id and not tracker.broken:
        tracker.client.set_terminated(tracker.parent_id, "FINISHED")
    if tracker.broken:
        raise FerSearchError(f"MLflow at {uri} failed during sync ({tracker.broken})", hint="run sync again once it answers")
    return trials, logged


def command(args) -> int:
    results_dir = Path(args.results_dir)
    uri = tracking.resolve_uri(args.tracking_uri, results_dir)
    client = tracking.client(uri)
    found = searches(results_dir, args.name)
    if not found:
        print(f"no searches in {results_dir}/")
        return 0
    for folder in found:
        trials, logged = sync_search(folder, uri)
        print(f"synced {folder.name}: {trials} trial(s), {logged} new report(s) logged to {uri}")
    board = leaderboard.write_all(results_dir, tracking.leaderboard_rows(client))
    print(f"leaderboard: {board}")
    return 0
