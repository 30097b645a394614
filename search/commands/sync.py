"""``python -m search sync``: log searches to MLflow from their Ray experiment folders.

For a search whose tracking server went away, or that was interrupted. Idempotent: runs
are found again by their tags, and only metric steps MLflow lacks are logged, so a
second sync adds nothing.
"""

from __future__ import annotations

from pathlib import Path

from trainables.errors import FerSearchError

from .. import registry, status
from ..stores import experiments, leaderboard, tracking, tracking_reads
from .options import add_results_dir, add_tracking_options

SUMMARY = "log searches to MLflow afterwards"


def add_parser(sub) -> None:
    p = sub.add_parser("sync", help="log finished or interrupted searches to MLflow (idempotent)")
    p.set_defaults(main=main)
    p.add_argument("--name", help="only this search (default: every search in the results folder)")
    add_results_dir(p, "where the Ray experiment folders are")
    add_tracking_options(p)


def sync_search(folder: Path, uri: str, say=print) -> tuple[int, int]:
    """(trials, metric reports newly logged) for one search folder."""
    meta = experiments.read_meta(folder)
    family = registry.get(meta["family"])
    space = family.space()
    fidelity = type(space.FIDELITY).from_dict(meta["fidelity"]) if meta.get("fidelity") else space.FIDELITY
    tracker = tracking.Tracker(uri, meta["experiment"], meta["search"], family.name,
                               meta["tags"]["data_fingerprint"], folder.parent, say)
    tracker.start_search(meta["tags"], space, found_by="sync")
    trials = logged = 0
    for trial_folder in experiments.trial_folders(folder):
        trial = experiments.read_trial(trial_folder)
        run_id = tracker.trial_run(trial["trial_id"], trial["config"])
        if run_id is None:
            break
        have = tracker.logged_steps(run_id)
        for result in trial["results"]:
            if int(result.get("training_iteration", 0)) not in have:
                tracker.log_result(run_id, result)
                logged += 1
        last = trial["results"][-1] if trial["results"] else None
        outcome = status.FAILED if trial["error"] else status.of(last, None, fidelity)
        tracker.end_trial(run_id, outcome, trial["error"])
        trials += 1
    if tracker.parent_id and not tracker.broken:
        tracker.client.set_terminated(tracker.parent_id, "FINISHED")
    if tracker.broken:
        raise FerSearchError(f"MLflow at {uri} failed during sync ({tracker.broken})", hint="run sync again once it answers")
    return trials, logged


def main(args) -> int:
    results_dir = Path(args.results_dir)
    uri = tracking.resolve_uri(args.tracking_uri, results_dir)
    client = tracking.client(uri)
    found = experiments.searches(results_dir, args.name)
    if not found:
        print(f"no searches in {results_dir}/")
        return 0
    for folder in found:
        trials, logged = sync_search(folder, uri)
        print(f"synced {folder.name}: {trials} trial(s), {logged} new report(s) logged to {uri}")
    board = leaderboard.write_all(results_dir, tracking_reads.leaderboard_rows(client))
    print(f"leaderboard: {board}")
    return 0
