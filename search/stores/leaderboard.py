"""One leaderboard for every trial of every search: ``results/leaderboard.csv`` (and
``.parquet``), rows as ``rows.row`` builds them (``param_<name>`` columns empty where a
family or a branch of a space does not have one). Best validation accuracy first.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from trainables.errors import FerSearchError

from . import tracking, tracking_reads
from .files import atomic_write
from .rows import COLUMNS, PARAM, public

FILE_NAME = "leaderboard.csv"
PARQUET_NAME = "leaderboard.parquet"
FORMATS = ("table", "csv", "json", "markdown")


def write(results_dir: Path, search: str, rows: list[dict]) -> Path:
    """Replace this search's rows in the leaderboard files (a rerun of a name is not doubled)."""
    return _merge_and_write(results_dir, rows, {search})


def write_all(results_dir: Path, rows: list[dict]) -> Path:
    """Rewrite the leaderboard files from MLflow's rows. Searches MLflow does not hold (run
    with --no-tracking) keep their rows from the file."""
    return _merge_and_write(results_dir, rows, {r["search"] for r in rows})


def _merge_and_write(results_dir: Path, rows: list[dict], replaced: set[str]) -> Path:
    import pandas as pd

    old = read_file(results_dir)
    if not old.empty:
        old = old[~old["search"].isin(replaced)]
    new = pd.DataFrame([public(r) for r in rows])
    table = _ordered(pd.concat([old, new], ignore_index=True) if len(old) else new)
    path = Path(results_dir) / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: table.to_csv(tmp, index=False))
    atomic_write(path.with_name(PARQUET_NAME), lambda tmp: _parquet_safe(table).to_parquet(tmp, index=False))
    return path


def _parquet_safe(table):
    """Parquet columns hold one type: a parameter that is a number in one family and a
    word in another (max_depth 12 / "None") is written as text."""
    table = table.copy()
    for column in table.columns:
        if table[column].dtype == object:
            kinds = {type(v) for v in table[column].dropna()}
            if len(kinds) > 1:
                table[column] = table[column].map(lambda v: v if v is None or v != v else str(v))
    return table


def _ordered(table):
    params = sorted(c for c in table.columns if c.startswith(PARAM))
    table = table.reindex(columns=COLUMNS + params)
    return table.sort_values(["val_accuracy", "seconds"], ascending=[False, True], na_position="last", kind="stable").reset_index(drop=True)


def read(results_dir: Path, tracking_uri: str | None = None):
    """The leaderboard: from MLflow when there is a store (the source of truth), with the
    file's rows of searches MLflow does not hold; from the file alone otherwise."""
    import pandas as pd

    mlflow_db = Path(results_dir) / "mlflow.db"
    if tracking_uri is None and not mlflow_db.exists():
        return read_file(results_dir)
    uri = tracking_uri or tracking.default_uri(results_dir)
    rows = tracking_reads.leaderboard_rows(tracking.client(uri))
    old = read_file(results_dir)
    searches = {r["search"] for r in rows}
    new = pd.DataFrame(rows)
    if not old.empty:
        old = old[~old["search"].isin(searches)]
        new = pd.concat([old, new], ignore_index=True) if len(new) else old
    return _ordered(new) if len(new) else pd.DataFrame(columns=COLUMNS)


def read_file(results_dir: Path):
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
    if fmt == "markdown":
        return _markdown(table)
    if table.empty:
        return "no trials yet: run a search first (python -m search svm)\n"
    shown = []
    for rank, r in enumerate(records, 1):
        params = " ".join(f"{k[len(PARAM):]}={_short(v)}" for k, v in r.items() if k.startswith(PARAM))
        shown.append({
            "#": rank, "search": r["search"], "family": r["family"], "trial": r["trial_id"], "status": r["status"],
            "val_acc": _short(r["val_accuracy"]), "test_acc": _short(r.get("test_accuracy")),
            "fidelity": _short(r["fidelity"]), "seconds": _short(r["seconds"]), "node": _short(r.get("node"))[:8], "config": params,
        })
    import pandas as pd

    return pd.DataFrame(shown).to_string(index=False, max_colwidth=90) + "\n"


def _markdown(table) -> str:
    columns = [c for c in table.columns if not table[c].isna().all()]
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for row in table[columns].itertuples(index=False):
        lines.append("| " + " | ".join(_short(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines) + "\n"


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
