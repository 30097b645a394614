"""Exported model files: writing them atomically, and loading only ours.

A classical model is a scikit-learn pipeline saved with skops (no pickle: loading runs no
code of the file's choosing), with a JSON card beside it: ``<family>_best.skops`` and
``<family>_best.json``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from trainables.errors import FerSearchError

# Loading trusts scikit-learn, NumPy and SciPy types and our own feature steps; anything
# else in a file means it is not one of ours.
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "trainables.features.")


def card_path(model_path: Path) -> Path:
    return Path(model_path).with_suffix(".json")


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(model, path: Path, card: dict) -> None:
    """The model, then its card: a card never names a model file that is not there yet."""
    import skops.io as sio

    _atomic_write(path, lambda tmp: sio.dump(model, tmp))
    _atomic_write(card_path(path), lambda tmp: Path(tmp).write_text(json.dumps(card, indent=2, default=str) + "\n"))


def read_card(model_path: Path) -> dict | None:
    path = card_path(model_path)
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise FerSearchError(f"{path}: not a readable model card ({e})") from None


def load(path: Path):
    """The model at ``path``; a FerSearchError when it is missing or not one of ours."""
    path = Path(path)
    if not path.is_file():
        raise FerSearchError(f"{path}: no such model file")
    if path.suffix != ".skops":
        raise FerSearchError(f"{path}: not a fer-search model", hint="exported models are models/<family>_best.skops")
    import skops.io as sio

    not_ours = f"{path}: not a fer-search model"
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as e:  # skops raises a variety of errors on foreign or damaged files
        raise FerSearchError(f"{not_ours} (unreadable as skops: {type(e).__name__})") from None
    foreign = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    if foreign:
        raise FerSearchError(f"{not_ours} (it holds {', '.join(foreign[:3])})", hint="only skops files that fer-search exported are loaded")
    try:
        model = sio.load(path, trusted=untrusted)
    except Exception as e:
        raise FerSearchError(f"{not_ours} (loading failed: {type(e).__name__}: {e})") from None
    if not hasattr(model, "predict"):
        raise FerSearchError(f"{not_ours} (it holds a {type(model).__name__}, not a model)")
    return model
