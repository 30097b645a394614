"""Readers for the three forms users have FER2013 in, and their fingerprints.

- the Kaggle folder tree: ``train/<emotion>/*.jpg`` and ``test/<emotion>/*.jpg``
  (``msambare/fer2013``), possibly one folder down;
- the same tree inside a ``.zip``, read in place;
- the challenge CSV: ``emotion,pixels,Usage`` (``Usage`` optional: all rows are then
  Training).

Each reader returns a ``Decoded``: images (N, 48, 48) uint8, labels, and each image's
usage, named as the challenge names its parts: ``Training``, ``PublicTest``,
``PrivateTest``, or ``Test`` for a test folder whose file names do not say which half.
"""

from __future__ import annotations

import hashlib
import os
import struct
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import FerSearchError
from .labels import EMOTIONS, label_of_folder

SIDE = 48
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".pgm")
USAGES = ("Training", "PublicTest", "PrivateTest", "Test")
CSV_COLUMNS = ("emotion", "pixels", "Usage")
# Unreadable images are skipped (and counted) only while they stay this rare.
MAX_BAD_SHARE = 0.01
# A 48x48 face takes 1-3 KB as JPEG or PNG and 2.4 KB as BMP or PGM. A zip member or file
# claiming more than this is skipped before a byte of it is inflated or read: a zip bomb
# (a few KB that inflate to gigabytes), a symlink to a huge file.
MAX_IMAGE_BYTES = 1 << 20
_SPLIT_FOLDERS = ("train", "test")


@dataclass
class Decoded:
    images: np.ndarray  # (N, 48, 48) uint8
    labels: np.ndarray  # (N,) int8, challenge indices
    usage: np.ndarray  # (N,) str, one of USAGES
    skipped: list[str] = field(default_factory=list)  # "name: why" of each skipped image


def detect_format(path: Path) -> str:
    """'zip', 'csv' or 'folder' for an existing path; a FerSearchError otherwise."""
    if not path.exists():
        raise FerSearchError(f"{path}: no such file or folder", hint="--data takes a FER2013 zip, folder or CSV, or 'demo'")
    if path.is_dir():
        return "folder"
    if zipfile.is_zipfile(path):
        return "zip"
    if path.suffix.lower() == ".csv":
        return "csv"
    raise FerSearchError(f"{path}: not a zip, a CSV or a folder", hint="--data takes a FER2013 zip, folder or CSV, or 'demo'")


# ---------------------------------------------------------------- fingerprints


