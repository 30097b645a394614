"""``python -m search``: the command line, built from the table of commands.

Parsing, the process environment, the error style: one line, a hint, exit status 2.
The commands themselves live in ``search/commands/``, one module each.
"""

from __future__ import annotations

import argparse
import sys
import time

from trainables.errors import FerSearchError

from . import commands, environment, registry
from . import stopping
from .commands.options import PROG, Parser


def build_parser() -> Parser:
    families = "\n".join(f"  {f.name:<10}{f.summary}" for f in registry.FAMILIES.values())
    parser = Parser(
        prog=PROG,
        description="Hyperparameter search for facial-expression recognition on FER2013 (Ray Tune + Optuna).",
        epilog=f"families:\n{families}\n\nexample: {PROG} svm --trials 20",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="FAMILY|COMMAND", parser_class=Parser)
    for module in commands.modules():
        module.add_parser(sub)
    return parser


def usage_overview() -> str:
    families = "\n".join(f"  {PROG} {f.name:<10} {f.summary}" for f in registry.FAMILIES.values())
    others = "\n".join(f"  {PROG} {name:<12} {module.SUMMARY}"
                       for name, module in zip(commands.COMMANDS, commands.modules()) if name != "search")
    return (f"families (search one with '{PROG} FAMILY --trials N'):\n{families}\n\n"
            f"commands:\n{others}\n\n{PROG} --help for everything\n")


def main(argv: list[str] | None = None) -> int:
    started = time.time()  # a --time-budget is the whole command's, from here to exit
    argv = sys.argv[1:] if argv is None else list(argv)
    verbose = "--verbose" in argv
    joins_cluster = any(a == "--address" or a.startswith("--address=") for a in argv)
    environment.configure(verbose, joins_cluster)  # before anything imports Ray, TensorFlow or MLflow
    try:
        if not argv:
            print(usage_overview(), end="")
            return 0
        if not argv[0].startswith("-") and argv[0] not in registry.FAMILIES and argv[0] not in commands.COMMANDS:
            registry.get(argv[0])  # raises with the list of known families
        args = build_parser().parse_args(argv)
        args.argv = argv  # recorded in model cards: the command that reproduces a search
        args.started = started
        environment.use_backend(getattr(args, "backend", None))  # before anything imports Keras
        with environment.native_chatter_filtered(enabled=not verbose), stopping.installed():
            return args.main(args)
    except FerSearchError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        if e.hint:
            print(f"hint: {e.hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return stopping.CURRENT.exit_status
