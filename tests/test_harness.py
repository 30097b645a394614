"""The suite's own harness (tests/conftest.py): under pytest-xdist, the tests marked
``alone`` run one after the other with no other test beside them, from the first to the
last, and the others do run two at a time."""

import json
import os
import textwrap

from tests.conftest import ROOT

pytest_plugins = ["pytester"]

CONFTEST = "from tests.conftest import pytest_collection_modifyitems, pytest_runtest_protocol  # noqa: F401  (the hooks under test)\n"
RECORD = textwrap.dedent("""
    import json, os, time

    import pytest

    def record(name):
        started = time.time()
        time.sleep(1.0)
        with open(os.environ["HARNESS_LOG"], "a") as f:
            f.write(json.dumps([name, started, time.time()]) + "\\n")
""")


# in two modules, among the others: they are run together all the same
ALONE = "\n@pytest.mark.alone\ndef test_alone{0}():\n    record('alone{0}')\n"


def overlap(a, b) -> bool:
    return a[1] < b[2] and b[1] < a[2]


def test_an_alone_test_runs_by_itself_and_the_others_two_at_a_time(pytester, tmp_path, monkeypatch):
    log = tmp_path / "intervals.jsonl"
    monkeypatch.setenv("HARNESS_LOG", str(log))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nmarkers =\n    alone: runs by itself\n")
    # each module is a unit pytest-xdist hands to a free worker, the alone tests one more
    pytester.makepyfile(
        test_a=RECORD + "".join(f"\ndef test_a{i}():\n    record('a{i}')\n" for i in range(3)),
        test_b=RECORD + ALONE.format(0) + "".join(f"\ndef test_b{i}():\n    record('b{i}')\n" for i in range(3)),
        test_c=RECORD + "".join(f"\ndef test_c{i}():\n    record('c{i}')\n" for i in range(3)) + ALONE.format(1),
    )
    result = pytester.runpytest_subprocess("-n", "2", "--dist", "loadgroup", "--no-loadscope-reorder", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=11)
    intervals = [json.loads(line) for line in log.read_text().splitlines()]
    alone = sorted(i for i in intervals if i[0].startswith("alone"))
    others = [i for i in intervals if not i[0].startswith("alone")]
    held = ["alone", alone[0][1], alone[-1][2]]  # from the first alone test's start to the last one's end
    assert not [o[0] for o in others if overlap(held, o)], intervals
    assert any(overlap(a, b) for a in others for b in others if a is not b), "no two tests ran at once"
