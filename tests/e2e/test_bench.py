"""``python -m bench --quick``: every benchmark writes its figures, each beside its peer
with a ratio (the values are the benchmark's business, not the tests')."""

import json
import math
import os
import subprocess
import sys

import pytest

from bench.__main__ import BENCHMARKS
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


# The search benchmark runs alone: its quick budgets are the whole command's, and a loaded
# machine can leave a method no fit on all of train. The others measure ratios only.
GROUPS = [pytest.param(("search",), marks=pytest.mark.alone, id="search"),
          pytest.param(tuple(n for n in BENCHMARKS if n != "search"), id="the-others")]


@pytest.mark.parametrize("names", GROUPS)
def test_quick_bench_writes_every_figure_beside_its_peer(tmp_path, names):
    out = tmp_path / "bench"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--data", "demo:1000", "--only", ",".join(names),
                           "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in names:
        result = json.loads((out / f"{name}.json").read_text())
        assert "error" not in result, result.get("error")
        assert result["machine"]["cores"] >= 1 and result["machine"]["versions"]["scikit-learn"]
        assert result["figures"], f"{name} measured nothing"
        for f in result["figures"]:
            assert {"name", "ours", "peer", "peer_name", "ratio", "unit", "better"} <= set(f), f
            assert f["peer_name"] and f["better"] in ("higher", "lower")
            assert f["peer"] is not None and not math.isnan(f["ratio"]), f
    report = (out / "report.md").read_text()
    assert "| benchmark | figure | ours | peer |" in report
    assert report.count("\n| ") >= sum(len(json.loads((out / f"{n}.json").read_text())["figures"]) for n in names)
    if "search" in names:
        search = json.loads((out / "search.json").read_text())
        for family in ("svm",):  # --quick: one family
            methods = search["families"][family]["methods"]
            assert set(methods) == {"fer-search", "halving", "randomized", "optuna"}
            for name, m in methods.items():
                assert m["best_val"] is not None and m["test"] is not None, f"{name}: no fit on all of train: {m}"
            assert (out / f"search-{family}.png").stat().st_size > 0
        assert "search-svm.png" in report


def test_an_unknown_benchmark_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bench", "--only", "nope", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and "unknown benchmark(s) nope" in proc.stderr
