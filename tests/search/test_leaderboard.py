"""The leaderboard file and its renderings."""

import io
import json

import pandas as pd

from search.commands import leaderboard as command
from search.stores import leaderboard


def rows(search, family, scores):
    return [{"search": search, "family": family, "trial_id": f"{search}-{i}", "status": "finished",
             "val_accuracy": s, "train_accuracy": 0.9, "fidelity": 1.0, "seconds": 1.0 + i,
             "test_accuracy": None, "model": None, "data": "fp", "finished_at": "now",
             "_config": {}, "param_C": 1.0 + i, ("param_max_depth" if family == "rf" else "param_kernel"): "None" if family == "rf" else "rbf"}
            for i, s in enumerate(scores)]


def test_rows_accumulate_best_first_and_a_rerun_replaces_its_own(tmp_path):
    leaderboard.write(tmp_path, "a", rows("a", "svm", [0.5, 0.7]))
    leaderboard.write(tmp_path, "b", rows("b", "rf", [0.6]))
    table = leaderboard.read(tmp_path)
    assert table["trial_id"].tolist() == ["a-1", "b-0", "a-0"]
    assert "_config" not in table.columns and {"param_C", "param_kernel", "param_max_depth"} <= set(table.columns)
    leaderboard.write(tmp_path, "a", rows("a", "svm", [0.55]))
    assert leaderboard.read(tmp_path)["trial_id"].tolist() == ["b-0", "a-0"]


def show(results_dir, family, top, fmt, stream):
    """The leaderboard command, as the CLI calls it."""
    from argparse import Namespace

    return command.main(Namespace(results_dir=results_dir, tracking_uri=None, family=family, top=top, format=fmt), stream)


def test_formats_and_filters(tmp_path):
    leaderboard.write(tmp_path, "a", rows("a", "svm", [0.5, 0.7]))
    leaderboard.write(tmp_path, "b", rows("b", "rf", [0.6]))
    out = io.StringIO()
    show(tmp_path, None, None, "json", out)
    records = json.loads(out.getvalue())
    assert [r["trial_id"] for r in records] == ["a-1", "b-0", "a-0"]
    assert records[1]["param_max_depth"] == "None" and "param_kernel" not in records[1]
    out = io.StringIO()
    show(tmp_path, "svm", 1, "csv", out)
    table = pd.read_csv(io.StringIO(out.getvalue()))
    assert table["trial_id"].tolist() == ["a-1"]
    out = io.StringIO()
    show(tmp_path, None, None, "table", out)
    lines = out.getvalue().splitlines()
    assert "val_acc" in lines[0] and "a-1" in lines[1] and "kernel=rbf" in lines[1]


def test_empty(tmp_path):
    out = io.StringIO()
    show(tmp_path, None, None, "table", out)
    assert "no trials yet" in out.getvalue()