def fingerprint(path: Path, fmt: str) -> str:
    """A short hex digest that changes when the source's content changes.

    zip: the archive's central directory, which holds every member's name, CRC-32 of its
    content, sizes and dates (one read, nothing decompressed); csv: SHA-256 of the bytes;
    folder: every image's relative path, size and modification time (reading 35,000
    files just to hash them would cost more than decoding them).
    """
    h = hashlib.sha256(f"{fmt}\n".encode())
    if fmt == "zip":
        directory = _zip_central_directory(path)
        if directory is not None:
            h.update(directory)
        else:  # zip64 or an odd archive: the same facts, read through zipfile (slower)
            with _open_zip(path) as zf:
                for info in sorted(zf.infolist(), key=lambda i: i.filename):
                    h.update(f"{info.filename}\0{info.CRC}\0{info.file_size}\n".encode())
    elif fmt == "csv":
        with open(path, "rb") as f:
            h.update(hashlib.file_digest(f, "sha256").digest())
    else:
        for rel, full in _folder_images(path):
            st = full.stat()
            h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def _zip_central_directory(path: Path) -> bytes | None:
    """The raw central directory of a plain (non-zip64) zip: every member's name, CRC-32
    and sizes in one read, without building 35,000 ZipInfo objects. None if not found."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        tail_len = min(size, 22 + 65535)  # end record plus the longest comment
        f.seek(size - tail_len)
        tail = f.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) < at + 22:
            return None
        cd_size, cd_offset = struct.unpack("<II", tail[at + 12: at + 20])
        if cd_offset == 0xFFFFFFFF or cd_size == 0xFFFFFFFF or cd_offset + cd_size > size:
            return None
        f.seek(cd_offset)
        return f.read(cd_size)


# ---------------------------------------------------------------- image trees


def _tree_entry(parts: list[str]) -> tuple[str, int] | None:
    """('train'|'test', label) for a path ending in <split>/<emotion>/<image>, else None.

    Raises for a folder under train/ or test/ that is not an emotion: a typo there would
    otherwise silently drop a class.
    """
    if len(parts) < 3 or not parts[-1].lower().endswith(IMAGE_EXTENSIONS):
        return None
    if any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return None
    split = parts[-3].lower()
    if split not in _SPLIT_FOLDERS:
        return None
    label = label_of_folder(parts[-2])
    if label is None:
        raise FerSearchError(
            f"{'/'.join(parts[:-1])}: '{parts[-2]}' is not an emotion folder",
            hint=f"expected folders named {', '.join(EMOTIONS)} (any case)",
        )
    return split, label


def _usage(split: str, file_name: str) -> str:
    if split == "train":
        return "Training"
    for usage in ("PublicTest", "PrivateTest"):
        if file_name.startswith(usage):
            return usage
    return "Test"


def _decode(buf: bytes) -> tuple[np.ndarray | None, str]:
    import cv2

    if not buf:
        return None, "an empty file"
    try:
        img = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_GRAYSCALE)
    except cv2.error:  # a header that claims an absurd size, and the like
        img = None
    if img is None:
        return None, "not a readable image"
    if img.shape != (SIDE, SIDE):
        return None, f"{img.shape[1]}x{img.shape[0]}, not {SIDE}x{SIDE}"
    return img, ""


def _collect(entries, source: Path, read, size) -> Decoded:
    """Decode (name, split, label) entries with ``read(name) -> bytes`` into a Decoded;
    ``size(name)`` is an entry's size before it is read (None: not a regular file)."""
    if not entries:
        raise FerSearchError(
            f"{source}: no FER2013 images found",
            hint="expected train/<emotion>/*.jpg and/or test/<emotion>/*.jpg (the Kaggle msambare/fer2013 layout)",
        )
    images = np.empty((len(entries), SIDE, SIDE), np.uint8)
    labels = np.empty(len(entries), np.int8)
    usage = []
    skipped = []
    n = 0
    for name, split, label in entries:
        nbytes = size(name)
        if nbytes is None or nbytes > MAX_IMAGE_BYTES:
            skipped.append(f"{name}: " + ("not a regular file" if nbytes is None else f"{nbytes:,} bytes, more than a 48x48 "
                                          f"image takes (at most {MAX_IMAGE_BYTES:,}); not read"))
            continue
        img, why = _decode(read(name))
        if img is None:
            skipped.append(f"{name}: {why}")
            continue
        images[n], labels[n] = img, label
        usage.append(_usage(split, name.rsplit("/", 1)[-1]))
        n += 1
    check_bad_share(source, skipped, len(entries), "images")
    return Decoded(images[:n], labels[:n], np.array(usage, dtype=object), skipped)


def check_bad_share(source: Path, bad: list[str], total: int, what: str) -> None:
    if bad and len(bad) > MAX_BAD_SHARE * total:
        raise FerSearchError(
            f"{source}: {len(bad)} of {total} {what} are unusable (first: {bad[0]})",
            hint=f"a few unusable {what} (at most {MAX_BAD_SHARE:.0%}) are skipped; this many means a wrong or damaged source",
        )


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise FerSearchError(f"{path}: cannot read the zip ({e})") from None


def read_zip(path: Path) -> Decoded:
    with _open_zip(path) as zf:
        entries = []
        for name in sorted(zf.namelist()):
            hit = _tree_entry(name.split("/"))
            if hit:
                entries.append((name, *hit))
        try:
            return _collect(entries, path, zf.read,
                            # as the central directory declares it: zipfile never inflates more
                            lambda name: zf.getinfo(name).file_size)
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise FerSearchError(f"{path}: the zip is damaged ({e})") from None


def _tree_root(path: Path) -> Path:
    """The folder that holds train/ and test/: the path itself or its only sub-folder."""
    def has_splits(p: Path) -> bool:
        return any(c.is_dir() and c.name.lower() in _SPLIT_FOLDERS for c in p.iterdir())

    if has_splits(path):
        return path
    subs = [c for c in path.iterdir() if c.is_dir() and not c.name.startswith(".")]
    if len(subs) == 1 and has_splits(subs[0]):
        return subs[0]
    raise FerSearchError(
        f"{path}: no train/ or test/ folder",
        hint="expected train/<emotion>/*.jpg and/or test/<emotion>/*.jpg (the Kaggle msambare/fer2013 layout)",
    )


