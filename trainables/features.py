"""Image features for the classical families: HOG (OpenCV) and raw pixels.

The transformers take images as FER gives them, (N, 48, 48) uint8, so an exported
pipeline predicts from raw pixels. During a search the HOG matrix of a whole source is
computed once per (fingerprint, HOG setting) and cached on the node's disk, so trials
that share a HOG setting share the work.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .sources import SIDE

HOG_DEFAULTS = {"hog_orientations": 9, "hog_cell": 8, "hog_block": 2}


def hog_size(orientations: int, cell: int, block: int) -> int:
    blocks_per_side = (SIDE - cell * block) // cell + 1
    return blocks_per_side**2 * block * block * orientations


def _descriptor(orientations: int, cell: int, block: int):
    import cv2

    if SIDE % cell or block * cell > SIDE:
        raise ValueError(f"HOG cell {cell} with {block} cells per block does not tile {SIDE}x{SIDE} images")
    return cv2.HOGDescriptor((SIDE, SIDE), (cell * block, cell * block), (cell, cell), (cell, cell), orientations)


def as_images(x) -> np.ndarray:
    """(N, 48, 48) uint8 from (N, 48, 48) or (N, 2304) pixels, or a ValueError."""
    x = np.asarray(x)
    if x.ndim == 2 and x.shape[1] == SIDE * SIDE:
        x = x.reshape(-1, SIDE, SIDE)
    if x.ndim != 3 or x.shape[1:] != (SIDE, SIDE):
        raise ValueError(f"expected images of shape (N, {SIDE}, {SIDE}) or (N, {SIDE * SIDE}), got {x.shape}")
    if x.dtype != np.uint8:
        x = np.clip(np.rint(x), 0, 255).astype(np.uint8)
    return x


def hog(images, orientations: int = 9, cell: int = 8, block: int = 2, cell2: int = 0) -> np.ndarray:
    """HOG of every image, (N, hog_size) float32: OpenCV's descriptor, one call per image.

    ``cell2`` > 0 appends the HOG of a second cell size (same block and orientations):
    fine and coarse gradients together, measured on FER2013 as half a point of val.
    """
    images = as_images(images)
    cells = [cell] + ([cell2] if cell2 else [])
    parts = []
    for c in cells:
        desc = _descriptor(orientations, c, block)
        out = np.empty((len(images), hog_size(orientations, c, block)), np.float32)
        for i, img in enumerate(images):
            out[i] = desc.compute(img).ravel()
        parts.append(out)
    return parts[0] if len(parts) == 1 else np.hstack(parts)


def mirror(images) -> np.ndarray:
    """Each face flipped left to right: an expression reads the same mirrored."""
    return np.ascontiguousarray(as_images(images)[:, :, ::-1])


def cached_hog(images, fingerprint: str, cache_dir: str | Path, orientations: int, cell: int, block: int,
               cell2: int = 0, mirrored: bool = False) -> np.ndarray:
    """``hog`` of a whole source (or of its mirrored faces), computed once per node and
    setting, then memory-mapped.

    A file lock makes concurrent trials with the same setting wait for one computation
    instead of all doing it.
    """
    from filelock import FileLock

    folder = Path(cache_dir) / "features" / fingerprint
    folder.mkdir(parents=True, exist_ok=True)
    name = f"hog-o{orientations}-c{cell}-b{block}" + (f"-c{cell2}" if cell2 else "") + ("-mirrored" if mirrored else "")
    path = folder / f"{name}.npy"
    with FileLock(str(path) + ".lock"):
        if not path.exists():
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, hog(mirror(images) if mirrored else images, orientations, cell, block, cell2))
            tmp.replace(path)
    features = np.load(path, mmap_mode="r")
    if features.shape[0] != len(images):  # a stale file from another source with a clashing name
        path.unlink()
        return cached_hog(images, fingerprint, cache_dir, orientations, cell, block, cell2, mirrored)
    return features


class HogFeatures(TransformerMixin, BaseEstimator):
    """Pipeline step: images -> HOG. Stateless, so it counts as fitted from the start."""

    def __init__(self, orientations: int = 9, cell: int = 8, block: int = 2, cell2: int = 0):
        self.orientations = orientations
        self.cell = cell
        self.block = block
        self.cell2 = cell2

    def fit(self, x, y=None):
        return self

    def transform(self, x):
        return hog(x, self.orientations, self.cell, self.block, self.cell2)

    def __sklearn_is_fitted__(self):
        return True


class PixelFeatures(TransformerMixin, BaseEstimator):
    """Pipeline step: images -> flat pixel rows (N, 2304) float32."""

    def fit(self, x, y=None):
        return self

    def transform(self, x):
        return as_images(x).reshape(-1, SIDE * SIDE).astype(np.float32)

    def __sklearn_is_fitted__(self):
        return True


def hog_params(config: dict) -> dict:
    """The HogFeatures arguments named by a trial config's hog_* keys: ``hog_cell``, or
    ``hog_cells`` naming one or two cell sizes ("8" or "8+12")."""
    cells = str(config.get("hog_cells", config.get("hog_cell", HOG_DEFAULTS["hog_cell"]))).split("+")
    return {
        "orientations": int(config.get("hog_orientations", HOG_DEFAULTS["hog_orientations"])),
        "cell": int(cells[0]),
        "block": int(config.get("hog_block", HOG_DEFAULTS["hog_block"])),
        "cell2": int(cells[1]) if len(cells) > 1 else 0,
    }
