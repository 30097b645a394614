"""Exported model files: writing them atomically, and loading only ours.

A classical model is a scikit-learn pipeline saved with skops (no pickle: loading runs no
code of the file's choosing), with a JSON card beside it: ``<family>_best.skops`` and
``<family>_best.json``.
"""

from __future__ import annotations

import json
import os
import shutil
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


def save(model, path: Path, card: dict, keras_file: Path | None = None) -> None:
    """The model, then its card: a card never names a model file that is not there yet.
    A network is its checkpoint's ``.keras`` file, copied; a pipeline is written by skops."""
    if keras_file is not None:
        _atomic_write(path, lambda tmp: shutil.copyfile(keras_file, tmp))
    else:
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
    if path.suffix == ".keras":
        return _load_keras(path)
    if path.suffix != ".skops":
        raise FerSearchError(f"{path}: not a fer-search model", hint="exported models are models/<family>_best.skops or .keras")
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


def _load_keras(path: Path):
    """A network, in Keras' safe mode (no code from the file runs), checked for our
    input and output: (48, 48, 1) faces in, 7 probabilities out."""
    from trainables import deep

    try:
        model = deep.load(path)
    except Exception as e:
        raise FerSearchError(f"{path}: not a fer-search model (Keras could not load it safely: {type(e).__name__})") from None
    inputs, outputs = model.model.inputs, model.model.outputs
    if len(inputs) != 1 or tuple(inputs[0].shape[1:]) != (48, 48, 1) or len(outputs) != 1 or outputs[0].shape[-1] != 7:
        raise FerSearchError(f"{path}: not a fer-search model (it does not take 48x48x1 faces to 7 emotions)")
    return model
