"""Which data a command uses: ``--data``, else FER2013 found in ``data/``, else the demo set."""

from __future__ import annotations

from pathlib import Path

from trainables import data as fer

DATA_DIR = Path("data")
# What a user who followed data/README.md has: the Kaggle zip (either name), the
# challenge CSV, or the zip unpacked as data/fer2013/ or straight into data/.
CANDIDATES = ("fer2013.zip", "archive.zip", "fer2013.csv", "fer2013", ".")


def resolve(spec: str | None, say=print, data_dir: Path = DATA_DIR) -> str:
    if spec:
        return spec
    for name in CANDIDATES:
        p = data_dir / name
        if p.is_file() or (p.is_dir() and any(c.name.lower() in ("train", "test") for c in p.iterdir() if c.is_dir())):
            say(f"data: {p} (found in {data_dir}/)")
            return str(p)
    say(f"data: no FER2013 in {data_dir}/ (see data/README.md), so the embedded demo set (--data demo)")
    return "demo"


def load(spec: str | None, val_fraction: float, train_limit: int | None, cache_dir: Path | None,
         need: tuple[str, ...], say=print) -> tuple[fer.FerData, fer.Splits]:
    data = fer.load(resolve(spec, say), cache_dir)
    if data.skipped:
        say(f"data: skipped {len(data.skipped)} unusable image(s) of {data.source} (first: {data.skipped[0]})")
    return data, fer.make_splits(data, val_fraction, train_limit, cache_dir, need)
