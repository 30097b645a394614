"""One self-contained HTML page per search: every figure an inline PNG, no script, no
server, no file beside it, so any browser opens it and it can be mailed as it is.

Sections: the search's leaderboard rows; best val accuracy against trial number and
against wall time; Optuna's parameter importances and parallel coordinates (the study
rebuilt from the trials that reached full fidelity, as for MLflow); the best trials'
learning curves (per epoch for a network, per rung for a classical model); the exported
model's confusion matrix and per-class recall on val, with the most confident mistakes of
each class; the data set's class balance.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np

from trainables.labels import EMOTIONS

from . import experiments

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.8em; max-width: 100%; }
td, th { border: 1px solid #ddd; padding: 3px 5px; overflow-wrap: break-word; }
th { background: #f3f3f3; } td { font-variant-numeric: tabular-nums; }
.figures img { max-width: 49%; } .faces { display: flex; flex-wrap: wrap; gap: 6px; }
.faces figure { margin: 0; text-align: center; font-size: 0.75em; } .faces img { width: 96px; image-rendering: pixelated; }
.note { color: #666; font-style: italic; }
"""
MISTAKES_PER_CLASS = 6  # the most confident mistakes of each true class
CURVES_OF_BEST = 5  # the learning curves of the best few trials


def png_of_figure(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def png_of_face(face: np.ndarray) -> str:
    import cv2

    ok, encoded = cv2.imencode(".png", face)
    return "data:image/png;base64," + base64.b64encode(encoded.tobytes()).decode()


def table(frame) -> str:
    """pandas' own HTML table (text escaped), numbers to 4 places, empty cells blank; a
    long name may break after its underscores (a zero-width space), so that a wide table
    still fits the page."""
    frame = frame.rename(columns=lambda c: str(c).replace("_", "_\u200b"))
    return frame.to_html(index=False, float_format="{:.4f}".format, na_rep="", border=0)


def trials_of(folder: Path, fidelity_attr: str | None) -> list[dict]:
    """Each trial's config, score (its exported fit's val accuracy), fidelity reached,
    start and end time, in the order Ray Tune created them."""
    trials = []
    for trial_folder in experiments.trial_folders(folder):
        t = experiments.read_trial(trial_folder)
        if not t["results"]:
            continue
        last = t["results"][-1]
        score = max(r.get("best_val_accuracy", r.get("val_accuracy", -1)) for r in t["results"])
        parts = trial_folder.name.split("_")
        order = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else len(trials)
        trials.append({"order": order, "_config": t["config"], "val_accuracy": score, "end": last["timestamp"],
                       "results": t["results"],
                       "fidelity": last.get(fidelity_attr) if fidelity_attr else None,
                       "start": t["results"][0]["timestamp"] - t["results"][0].get("time_this_iter_s", 0)})
    return sorted(trials, key=lambda t: t["order"])


def progress_figures(trials: list[dict]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not trials:
        return []
    start = min(t["start"] for t in trials)
    shown = []
    for x_of, label in ((lambda i, t: i + 1, "trial number"), (lambda i, t: (t["end"] - start) / 60, "minutes since the search began")):
        points = sorted((x_of(i, t), t["val_accuracy"]) for i, t in enumerate(trials))
        xs, ys = zip(*points)
        fig, ax = plt.subplots(figsize=(6, 3.6))
        ax.scatter(xs, ys, s=14, alpha=0.6, label="trial")
        ax.step(xs, np.maximum.accumulate(ys), where="post", color="C1", label="best so far")
        ax.set_xlabel(label)
        ax.set_ylabel("val accuracy")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
        shown.append(png_of_figure(fig))
    return shown


def learning_curves_figure(trials: list[dict], fidelity_attr: str):
    """The best trials' curves against their fidelity (a network's epochs, a classical
    model's share of train, on a log scale): val solid, train dashed, accuracy and, where
    the trials report it, loss. A trial paused and continued reports a step again: its last
    report of it is drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    best = sorted(trials, key=lambda t: -t["val_accuracy"])[:CURVES_OF_BEST]
    best = [t for t in best if any(fidelity_attr in r for r in t["results"])]
    if not best:
        return None
    reported = {k for t in best for r in t["results"] for k in r}
    panels = [(label, f"val_{label}", f"train_{label}" if f"train_{label}" in reported else None)
              for label in ("accuracy", "loss") if f"val_{label}" in reported]
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 3.6), squeeze=False)
    for ax, (label, val_key, train_key) in zip(axes[0], panels):
        for i, t in enumerate(best):
            by_x = {r[fidelity_attr]: r for r in t["results"] if fidelity_attr in r}
            xs = sorted(by_x)
            name = f"trial {t['order']} ({t['val_accuracy']:.3f})"
            ax.plot(xs, [by_x[x].get(val_key, np.nan) for x in xs], "-o", ms=3, color=f"C{i}", label=name)
            if train_key:
                ax.plot(xs, [by_x[x].get(train_key, np.nan) for x in xs], "--", color=f"C{i}", alpha=0.7)
        ax.set_xlabel(fidelity_attr.replace("_", " "))
        if max(by_x) <= 1:  # a share of train, its rungs a factor apart
            ax.set_xscale("log")
        ax.set_ylabel(label + (" (dashed: train)" if train_key else ""))
        ax.grid(alpha=0.3)
    axes[0][0].legend(loc="best", fontsize=8)
    return fig


def confident_mistakes(y: np.ndarray, predicted: np.ndarray, confidence: np.ndarray | None,
                       per_class: int = MISTAKES_PER_CLASS) -> list[int]:
    """The val faces to show: of each true class in label order, its mistakes the model was
    surest of (its probability of the emotion it predicted), ``per_class`` at most. Without
    probabilities, each class's first mistakes."""
    shown = []
    for c in range(len(EMOTIONS)):
        wrong = np.flatnonzero((y == c) & (predicted != y))
        if confidence is not None:
            wrong = wrong[np.argsort(-confidence[wrong], kind="stable")]
        shown += wrong[:per_class].tolist()
    return shown


def class_balance(splits) -> str:
    import pandas as pd

    counts = {s: np.bincount(splits.y(s), minlength=len(EMOTIONS)) for s in splits.index if len(splits.index[s])}
    frame = pd.DataFrame({"emotion": list(EMOTIONS), **{s: c.tolist() for s, c in counts.items()}})
    return table(frame)


def model_section(model, card: dict, splits) -> str:
    """The model's confusion matrix and per-class recall on val, and misclassified faces."""
    import pandas as pd

    from trainables import metrics

    from ..parallel import fast

    x, y = splits.x("val"), splits.y("val")
    model = fast(model)  # an SVC's predict and decision values of the same faces: one pass
    predicted = np.asarray(model.predict(x))
    confidence = _confidence(model, card, x, predicted)
    report = metrics.report(y, predicted)
    confusion = pd.DataFrame(report["confusion_matrix"], columns=list(EMOTIONS))
    confusion.insert(0, "true \\ predicted", list(EMOTIONS))
    recall = pd.DataFrame({"emotion": list(EMOTIONS),
                           "recall": [report["per_class"][e]["recall"] for e in EMOTIONS],
                           "precision": [report["per_class"][e]["precision"] for e in EMOTIONS],
                           "support": [report["per_class"][e]["support"] for e in EMOTIONS]})
    shown = confident_mistakes(y, predicted, confidence)
    sure = (lambda i: f" ({confidence[i]:.0%})") if confidence is not None else (lambda i: "")
    grid = "".join(f'<figure><img src="{png_of_face(x[i])}" alt="val face {i}"><figcaption>{EMOTIONS[y[i]]} &rarr; '
                   f"{EMOTIONS[predicted[i]]}{sure(i)}</figcaption></figure>" for i in shown)
    which = ("the surest" if confidence is not None else "the first") + f" {MISTAKES_PER_CLASS} of each true emotion"
    return (f"<p>{html.escape(card['model_file'])} (trial {html.escape(str(card.get('trial_id')))}): val accuracy "
            f"{report['accuracy']:.4f}, macro F1 {report['macro_f1']:.4f}</p>"
            f"<h3>Confusion matrix on val (rows: true)</h3>{table(confusion)}"
            f"<h3>Per class on val</h3>{table(recall)}"
            f"<h3>Misclassified val faces (true &rarr; predicted, its probability; {which})</h3>"
            f"<div class=faces>{grid}</div>")


def _confidence(model, card: dict, x: np.ndarray, predicted: np.ndarray) -> np.ndarray | None:
    """The model's probability of the emotion it predicted, per face (None for a model
    exported without calibration)."""
    from trainables.errors import FerSearchError

    from ..ensembling.probabilities import probabilities

    try:
        return probabilities(model, card, x)[np.arange(len(x)), predicted.astype(int)]
    except FerSearchError:
        return None


def page(title: str, sections: list[tuple[str, str]]) -> str:
    body = "".join(f"<h2>{html.escape(name)}</h2>{content}" for name, content in sections)
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>\n")


def figures_html(images: list[str], alt: str) -> str:
    return "<div class=figures>" + "".join(f'<img src="{src}" alt="{html.escape(alt)}">' for src in images) + "</div>"


def note(text: str) -> str:
    return f"<p class=note>{html.escape(text)}</p>"


def auto_sections(record: dict) -> list[tuple[str, str]]:
    """An auto run's page: what it chose and why, each decision, each family's curve."""
    import pandas as pd

    final, lanes = record.get("final"), record.get("lanes", {})
    runs = "; ".join(f"{r['started']}: {r['budget_seconds']:.0f} s" for r in record.get("runs", []))
    about = f"<p>families {html.escape(', '.join(record.get('families', [])))}; runs (start: budget) {html.escape(runs)}</p>"
    if final:
        choice = final["choice"]
        members = ", ".join(f"{m['family']} {m['weight']:.2f}" for m in final["members"])
        about += (f"<p>final model: {html.escape(choice['method'])}{' + TTA' if final['tta'] else ''} of "
                  f"{html.escape(members)}: val {final['metrics']['val']['accuracy']:.4f}, test "
                  f"{final['metrics']['test']['accuracy'] or float('nan'):.4f} ({html.escape(str(final.get('file')))})</p>")
    sections = [(f"Auto run {record['search']}", about)]
    if final:
        held = pd.DataFrame([{"variant / method": k, "held-out val accuracy": v} for k, v in final["choice"]["held_out_val"].items()])
        sections.append(("Final choice: candidates, and each way judged on held-out halves of val",
                         table(pd.DataFrame(final["choice"]["candidates"])) + table(held)))
    decisions = pd.DataFrame(record.get("decisions", []))
    sections.append(("Decisions", table(decisions) if len(decisions) else note("no decision yet")))
    sections.append(("Each family's best val against its own time", figures_html([png_of_figure(curves_figure(lanes))], "curves")
                     if any(v.get("improvements") for v in lanes.values()) else note("no family reported yet")))
    return sections


def curves_figure(lanes: dict):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for family, lane in lanes.items():
        points = lane.get("improvements") or []
        if points:
            xs = [0.0, *[p[0] for p in points], lane.get("spent", points[-1][0])]
            ys = [lane.get("start", 0.0), *[p[1] for p in points], points[-1][1]]
            ax.step(xs, ys, where="post", label=f"{family} ({lane.get('state')})")
    ax.set_xlabel("seconds of the family's own time")
    ax.set_ylabel("best val accuracy")
    ax.legend()
    fig.tight_layout()
    return fig
