"""What the commands' parsers share: the error style, number and duration types, the
data and tracking options."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from trainables.errors import FerSearchError

PROG = "python -m search"


class Parser(argparse.ArgumentParser):
    """argparse with the project's error style: one line, a hint, exit status 2."""

    def error(self, message):
        raise FerSearchError(message, hint=f"{self.prog} --help")


def _number(kind, ok, requirement: str):
    """An argparse type: a number of ``kind`` for which ``ok`` holds."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a {'whole number' if kind is int else 'number'}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {requirement}, not {text}")
        return value
    return parse


positive_int = _number(int, lambda v: v >= 1, "at least 1")
positive_float = _number(float, lambda v: v > 0, "above 0")
non_negative_float = _number(float, lambda v: v >= 0, "at least 0")
fraction = _number(float, lambda v: 0 <= v < 1, "at least 0 and below 1")


def duration(text: str) -> float:
    """Seconds from '90', '90s', '15m', '2h' or '1h30m'."""
    parts = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*", text)
    if not text.strip() or not parts or not any(parts.groups()):
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration (examples: 900, 15m, 2h, 1h30m)")
    h, m, s = (float(g) if g else 0.0 for g in parts.groups())
    seconds = h * 3600 + m * 60 + s
    if seconds <= 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return seconds


def add_data_options(p: argparse.ArgumentParser, val_default: float | None = 0.1) -> None:
    p.add_argument("--data", metavar="PATH", help="FER2013 zip, folder or CSV, or 'demo' / 'demo:N' "
                   "(default: FER2013 found in data/, else the demo set)")
    p.add_argument("--val-fraction", type=fraction, default=val_default, metavar="F",
                   help="share of a folder source's train images held out as val (default: 0.1; the CSV has its own)")
    p.add_argument("--cache-dir", type=Path, metavar="DIR",
                   help="where decoded data and features are cached (default: $FER_SEARCH_CACHE or ~/.cache/fer-search)")


def add_tracking_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tracking-uri", metavar="URI",
                   help="MLflow tracking server or store (default: $MLFLOW_TRACKING_URI, else sqlite:///RESULTS_DIR/mlflow.db)")


def add_results_dir(p: argparse.ArgumentParser, what: str = "Ray experiments and the leaderboard"):
    return p.add_argument("--results-dir", default="results", metavar="DIR", help=f"{what} (default: results/)")


def add_models_dir(p: argparse.ArgumentParser, what: str = "exported best models"):
    return p.add_argument("--models-dir", type=Path, default=Path("models"), metavar="DIR", help=f"{what} (default: models/)")


def add_trust(p: argparse.ArgumentParser, what: str = "a model file"):
    return p.add_argument("--trust", action="store_true",
                          help=f"load {what} that has no card or does not match its card's sha256 (know where it comes from)")
