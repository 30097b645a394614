"""``python -m search ensemble``: the best exported models soft-voted, chosen on val.

By default it makes ``auto``'s end choice (``engine/auto/final.py``,
``ensembling/selection.py``): the single best member, Caruana's greedy selection with
replacement, or least-log-loss weights, each judged on held-out halves of val, with
``--tta`` also with the views for every member and for those they help on val alone. On
the real data a 2-hour hand-made route's svm and cnn scored test 0.6576 under least-log-
loss weights over both with TTA (the cnn 0.88), and 0.6715 under that choice (greedy,
the views on the cnn alone: svm 0.39, cnn 0.61; docs/results.md). ``--method`` fixes
one way instead, kept even where it falls below its best member on val.
"""

from __future__ import annotations

from pathlib import Path

from trainables.errors import FerSearchError

from .options import add_models_dir, add_trust, positive_int

SUMMARY = "soft-vote the exported models: ensemble [--top K] [--tta] [--method choose|greedy|weights]"
CHOOSE = "choose"
WAYS = {"single": "the best member alone", "greedy": "greedy selection with replacement",
        "weights": "least-log-loss weights"}
VARIANTS = {"plain": "without TTA", "tta": "with TTA", "mixed": "TTA for the members it helps on val"}


def add_parser(sub) -> None:
    p = sub.add_parser("ensemble", help="soft-vote the best exported models (chosen on val)")
    p.set_defaults(main=main)
    add_models_dir(p, "where the exported models are, and where the manifest goes")
    p.add_argument("--top", type=positive_int, default=3, metavar="K", help="the K best models by val accuracy (default: 3)")
    p.add_argument("--families", metavar="NAMES", help="only these families, comma-separated (default: every one exported)")
    p.add_argument("--tta", action="store_true",
                   help="test-time augmentation: average a model over the face, its mirror and 2-pixel shifts "
                        "(with --method choose: for the members it helps on val, or all, or none, as val says)")
    p.add_argument("--method", choices=(CHOOSE, "greedy", "weights"), default=CHOOSE,
                   help="choose (default): the best on held-out halves of val of the best member alone, greedy "
                        "selection with replacement and least-log-loss weights; greedy or weights: that one")
    p.add_argument("--seed", type=int, default=0, help="splits val into the held-out halves (default: 0)")
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
    from ..engine import datasets
    from ..engine.auto import final
    from ..stores.files import check_writable
    from ..stores import models

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
    members = [(card["family"], path, card, models.load(path, trust=args.trust)) for path, card in chosen]
    manifest = final.choose_among(members, splits, args.seed, args.tta, lambda seconds: True, print,
                                  method=None if args.method == CHOOSE else args.method)
    manifest["choice"].pop("seconds")  # auto learns its end's costs from them; here they say nothing
    print(table(manifest))
    final.write(out, manifest)
    print(f"wrote {out} (python -m search evaluate {out}, python -m search predict {out} PHOTOS)")
    return 0


def table(manifest: dict) -> str:
    """Each candidate's weight (none: left out) and val and test, with its views where it
    takes them; the ensemble's; how each way scored on held-out halves of val; the gain
    over the best member on test."""
    from ..stores import ensembles

    choice = manifest["choice"]
    taken = {m["path"]: m for m in manifest["members"]}
    rows = [("member", "weight", "val", "test")]
    for c in choice["candidates"]:
        m = taken.get(c["path"])
        views = "tta_" if m and m["tta"] else ""
        name = Path(c["path"]).name + (" + TTA" if views else "")
        rows.append((name, f"{m['weight']:.3f}" if m else "-", f"{c[views + 'val']:.4f}", _score(c[views + "test"])))
    metrics = manifest["metrics"]
    label = "ensemble" if len(manifest["members"]) > 1 else f"{manifest['members'][0]['family']} alone"
    rows.append((f"{label}{ensembles.tta_label(manifest)}", "", f"{metrics['val']['accuracy']:.4f}",
                 _score(metrics["test"]["accuracy"])))
    width = max(len(r[0]) for r in rows)
    lines = [f"{r[0]:<{width}}  {r[1]:>6}  {r[2]:>6}  {r[3]:>6}" for r in rows]
    held_out = choice["held_out_val"]
    lines.append(f"chosen: {WAYS[choice['method']]}, {VARIANTS[choice['variant']]}"
                 + (" (the ensemble fell below its best member on val)" if choice["fallback"] else "")
                 + "; on held-out halves of val: " + ", ".join(f"{k} {v:.4f}" for k, v in held_out.items()))
    tests = [c[k] for c in choice["candidates"] for k in ("test", "tta_test") if c.get(k) is not None]
    if tests and metrics["test"]["accuracy"] is not None:
        views = " (with or without TTA)" if any("tta_test" in c for c in choice["candidates"]) else ""
        lines.append(f"against its best member on test{views}: {metrics['test']['accuracy'] - max(tests):+.4f}")
    return "\n".join(lines)


def _score(value) -> str:
    return "-" if value is None else f"{value:.4f}"
