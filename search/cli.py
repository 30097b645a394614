"""``python -m search``: the command line. Each subcommand is a small unit returning an exit code.

Only argparse and the registry's names are imported here: ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from trainables.errors import FerSearchError
from trainables.precision import PRECISIONS

from . import leaderboard, registry

PROG = "python -m search"
COMMANDS = ("leaderboard", "evaluate", "data", "sync")


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


def add_search_parser(sub, family: registry.Family) -> None:
    p = sub.add_parser(family.name, help=family.summary, description=f"Search {family.summary}.")
    add_data_options(p)
    p.add_argument("--trials", type=positive_int, default=20, help="trials to run (default: 20)")
    p.add_argument("--seed", type=int, default=0, help="seeds the sampler and the models (default: 0)")
    p.add_argument("--time-budget", type=duration, metavar="T",
                   help="start no trial after this long, e.g. 900, 15m, 2h (running trials finish)")
    p.add_argument("--name", help="the search's name (default: FAMILY-DATE-TIME)")
    p.add_argument("--results-dir", default="results", metavar="DIR", help="Ray experiments and the leaderboard (default: results/)")
    p.add_argument("--models-dir", default="models", metavar="DIR", help="exported best models (default: models/)")
    p.add_argument("--searcher", choices=("tpe", "random"), default="tpe", help="Optuna sampler (default: tpe)")
    p.add_argument("--warm-start", type=positive_int, nargs="?", const=3, default=None, metavar="K",
                   help="evaluate first the K (default 3) best configurations of earlier searches of this family "
                        "on the same data (from MLflow, else the leaderboard)")
    p.add_argument("--scheduler", choices=("asha", "none"), default="asha",
                   help="asha stops weak trials at the fidelity rungs; none runs every trial to the end (default: asha)")
    p.add_argument("--cpus-per-trial", type=positive_float, default=family.cpus_per_trial, metavar="N",
                   help=f"CPUs each trial gets; trials run side by side on the rest (default: {family.cpus_per_trial})")
    if family.is_network:
        p.add_argument("--max-epochs", type=positive_int, default=family.fidelity()["rungs"][-1], metavar="N",
                       help=f"epochs a trial trains at most; ASHA stops weak ones earlier (default: {family.fidelity()['rungs'][-1]})")
        pretrained = family.space().BACKBONE != "cnn"
        p.add_argument("--weights", default="imagenet" if pretrained else "none", metavar="W",
                       help="imagenet (Keras' cache, downloaded once), none (from scratch) or a weights file "
                            "(default: imagenet)" if pretrained else argparse.SUPPRESS)
        p.add_argument("--precision", choices=PRECISIONS, default="auto",
                       help="the Keras dtype policy: auto is mixed_float16 on a GPU, mixed_bfloat16 on a CPU with "
                            "AVX512-BF16 or AMX (about 1.3x faster there), else float32 (default: auto)")
    p.add_argument("--gpus-per-trial", type=non_negative_float, default=None, metavar="N",
                   help="GPUs each trial gets, fractions allowed (0.5: two trials per GPU); "
                        f"default: {'1 where the cluster has GPUs, else 0' if family.uses_gpu else '0'}")
    p.add_argument("--address", metavar="ADDR",
                   help="join a running Ray cluster: auto, host:port or ray://host:10001 (default: start a local Ray on 127.0.0.1)")
    p.add_argument("--storage", metavar="URI",
                   help="experiment storage every node reaches (s3://..., gs://..., or a shared path); "
                        "required on a multi-node cluster (default: --results-dir)")
    p.add_argument("--max-failures", type=int, default=1, metavar="N",
                   help="retries of a trial whose worker or node died (default: 1)")
    p.add_argument("--train-limit", type=positive_int, metavar="N",
                   help="use at most N training images (a stratified subset), for quick looks at a large source")
    add_tracking_options(p)
    p.add_argument("--experiment", help="MLflow experiment (default: one per data set, e.g. fer-search-fer2013)")
    p.add_argument("--no-tracking", action="store_true", help="log nothing to MLflow")
    p.add_argument("--verbose", action="store_true", help="show Ray's own trial table and worker logs")


def add_tracking_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tracking-uri", metavar="URI",
                   help="MLflow tracking server or store (default: $MLFLOW_TRACKING_URI, else sqlite:///RESULTS_DIR/mlflow.db)")


def build_parser() -> Parser:
    families = "\n".join(f"  {f.name:<8}{f.summary}" for f in registry.FAMILIES.values())
    parser = Parser(
        prog=PROG,
        description="Hyperparameter search for facial-expression recognition on FER2013 (Ray Tune + Optuna).",
        epilog=f"families:\n{families}\n\nexample: {PROG} svm --trials 20",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="FAMILY|COMMAND", parser_class=Parser)
    for family in registry.FAMILIES.values():
        add_search_parser(sub, family)

    lb = sub.add_parser("leaderboard", help="every trial of every search, best first")
    lb.add_argument("--family", choices=list(registry.FAMILIES), help="only this family")
    lb.add_argument("--top", type=positive_int, metavar="N", help="only the N best")
    lb.add_argument("--format", choices=leaderboard.FORMATS, default="table")
    where = lb.add_mutually_exclusive_group()
    where.add_argument("--results-dir", default="results", metavar="DIR",
                       help="read RESULTS_DIR/mlflow.db, or RESULTS_DIR/leaderboard.csv without one (default: results/)")
    where.add_argument("--tracking-uri", metavar="URI", help="read this MLflow tracking server or store")

    sync = sub.add_parser("sync", help="log finished or interrupted searches to MLflow (idempotent)")
    sync.add_argument("--name", help="only this search (default: every search in the results folder)")
    sync.add_argument("--results-dir", default="results", metavar="DIR", help="where the Ray experiment folders are (default: results/)")
    add_tracking_options(sync)

    ev = sub.add_parser("evaluate", help="score an exported model on a split")
    ev.add_argument("model_file", metavar="MODEL_FILE", help="an exported model, e.g. models/svm_best.skops")
    add_data_options(ev, val_default=None)
    ev.add_argument("--split", choices=("train", "val", "test"), default="test")
    ev.add_argument("--json", metavar="FILE", help="also write accuracy, macro_f1, per_class and confusion_matrix here")

    data = sub.add_parser("data", help="inspect a data source")
    data_sub = data.add_subparsers(dest="data_command", metavar="info", required=True, parser_class=Parser)
    info = data_sub.add_parser("info", help="source, format, images per split and class, fingerprint, cache")
    add_data_options(info)
    return parser


def usage_overview() -> str:
    families = "\n".join(f"  {PROG} {f.name:<6} {f.summary}" for f in registry.FAMILIES.values())
    return (f"families (search one with '{PROG} FAMILY --trials N'):\n{families}\n\n"
            f"commands:\n  {PROG} leaderboard   every trial, best first\n  {PROG} sync          log searches to MLflow afterwards\n"
            f"  {PROG} evaluate MODEL_FILE\n  {PROG} data info\n\n{PROG} --help for everything\n")


def dispatch(args) -> int:
    if args.command in registry.FAMILIES:
        from .run import run

        return run(args)
    if args.command == "leaderboard":
        from .leaderboard import show

        return show(Path(args.results_dir), args.family, args.top, args.format, tracking_uri=args.tracking_uri)
    if args.command == "sync":
        from .sync import command

        return command(args)
    if args.command == "evaluate":
        from .evaluate import command

        return command(args)
    from .datainfo import command

    return command(args)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # TensorFlow's C++ start-up chatter (oneDNN notes, a CUDA probe on CPU machines) is
    # not news to a user; its errors still surface as Python exceptions. Trials inherit it.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        if not argv:
            print(usage_overview(), end="")
            return 0
        if not argv[0].startswith("-") and argv[0] not in registry.FAMILIES and argv[0] not in COMMANDS:
            registry.get(argv[0])  # raises with the list of known families
        args = build_parser().parse_args(argv)
        args.argv = argv  # recorded in model cards: the command that reproduces a search
        return dispatch(args)
    except FerSearchError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        if e.hint:
            print(f"hint: {e.hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