def _folder_images(path: Path) -> list[tuple[str, Path]]:
    root = _tree_root(path)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = Path(dirpath).relative_to(root).parts
        for name in sorted(filenames):
            found.append(("/".join((*rel_dir, name)), Path(dirpath, name)))
    return found


def read_folder(path: Path) -> Decoded:
    entries, files = [], {}
    for rel, full in _folder_images(path):
        hit = _tree_entry(rel.split("/"))
        if hit:
            entries.append((rel, *hit))
            files[rel] = full
    return _collect(entries, path, lambda rel: files[rel].read_bytes(), lambda rel: _file_size(files[rel]))


def _file_size(path: Path) -> int | None:
    """A regular file's size (through a symlink), else None: a device, a pipe, a socket."""
    import stat

    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None



# ---------------------------------------------------------------- the challenge CSV


def read_csv(path: Path) -> Decoded:
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as e:
        raise FerSearchError(f"{path}: not a readable CSV ({str(e).splitlines()[0]})") from None
    frame.columns = [c.strip() for c in frame.columns]
    missing = [c for c in ("emotion", "pixels") if c not in frame.columns]
    if missing:
        raise FerSearchError(
            f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
            hint=f"the FER2013 CSV has the columns {','.join(CSV_COLUMNS)} (Usage optional)",
        )
    if frame.empty:
        raise FerSearchError(f"{path}: the CSV has no rows")
    usage = frame["Usage"].str.strip() if "Usage" in frame.columns else pd.Series("Training", index=frame.index)
    pixels, bad_pixels = _parse_pixel_rows(frame["pixels"].tolist())
    emotion = pd.to_numeric(frame["emotion"].str.strip(), errors="coerce")
    bad = []
    for i in range(len(frame)):
        line = i + 2  # 1-based, after the header line
        if i in bad_pixels:
            bad.append(f"line {line}: {bad_pixels[i]}")
        elif not (emotion.iat[i] in range(len(EMOTIONS))):
            bad.append(f"line {line}: emotion {frame['emotion'].iat[i]!r} is not 0-6")
        elif usage.iat[i] not in USAGES[:3]:
            bad.append(f"line {line}: Usage {usage.iat[i]!r} is not Training, PublicTest or PrivateTest")
    check_bad_share(path, bad, len(frame), "rows")
    keep = np.ones(len(frame), bool)
    keep[[int(b.split(":")[0].split()[1]) - 2 for b in bad]] = False
    return Decoded(
        pixels[keep].reshape(-1, SIDE, SIDE),
        emotion.to_numpy()[keep].astype(np.int8),
        usage.to_numpy(dtype=object)[keep],
        bad,
    )


def _parse_pixel_rows(rows: list[str]) -> tuple[np.ndarray, dict[int, str]]:
    """Parse 'p p p ...' rows of 2304 values 0-255; (pixels (N, 2304), {row: problem}).

    The fast path parses every row in one C call; only when the total does not add up are
    rows parsed one by one to name the bad ones.
    """
    n_values = SIDE * SIDE
    out = np.zeros((len(rows), n_values), np.uint8)
    joined = " ".join(rows)
    with warnings.catch_warnings():
        # NumPy warns and returns a partial array on unparsable text; make that an error.
        warnings.simplefilter("error", DeprecationWarning)
        try:
            values = np.fromstring(joined, dtype=np.int64, sep=" ")
        except (ValueError, DeprecationWarning):
            values = None
    bad: dict[int, str] = {}
    if values is not None and values.size == len(rows) * n_values and values.min(initial=0) >= 0 and values.max(initial=0) <= 255:
        counts = np.fromiter((r.count(" ") + 1 if r.strip() else 0 for r in rows), np.int64, len(rows))
        if (counts == n_values).all():
            out[:] = values.reshape(len(rows), n_values)
            return out, bad
    for i, row in enumerate(rows):
        try:
            v = np.array(row.split(), dtype=np.int64)
        except ValueError:
            bad[i] = "pixels hold something other than whole numbers"
            continue
        if v.size != n_values:
            bad[i] = f"{v.size} pixel values, not {n_values}"
        elif v.size and (v.min() < 0 or v.max() > 255):
            bad[i] = "pixel values outside 0-255"
        else:
            out[i] = v
    return out, bad
