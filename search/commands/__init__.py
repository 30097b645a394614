"""The commands of ``python -m search``: one module each, named in ``COMMANDS``.

Each module has ``add_parser(subparsers)``, which adds its subcommand(s) and sets
``main`` as their default, and ``main(args) -> int``, the exit status. The CLI reads this
table alone (in the manner of Ray Tune's table of searchers): adding a command is one
module and one line here. Command modules import nothing heavy at module level, so
``python -m search --help`` stays instant; their ``main`` imports the engine and stores.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# name -> module; "search" adds one subcommand per model family
COMMANDS = {
    "search": "search.commands.search",
    "auto": "search.commands.auto",
    "leaderboard": "search.commands.leaderboard",
    "sync": "search.commands.sync",
    "evaluate": "search.commands.evaluate",
    "data": "search.commands.data",
    "predict": "search.commands.predict",
    "ensemble": "search.commands.ensemble",
    "report": "search.commands.report",
}


def modules() -> list[ModuleType]:
    return [importlib.import_module(path) for path in COMMANDS.values()]
