"""Loading a data source once, caching it, and cutting it into train / val / test.

``load(spec)`` takes a path (zip, folder or CSV) or ``demo`` / ``demo:N``. A source is
decoded once into an Arrow file in the cache, keyed by its content fingerprint; every
later load memory-maps that file. ``make_splits(data, ...)`` then cuts the images into the
three splits every family uses.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import demo, sources
from .errors import FerSearchError
from .sources import SIDE

CACHE_VERSION = 1
DEFAULT_VAL_FRACTION = 0.1
# The val slice of a folder source is cut with this fixed seed, not the search seed, so
# that every search on a source is scored on the same images and leaderboards compare.
SPLIT_SEED = 2013
SPLITS = ("train", "val", "test")
CACHE_ENV = "FER_SEARCH_CACHE"


def default_cache_dir() -> Path:
    """$FER_SEARCH_CACHE, else $XDG_CACHE_HOME/fer-search, else ~/.cache/fer-search."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fer-search"


@dataclass
class FerData:
    """Every image of a source, with its label and usage (see ``sources``)."""

    images: np.ndarray  # (N, 48, 48) uint8
    labels: np.ndarray  # (N,) int8
    usage: np.ndarray  # (N,) str
    source: str  # absolute path, or demo:N
    format: str  # zip | folder | csv | demo
    fingerprint: str
    skipped: list[str] = field(default_factory=list)
    cache_file: Path | None = None
    from_cache: bool = False


@dataclass
class Splits:
    """What a trial receives through the object store: images once, indices per split.

    Features are computed for all images at once (and cached per fingerprint), so the
    splits are index arrays into ``images``, not copies.
    """

    images: np.ndarray
    labels: np.ndarray
    index: dict[str, np.ndarray]
    fingerprint: str
    cache_dir: str

    def x(self, split: str) -> np.ndarray:
        return self.images[self.index[split]]

    def y(self, split: str) -> np.ndarray:
        return self.labels[self.index[split]]

    def sizes(self) -> dict[str, int]:
        return {s: int(len(i)) for s, i in self.index.items()}


def parse_demo_spec(spec: str) -> int | None:
    """The size named by 'demo' or 'demo:N', or None when spec names something else."""
    if spec == "demo":
        return demo.DEFAULT_SIZE
    if spec.startswith("demo:"):
        n = spec[5:].replace("_", "")
        if not n.isdigit() or int(n) < 70:
            raise FerSearchError(f"--data {spec}: the demo size must be a whole number of at least 70")
        return int(n)
    return None


def load(spec: str | os.PathLike, cache_dir: Path | None = None) -> FerData:
    spec = str(spec)
    n_demo = parse_demo_spec(spec)
    if n_demo is not None:
        d = demo.generate(n_demo)
        return FerData(d.images, d.labels, d.usage, f"demo:{n_demo}", "demo", f"demo-v1-{n_demo}")
    path = Path(spec).expanduser().resolve()
    fmt = sources.detect_format(path)
    try:
        fp = sources.fingerprint(path, fmt)
    except OSError as e:
        raise FerSearchError(f"{path}: cannot read ({e.strerror or e})") from None
    cache_file = (cache_dir or default_cache_dir()) / "datasets" / f"{fp}-v{CACHE_VERSION}.arrow"
    if cache_file.exists():
        try:
            return _read_cache(cache_file, str(path), fmt, fp)
        except Exception:  # a damaged cache file is rebuilt, never trusted
            cache_file.unlink(missing_ok=True)
    reader = {"zip": sources.read_zip, "folder": sources.read_folder, "csv": sources.read_csv}[fmt]
    try:
        d = reader(path)
    except PermissionError as e:
        raise FerSearchError(f"{e.filename or path}: permission denied") from None
    _write_cache(cache_file, d)
    return FerData(d.images, d.labels, d.usage, str(path), fmt, fp, d.skipped, cache_file)


