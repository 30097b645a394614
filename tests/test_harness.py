"""The suite's own harness (tests/conftest.py): under pytest-xdist, a test marked ``alone``
runs with no other test beside it, and the others do run two at a time."""

import json
import os
import tempfile
import textwrap
from pathlib import Path

from tests.conftest import ROOT

pytest_plugins = ["pytester"]

CONFTEST = ("from tests.conftest import pytest_configure_node, pytest_runtest_protocol, pytest_unconfigure"
            "  # noqa: F401  (the hooks under test)\n")
RECORD = textwrap.dedent("""
    import json, os, time

    import pytest

    def record(name):
        started = time.time()
        time.sleep(1.0)
        with open(os.environ["HARNESS_LOG"], "a") as f:
            f.write(json.dumps([name, started, time.time()]) + "\\n")
""")


def overlap(a, b) -> bool:
    return a[1] < b[2] and b[1] < a[2]


def test_an_alone_test_runs_by_itself_and_the_others_two_at_a_time(pytester, tmp_path, monkeypatch):
    log = tmp_path / "intervals.jsonl"
    monkeypatch.setenv("HARNESS_LOG", str(log))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nmarkers =\n    alone: runs by itself\n")
    # loadscope sends each module to a worker as one: the modules are the units that can overlap
    pytester.makepyfile(
        test_a=RECORD + "".join(f"\ndef test_a{i}():\n    record('a{i}')\n" for i in range(3)),
        test_b=RECORD + "\n@pytest.mark.alone\ndef test_alone():\n    record('alone')\n"
               + "".join(f"\ndef test_b{i}():\n    record('b{i}')\n" for i in range(3)),
        test_c=RECORD + "".join(f"\ndef test_c{i}():\n    record('c{i}')\n" for i in range(3)),
    )
    locks = lambda: set(Path(tempfile.gettempdir()).glob("fer-search-tests-*.lock*"))  # noqa: E731
    before = locks()  # this suite's own, under xdist
    result = pytester.runpytest_subprocess("-n", "2", "--dist", "loadscope", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=10)
    intervals = [json.loads(line) for line in log.read_text().splitlines()]
    alone = next(i for i in intervals if i[0] == "alone")
    others = [i for i in intervals if i[0] != "alone"]
    assert not [o[0] for o in others if overlap(alone, o)], intervals
    assert any(overlap(a, b) for a in others for b in others if a is not b), "no two tests ran at once"
    assert locks() <= before, "the run's lock left behind"
