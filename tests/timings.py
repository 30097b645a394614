"""The seconds each test module took in a full run, for the order the suite hands its
modules out in (``tests/conftest.py``): the longest first.

    .venv/bin/python -m pytest --junitxml=results/junit.xml
    .venv/bin/python -m tests.timings results/junit.xml     # rewrites tests/module_seconds.json

Refresh it when a module's time changes much; a module it does not name goes first.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

FILE = Path(__file__).with_name("module_seconds.json")


def module_of(classname: str) -> str:
    """``tests.e2e.test_auto`` (a JUnit test case's class) -> ``tests/e2e/test_auto.py``."""
    return classname.replace(".", "/") + ".py"


def read(junit: Path) -> dict[str, float]:
    """Module -> the summed seconds of its test cases (setup, call and teardown)."""
    seconds: Counter = Counter()
    for case in ET.parse(junit).iter("testcase"):
        seconds[module_of(case.get("classname", ""))] += float(case.get("time", 0))
    return {module: round(s, 1) for module, s in seconds.most_common()}


def load() -> dict[str, float]:
    return json.loads(FILE.read_text()) if FILE.exists() else {}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.timings JUNIT_XML")
    FILE.write_text(json.dumps(read(Path(sys.argv[1])), indent=1) + "\n")
    print(f"wrote {FILE}")
