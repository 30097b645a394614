"""``python -m search ensemble``: soft-vote the best exported models, weights fitted on val."""

from __future__ import annotations

import os
from pathlib import Path

from trainables.errors import FerSearchError

from .options import add_models_dir, add_trust, positive_int

SUMMARY = "soft-vote the exported models: ensemble [--top K] [--tta]"


def add_parser(sub) -> None:
    p = sub.add_parser("ensemble", help="soft-vote the best exported models (weights fitted on val)")
    p.set_defaults(main=main)
    add_models_dir(p, "where the exported models are, and where the manifest goes")
    p.add_argument("--top", type=positive_int, default=3, metavar="K", help="the K best models by val accuracy (default: 3)")
    p.add_argument("--families", metavar="NAMES", help="only these families, comma-separated (default: every one exported)")
    p.add_argument("--tta", action="store_true",
                   help="test-time augmentation: average each model over the face, its mirror and 2-pixel shifts")
    p.add_argument("--out", type=Path, metavar="FILE", help="the manifest (default: MODELS_DIR/ensemble.json)")
    p.add_argument("--data", metavar="PATH", help="where the members' data is now, when it moved (the fingerprint must match)")
    p.add_argument("--cache-dir", type=Path, metavar="DIR", help="the data cache (default: $FER_SEARCH_CACHE or ~/.cache/fer-search)")
    add_trust(p, "a member")


def exported(models_dir: Path, families: list[str] | None) -> list[tuple[Path, dict]]:
    """(model file, card) of every exported model in ``models_dir``, best val first."""
    from ..stores import models

    found = []
    for fmt in models.FORMATS.values():
        for path in models_dir.glob(f"*_best{fmt.suffix}"):
            card = models.read_card(path)
            if card and (not families or card.get("family") in families) and card.get("metrics", {}).get("val"):
                found.append((path, card))
    return sorted(found, key=lambda pc: -pc[1]["metrics"]["val"]["accuracy"])


def choose(found: list[tuple[Path, dict]], top: int, say) -> list[tuple[Path, dict]]:
    """The best ``top`` models searched on the same data and val split as the best one."""
    if not found:
        return []
    same = lambda card: (card["data"].get("fingerprint"), card["data"].get("val_fraction"))  # noqa: E731
    data = same(found[0][1])
    chosen = [pc for pc in found if same(pc[1]) == data][:top]
    others = [str(p) for p, c in found if same(c) != data]
    if others:
        say(f"ensemble: left out {', '.join(others)}: searched on other data or another val split")
    return chosen


def main(args) -> int:
    from trainables.metrics import accuracy

    from ..engine import datasets
    from ..stores.files import check_writable
    from ..ensembling import soft_vote
    from ..stores import ensembles, models

    out = args.out or args.models_dir / "ensemble.json"
    check_writable(("--out", out.parent))
    families = args.families.split(",") if args.families else None
    chosen = choose(exported(args.models_dir, families), args.top, print)
    if len(chosen) < 2:
        raise FerSearchError(f"an ensemble needs two or more exported models of the same data in {args.models_dir}; "
                             f"found {len(chosen)}", hint="export more families first, e.g. python -m search rf --trials 20")
    card_data = chosen[0][1]["data"]
    source = args.data or card_data["source"]
    _, splits = datasets.load(source, card_data["val_fraction"], card_data.get("train_limit"), args.cache_dir,
                              need=("val", "test"))
    if splits.fingerprint != card_data["fingerprint"]:
        raise FerSearchError(f"{source}: not the data the models were searched on (its fingerprint differs)",
                             hint="pass --data with the source named in the models' cards")
    members = [(path, card, models.load(path, trust=args.trust)) for path, card in chosen]
    x, y = {s: splits.x(s) for s in ("val", "test")}, {s: splits.y(s) for s in ("val", "test")}
    proba = {s: [soft_vote.member_probabilities(m, c, x[s], args.tta) for _, c, m in members] for s in x}
    weights = soft_vote.fit_weights(proba["val"], y["val"])
    scores = {s: accuracy(y[s], soft_vote.decide(sum(w * p for w, p in zip(weights, proba[s])))) for s in x}

    rows = [("member", "weight", "val", "test")]
    for (path, card, _), w, pv, pt in zip(members, weights, proba["val"], proba["test"]):
        rows.append((path.name, f"{w:.3f}", f"{accuracy(y['val'], soft_vote.decide(pv)):.4f}", f"{accuracy(y['test'], soft_vote.decide(pt)):.4f}"))
    rows.append((f"ensemble{' + TTA' if args.tta else ''}", "", f"{scores['val']:.4f}", f"{scores['test']:.4f}"))
    width = max(len(r[0]) for r in rows)
    print("\n".join(f"{r[0]:<{width}}  {r[1]:>6}  {r[2]:>6}  {r[3]:>6}" for r in rows))
    best_test = max(accuracy(y["test"], soft_vote.decide(pt)) for pt in proba["test"])
    print(f"against its best member on test: {scores['test'] - best_test:+.4f}{' (members with TTA too)' if args.tta else ''}")

    ensembles.write(out, {
        "members": [{"path": os.path.relpath(path.resolve(), out.parent.resolve()), "sha256": models.sha256_of(path),
                     "family": card["family"], "weight": float(w), "val_accuracy": card["metrics"]["val"]["accuracy"]}
                    for (path, card, _), w in zip(members, weights)],
        "tta": bool(args.tta), "weights_fitted_on": "val",
        "metrics": {"val": {"accuracy": scores["val"]}, "test": {"accuracy": scores["test"]}},
        "data": card_data,
    })
    print(f"wrote {out} (python -m search evaluate {out}, python -m search predict {out} PHOTOS)")
    return 0
