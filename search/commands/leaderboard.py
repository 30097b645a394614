"""``python -m search leaderboard``: every trial of every search, best first."""

from __future__ import annotations

import sys
from pathlib import Path

from .. import registry
from ..stores.leaderboard import FORMATS
from .options import positive_int

SUMMARY = "every trial, best first"


def add_parser(sub) -> None:
    p = sub.add_parser("leaderboard", help="every trial of every search, best first")
    p.set_defaults(main=main)
    p.add_argument("--family", choices=list(registry.FAMILIES), help="only this family")
    p.add_argument("--top", type=positive_int, metavar="N", help="only the N best")
    p.add_argument("--format", choices=FORMATS, default="table")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--results-dir", default="results", metavar="DIR",
                       help="read RESULTS_DIR/mlflow.db, or RESULTS_DIR/leaderboard.csv without one (default: results/)")
    where.add_argument("--tracking-uri", metavar="URI", help="read this MLflow tracking server or store")


def main(args, stream=None) -> int:
    from ..stores import leaderboard

    table = leaderboard.read(Path(args.results_dir), args.tracking_uri)
    (stream or sys.stdout).write(leaderboard.render(leaderboard.select(table, args.family, args.top), args.format))
    return 0
