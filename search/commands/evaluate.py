"""``python -m search evaluate MODEL_FILE``: score an exported model on any split of any source."""

from __future__ import annotations

import json
from pathlib import Path

from trainables.errors import FerSearchError
from trainables.labels import EMOTIONS

from .options import add_data_options, add_trust

SUMMARY = "score an exported model: evaluate MODEL_FILE"


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="score an exported model on a split")
    p.set_defaults(main=main)
    p.add_argument("model_file", metavar="MODEL_FILE", help="an exported model, e.g. models/svm_best.skops")
    add_data_options(p, val_default=None)
    p.add_argument("--split", choices=("train", "val", "test"), default="test")
    p.add_argument("--json", metavar="FILE", help="also write accuracy, macro_f1, per_class and confusion_matrix here")
    add_trust(p)


def evaluate(model_file: Path, data_spec: str | None, split: str, val_fraction: float | None,
             cache_dir: Path | None, say=print, trust: bool = False) -> dict:
    from trainables import metrics
    from trainables.data import DEFAULT_VAL_FRACTION

    from ..engine import datasets
    from ..parallel import fast
    from ..stores import loader, models

    model = loader.load(model_file, trust=trust)
    card = models.read_card(model_file) or {}
    card_data = card.get("data", {})
    if data_spec is None and card_data.get("source") and (card_data["source"].startswith("demo") or Path(card_data["source"]).exists()):
        data_spec = card_data["source"]  # by default, the data the model was searched on
        say(f"data: {data_spec} (from the model card)")
    if val_fraction is None:  # the same val slice as the search, so val scores compare
        val_fraction = card_data.get("val_fraction", DEFAULT_VAL_FRACTION)
    _, splits = datasets.load(data_spec, val_fraction, None, cache_dir, need=(split,), say=say)
    try:
        predicted = fast(model).predict(splits.x(split))
    except ValueError as e:
        raise FerSearchError(f"{model_file}: the model does not take FER images ({e})") from None
    return metrics.report(splits.y(split), predicted)


def render(report: dict, split: str) -> str:
    lines = [f"{split}: accuracy {report['accuracy']:.4f}, macro_f1 {report['macro_f1']:.4f}", "",
             f"{'class':<10}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}"]
    for name, c in report["per_class"].items():
        lines.append(f"{name:<10}{c['precision']:>10.3f}{c['recall']:>8.3f}{c['f1']:>8.3f}{c['support']:>9}")
    lines += ["", "confusion matrix (rows: true, columns: predicted)", " " * 10 + "".join(f"{n[:7]:>8}" for n in EMOTIONS)]
    for name, row in zip(EMOTIONS, report["confusion_matrix"]):
        lines.append(f"{name:<10}" + "".join(f"{v:>8}" for v in row))
    return "\n".join(lines) + "\n"


def main(args) -> int:
    report = evaluate(Path(args.model_file), args.data, args.split, args.val_fraction, args.cache_dir, trust=args.trust)
    print(render(report, args.split), end="")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0
