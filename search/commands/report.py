"""``python -m search report``: one self-contained HTML page for a search (or for all)."""

from __future__ import annotations

import html
from pathlib import Path

from .options import add_models_dir, add_results_dir, add_trust

SUMMARY = "an HTML page of a search: report [--name NAME] [--out FILE]"


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="write one self-contained HTML page for a search (or all of them)")
    p.set_defaults(main=main)
    p.add_argument("--name", help="the search (default: every search in the results folder, one section each)")
    add_results_dir(p, "where the searches are")
    add_models_dir(p, "where the exported models are")
    p.add_argument("--out", type=Path, metavar="FILE",
                   help="the page (default: RESULTS_DIR/NAME/report.html, or RESULTS_DIR/report.html for all)")
    p.add_argument("--cache-dir", type=Path, metavar="DIR", help="the data cache (default: $FER_SEARCH_CACHE or ~/.cache/fer-search)")
    add_trust(p, "an exported model")


def main(args) -> int:
    from trainables.errors import FerSearchError

    from ..stores import autos, experiments, leaderboard, report
    from ..stores.files import check_writable

    results_dir = Path(args.results_dir)
    sections = []
    if args.name and autos.is_auto(results_dir / args.name):  # an auto run: its own account, then its families' searches
        record = autos.read(results_dir / args.name)
        sections = report.auto_sections(record)
        folders = [results_dir / lane["search"] for lane in record.get("lanes", {}).values()
                   if (results_dir / lane["search"] / experiments.SEARCH_FILE).exists()]
        out = args.out or results_dir / args.name / "report.html"
    else:
        folders = experiments.searches(results_dir, args.name)
        if not folders:
            raise FerSearchError(f"{results_dir}: no search to report on", hint="run one first, e.g. python -m search svm")
        out = args.out or (folders[0] / "report.html" if args.name else results_dir / "report.html")
    check_writable(("--out", out.parent))
    board = leaderboard.read_file(results_dir)
    for folder in folders:
        sections += search_sections(folder, board, args)
    title = f"fer-search: {args.name}" if args.name else f"fer-search: {len(folders)} search(es) in {results_dir}"
    from ..stores.files import atomic_write

    atomic_write(out, lambda tmp: Path(tmp).write_text(report.page(title, sections)))
    print(f"wrote {out} (open it in any browser)")
    return 0


def search_sections(folder: Path, board, args) -> list[tuple[str, str]]:
    from .. import registry
    from ..stores import experiments, report

    meta = experiments.read_meta(folder)
    name, family = meta["search"], registry.FAMILIES.get(meta["family"])
    rows = board[board["search"] == name].dropna(axis=1, how="all")
    # the page is about one search on one data set: its name, data and nodes say nothing per row
    rows = rows.drop(columns=["search", "data", "node", "finished_at"], errors="ignore")
    if "model" in rows:
        rows = rows.assign(model=rows["model"].map(lambda p: Path(p).name if isinstance(p, str) else p))
    rows = with_parameters_in_one_column(rows)
    trials = report.trials_of(folder, family.fidelity().attr if family else None)
    tags = meta.get("tags", {})
    about = (f"<p>{html.escape(meta['family'])} on {html.escape(str(tags.get('data_source')))}: {len(trials)} trial(s) "
             f"reported; command <code>{html.escape(str(tags.get('command')))}</code></p>")
    sections = [(f"Search {name}", about),
                ("Leaderboard", report.table(rows) if len(rows) else report.note("no rows in the leaderboard yet")),
                ("Best val accuracy by trial and over time", report.figures_html(report.progress_figures(trials), "progress")),
                ("Learning curves of the best trials", curves_section(trials, family)),
                ("Parameters (Optuna)", parameters_section(meta, family, trials))]
    return sections if family is None else sections + model_sections(meta, family, args)


def with_parameters_in_one_column(rows):
    """The trials' parameters as one column of ``name=value`` words, as the search prints
    them: a column each made a network's table twice as wide as a 1280-pixel window."""
    import pandas as pd

    from ..text import fmt_config

    params = [c for c in rows.columns if c.startswith("param_")]
    if not params:
        return rows
    text = [fmt_config({c.removeprefix("param_"): v for c, v in row.items() if not pd.isna(v)}, limit=len(params))
            for _, row in rows[params].iterrows()]
    return rows.drop(columns=params).assign(parameters=text)


def curves_section(trials: list[dict], family) -> str:
    from ..stores import report

    fig = report.learning_curves_figure(trials, family.fidelity().attr) if family else None
    if fig is None:
        return report.note("no trial has reported an epoch or a rung yet")
    return report.figures_html([report.png_of_figure(fig)], "learning curves")


def parameters_section(meta: dict, family, trials: list[dict]) -> str:
    """Optuna's plots from the trials that reached full fidelity: a score on a twenty-seventh
    of train is no comparison with one on all of it."""
    from ..stores import report, tracking_figures

    top = (meta.get("fidelity", {}).get("rungs") or [None])[-1]
    reached = [t for t in trials if top is None or t["fidelity"] is None or t["fidelity"] >= top - 1e-9]
    study_rows = reached if len(reached) >= 2 else trials
    figures = tracking_figures.optuna_figures(family.space() if family else None, study_rows,
                                      plots=("param_importances", "parallel_coordinate"))
    return ((report.note("from every trial: fewer than two reached full fidelity") if study_rows is not reached else "")
            + (report.figures_html([report.png_of_figure(f) for _, f in figures], "Optuna")
               if figures else report.note("too few trials with varied parameters for Optuna's plots")))


def model_sections(meta: dict, family, args) -> list[tuple[str, str]]:
    """The exported model on val (where it is this search's), and the data's class balance."""
    from trainables.errors import FerSearchError

    from ..stores import models, report

    name, tags, sections = meta["search"], meta.get("tags", {}), []
    model_file = models.export_path(args.models_dir, family)
    card = models.read_card(model_file) if model_file.exists() else None
    splits = None
    try:
        splits = _splits_of(card or {"data": {"source": tags.get("data_source"), "val_fraction": meta.get("options", {}).get("val_fraction")}}, args)
    except FerSearchError as e:
        sections.append(("Data", report.note(f"the data could not be loaded: {e}")))
    if card is None or card.get("search") != name:
        owner = f" (it holds search {card.get('search')}'s model)" if card else ""
        sections.append(("Exported model", report.note(f"{model_file} is not this search's export{owner}")))
    elif splits is not None:
        try:
            sections.append(("Exported model", report.model_section(models.load(model_file, trust=args.trust), card, splits)))
        except FerSearchError as e:
            sections.append(("Exported model", report.note(str(e))))
    if splits is not None:
        sections.append(("Class balance", report.class_balance(splits)))
    return sections


def _splits_of(card: dict, args):
    from trainables.data import DEFAULT_VAL_FRACTION

    from ..engine import datasets

    data = card.get("data", {})
    _, splits = datasets.load(data.get("source"), data.get("val_fraction") or DEFAULT_VAL_FRACTION, data.get("train_limit"),
                              args.cache_dir, need=("val",), say=lambda _: None)
    return splits

