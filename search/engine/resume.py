"""``--resume``: which search continues, and the options it keeps.

A resumed search is the same search: its family, data, seed, trial count, searcher,
scheduler and epochs come from its record (``fer_search.json``); passing another value
for one of them is refused with one line. Options that do not change what is searched
(time budget, resources, verbosity, tracking server) may change.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from trainables.errors import FerSearchError

from ..stores import experiments

# option -> what it is called on the command line; the value lives in meta["options"]
KEPT = {"data": "--data", "val_fraction": "--val-fraction", "train_limit": "--train-limit", "seed": "--seed",
        "trials": "--trials", "searcher": "--searcher", "scheduler": "--scheduler", "max_epochs": "--max-epochs",
        "fix": "--fix"}


def options_of(args) -> dict:
    """What a search records so that ``--resume`` can hold it to the same search."""
    return {name: getattr(args, name, None) for name in KEPT}


def find(args, family, where: Path) -> Path:
    """The experiment folder to resume: --name, else the latest search of ``family``."""
    looked = f"search named '{args.name}'" if args.name else f"{family.name} search"
    if args.storage and "://" in args.storage and not args.name:
        raise FerSearchError(f"--resume: name the search to resume from {args.storage}", hint="--resume --name NAME")
    candidates = [where / args.name] if args.name else [
        folder for folder in experiments.searches(where, None) if experiments.read_meta(folder).get("family") == family.name]
    candidates = [c for c in candidates if (c / experiments.SEARCH_FILE).exists() and (c / "tuner.pkl").exists()]
    if not candidates:
        raise FerSearchError(f"--resume: nothing to resume: no {looked} in {where}/ (a folder with {experiments.SEARCH_FILE} "
                             "and Ray Tune's tuner.pkl)", hint="--results-dir DIR where the search ran, or --name NAME")
    folder = max(candidates, key=lambda c: (c / experiments.SEARCH_FILE).stat().st_mtime)
    meta = experiments.read_meta(folder)
    if meta.get("family") != family.name:
        raise FerSearchError(f"--resume: {folder.name} is a {meta.get('family')} search, not {family.name}",
                             hint=f"python -m search {meta.get('family')} --resume --name {folder.name}")
    return folder


def hold_to(args, meta: dict) -> None:
    """Set ``args``' kept options to the search's own; refuse one given otherwise."""
    recorded = meta.get("options")
    if recorded is None:
        raise FerSearchError(f"--resume: {meta['search']} was run by an older fer-search that did not record its options")
    given = set(args.argv)
    for name, flag in KEPT.items():
        value = getattr(args, name, None)
        if flag in given and value != recorded.get(name) and not (name == "data" and _same_path(value, recorded.get(name))):
            raise FerSearchError(f"--resume: {flag} {value} differs from the search's {recorded.get(name)}: "
                                 "a resumed search is the same search", hint=f"leave {flag} out, or start a new search")
        if hasattr(args, name):
            setattr(args, name, recorded.get(name))
    args.name = meta["search"]


def _same_path(a, b) -> bool:
    return a is not None and b is not None and Path(str(a)).resolve() == Path(str(b)).resolve()


def command(args, name: str) -> str:
    """The command that continues ``name``."""
    extra = []
    if args.results_dir != "results":
        extra += ["--results-dir", str(args.results_dir)]
    if args.storage:
        extra += ["--storage", args.storage]
    if getattr(args, "tracking_uri", None):
        extra += ["--tracking-uri", args.tracking_uri]
    return shlex.join(["python", "-m", "search", args.command, "--resume", "--name", name, *extra])
