"""``python -m search data info``: what a data source holds."""

from __future__ import annotations

from trainables.labels import EMOTIONS

from .options import Parser, add_data_options

SUMMARY = "inspect a data source: data info"


def add_parser(sub) -> None:
    data = sub.add_parser("data", help="inspect a data source")
    data_sub = data.add_subparsers(dest="data_command", metavar="info", required=True, parser_class=Parser)
    info = data_sub.add_parser("info", help="source, format, images per split and class, fingerprint, cache")
    info.set_defaults(main=main)
    add_data_options(info)


def main(args) -> int:
    import numpy as np

    from trainables.data import copies_of

    from ..engine import datasets

    data, splits = datasets.load(args.data, args.val_fraction, None, args.cache_dir, need=())
    print(f"source:      {data.source}")
    print(f"format:      {data.format}")
    print(f"fingerprint: {data.fingerprint}")
    print(f"cache:       {data.cache_file or 'none (the demo set is generated, not cached)'}"
          + (" (hit)" if data.from_cache else ""))
    print(f"images:      {len(data.labels)}" + (f" ({len(data.skipped)} unusable skipped)" if data.skipped else ""))
    usages, counts = np.unique(data.usage.astype(str), return_counts=True)
    print("usage:       " + ", ".join(f"{u} {c}" for u, c in zip(usages, counts)))
    width = max(len(e) for e in EMOTIONS)
    print("")
    print(f"{'split':<7}{'total':>7}  " + "".join(f"{e:>{width + 1}}" for e in EMOTIONS))
    for split, idx in splits.index.items():
        per_class = np.bincount(data.labels[idx], minlength=len(EMOTIONS))
        print(f"{split:<7}{len(idx):>7}  " + "".join(f"{c:>{width + 1}}" for c in per_class))
    if data.format != "csv":
        print(f"\n(val is a stratified {args.val_fraction:.0%} of the train folder: --val-fraction)")
    copies = {s: copies_of(splits.images, splits.index["train"], splits.index[s]) for s in ("val", "test")}
    named = ", ".join(f"{s} image {i} = train image {j}" for s in copies for i, j in copies[s][:3])
    print(f"\ncopies of train faces (identical pixels): val {len(copies['val'])}, test {len(copies['test'])}"
          + (f" (e.g. {named})" if named else ""))
    return 0
