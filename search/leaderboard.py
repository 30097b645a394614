"""One leaderboard for every trial of every search: ``results/leaderboard.csv``.

A flat table in the manner of scikit-learn's ``cv_results_``: fixed columns, then one
``param_<name>`` column per hyperparameter (empty where a family or a branch of a space
does not have it). Best validation accuracy first.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
from pathlib import Path

from trainables.errors import FerSearchError

FILE_NAME = "leaderboard.csv"
COLUMNS = [
    "search", "family", "trial_id", "status", "val_accuracy", "train_accuracy", "fidelity",
    "seconds", "test_accuracy", "model", "data", "finished_at",
]
FORMATS = ("table", "csv", "json")
PARAM = "param_"


def param_value(v):
    # None means something in a space (max_depth=None: unlimited); keep it visible.
    return "None" if v is None else v


def write(results_dir: Path, search: str, rows: list[dict]) -> Path:
    """Replace this search's rows in the leaderboard (a rerun of a name is not doubled)."""
    import pandas as pd

    path = Path(results_dir) / FILE_NAME
    old = read(results_dir)
    if not old.empty:
        old = old[old["search"] != search]
    new = pd.DataFrame([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows])
    table = pd.concat([old, new], ignore_index=True) if len(old) else new
    table = _ordered(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", newline="") as f:
        table.to_csv(f, index=False)
    os.replace(tmp, path)
    return path


def _ordered(table):
    params = sorted(c for c in table.columns if c.startswith(PARAM))
    table = table.reindex(columns=COLUMNS + params)
    return table.sort_values(["val_accuracy", "seconds"], ascending=[False, True], na_position="last", kind="stable").reset_index(drop=True)


def read(results_dir: Path):
    import pandas as pd

    path = Path(results_dir) / FILE_NAME
    if not path.exists():
        return pd.DataFrame(columns=COLUMNS)
    try:
        # Only empty cells are missing: a "None" parameter (unlimited depth) stays "None".
        return pd.read_csv(path, dtype={"search": str, "trial_id": str, "family": str, "status": str},
                           keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise FerSearchError(f"{path}: not a readable leaderboard ({e})") from None


def select(table, family: str | None = None, top: int | None = None):
    if family:
        table = table[table["family"] == family]
    return table.head(top) if top else table


def render(table, fmt: str = "table") -> str:
    if fmt == "csv":
        buf = io.StringIO()
        table.to_csv(buf, index=False)
        return buf.getvalue()
    records = [{k: _plain(v) for k, v in row.items() if not (k.startswith(PARAM) and _plain(v) is None)}
               for row in table.to_dict("records")]
    if fmt == "json":
        return json.dumps(records, indent=2) + "\n"
    if table.empty:
        return "no trials yet: run a search first (python -m search svm)\n"
    shown = []
    for rank, r in enumerate(records, 1):
        params = " ".join(f"{k[len(PARAM):]}={_short(v)}" for k, v in r.items() if k.startswith(PARAM))
        shown.append({
            "#": rank, "search": r["search"], "family": r["family"], "trial": r["trial_id"], "status": r["status"],
            "val_acc": _short(r["val_accuracy"]), "test_acc": _short(r.get("test_accuracy")),
            "fidelity": _short(r["fidelity"]), "seconds": _short(r["seconds"]), "config": params,
        })
    import pandas as pd

    return pd.DataFrame(shown).to_string(index=False, max_colwidth=90) + "\n"


def _plain(v):
    """JSON-safe scalars: NaN -> None, numpy numbers -> Python numbers."""
    if v is None:
        return None
    if isinstance(v, float) and v != v:
        return None
    return v.item() if hasattr(v, "item") else v


def _short(v) -> str:
    v = _plain(v)
    if v is None:
        return "-"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def show(results_dir: Path, family: str | None, top: int | None, fmt: str, stream=None) -> int:
    stream = stream or sys.stdout
    stream.write(render(select(read(results_dir), family, top), fmt))
    return 0
