"""The engine's options are declared: every option the engine reads is a field of
``engine.options.Options``, and each command's parsed command line becomes one."""

from __future__ import annotations

import ast
from dataclasses import fields
from pathlib import Path

import pytest

from search import registry
from search.cli import build_parser
from search.engine import resume
from search.engine.auto import driver
from search.engine.options import Options
from tests.conftest import ROOT

DECLARED = {f.name for f in fields(Options)}


def read_by_the_engine() -> set[str]:
    """Every ``args.X`` (also ``search.args.X``, ``lane.args.X``) and every
    ``getattr(args, "X")`` / ``setattr(args, "X", ...)`` under search/engine/."""
    found = set()
    for path in (ROOT / "search" / "engine").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute):
                holder = node.value
                if (isinstance(holder, ast.Name) and holder.id == "args") or (isinstance(holder, ast.Attribute) and holder.attr == "args"):
                    found.add(node.attr)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "setattr")
                  and isinstance(node.args[0], ast.Name) and node.args[0].id == "args" and isinstance(node.args[1], ast.Constant)):
                found.add(node.args[1].value)
    return found - {"of"}


def test_every_option_the_engine_reads_is_declared():
    read = read_by_the_engine()
    assert {"results_dir", "time_budget", "storage"} <= read  # the scan finds what it should
    assert read <= DECLARED, sorted(read - DECLARED)
    assert set(resume.KEPT) <= DECLARED and set(driver.KEPT) <= DECLARED  # read by name from a list


@pytest.mark.parametrize("argv", [["svm", "--trials", "3", "--time-budget", "2m"], ["cnn", "--max-epochs", "4"],
                                  ["resnet50", "--weights", "none"], ["auto", "--time-budget", "30m", "--families", "svm,rf"]])
def test_a_parsed_command_line_becomes_options_with_every_value_it_gave(argv):
    parsed = build_parser().parse_args(argv)
    parsed.argv, parsed.started = argv, 123.0
    options = Options.of(parsed)
    for name in DECLARED & set(vars(parsed)):
        expected = getattr(parsed, name)
        assert getattr(options, name) == (Path(expected) if name.endswith("_dir") and expected is not None else expected), name
    assert isinstance(options.results_dir, Path) and isinstance(options.models_dir, Path)
    assert Options.of(options) is options
    if argv[0] in registry.FAMILIES and not registry.get(argv[0]).is_network:
        assert options.max_epochs is None  # an option the command does not offer keeps its default