def _write_cache(path: Path, d: sources.Decoded) -> None:
    import pyarrow as pa

    n = len(d.labels)
    image = pa.FixedSizeBinaryArray.from_buffers(pa.binary(SIDE * SIDE), n, [None, pa.py_buffer(np.ascontiguousarray(d.images))])
    table = pa.table(
        {"image": image, "label": pa.array(d.labels), "usage": pa.array(d.usage.astype(str)).dictionary_encode()},
        metadata={"skipped": "\n".join(d.skipped)},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written to a temporary file and renamed: a reader never sees half a cache.
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f, pa.ipc.new_file(f, table.schema) as writer:
            writer.write_table(table)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_cache(path: Path, source: str, fmt: str, fp: str) -> FerData:
    import pyarrow as pa

    table = pa.ipc.open_file(pa.memory_map(str(path))).read_all()
    # Zero-copy views of the mapped file; we wrote one chunk, so nothing is concatenated.
    image = table.column("image").chunk(0) if table.column("image").num_chunks == 1 else table.column("image").combine_chunks()
    images = np.frombuffer(image.buffers()[1], np.uint8, count=len(image) * SIDE * SIDE).reshape(-1, SIDE, SIDE)
    labels = table.column("label").to_numpy()
    usage_codes = table.column("usage").combine_chunks()
    usage = np.asarray(usage_codes.dictionary.to_pylist(), dtype=object)[usage_codes.indices.to_numpy()]
    skipped = (table.schema.metadata or {}).get(b"skipped", b"").decode()
    return FerData(images, labels, usage, source, fmt, fp, skipped.split("\n") if skipped else [], path, True)


def split_index(data: FerData, val_fraction: float = DEFAULT_VAL_FRACTION, train_limit: int | None = None) -> dict[str, np.ndarray]:
    """Index arrays of train, val and test.

    CSV: Training / PublicTest / PrivateTest. Folder layouts and the demo set: test is the
    test folder, val a stratified slice of train cut with SPLIT_SEED. ``train_limit``
    keeps a stratified subset of train, for quick looks at a large source.
    """
    from sklearn.model_selection import train_test_split

    usage = data.usage
    train = np.flatnonzero(usage == "Training")
    if data.format == "csv":
        val = np.flatnonzero(usage == "PublicTest")
        test = np.flatnonzero(usage == "PrivateTest")
    else:
        test = np.flatnonzero(usage != "Training")
        val = np.empty(0, np.int64)
        if len(train) and val_fraction > 0:
            train, val = _stratified_cut(train, data.labels[train], val_fraction, train_test_split)
    if train_limit and train_limit < len(train):
        train, _ = _stratified_cut(train, data.labels[train], 1 - train_limit / len(train), train_test_split)
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


def _stratified_cut(idx, labels, fraction, train_test_split):
    counts = np.bincount(labels)
    # Stratify only where every present class can give at least one image to each side.
    stratify = labels if counts[counts > 0].min() >= 2 and len(idx) * min(fraction, 1 - fraction) >= len(counts[counts > 0]) else None
    return train_test_split(idx, test_size=fraction, random_state=SPLIT_SEED, stratify=stratify)


def make_splits(data: FerData, val_fraction: float = DEFAULT_VAL_FRACTION, train_limit: int | None = None,
                cache_dir: Path | None = None, need: tuple[str, ...] = ("train", "val")) -> Splits:
    """The Splits a search or an evaluation uses; a FerSearchError when a needed split is empty."""
    if not 0 <= val_fraction < 1:
        raise FerSearchError(f"--val-fraction {val_fraction}: must be at least 0 and below 1")
    index = split_index(data, val_fraction, train_limit)
    for split in need:
        if not len(index[split]):
            raise FerSearchError(
                f"{data.source}: holds no '{split}' images",
                hint="a source with only a test/ folder serves 'evaluate'; a search needs train/ too"
                if split != "val" else "val comes from PublicTest rows (CSV) or --val-fraction of train (folders)",
            )
    return Splits(data.images, data.labels, index, data.fingerprint, str(cache_dir or default_cache_dir()))


def copies_of(images: np.ndarray, originals: np.ndarray, others: np.ndarray) -> list[tuple[int, int]]:
    """(image in ``others``, image in ``originals``) for each image of ``others`` whose
    pixels are exactly those of one in ``originals`` (indices into ``images``). FER2013
    holds some faces in both train and test: a score on them measures memory."""
    import hashlib

    def key(i):
        return hashlib.blake2b(images[i].tobytes(), digest_size=16).digest()

    first = {}
    for i in originals:
        first.setdefault(key(i), int(i))
    return [(int(i), first[k]) for i in others if (k := key(i)) in first]

