"""predict: faces per second of ``python -m search predict``'s path (every photo's faces
found first, then classified together in batches) against a loop that classifies each
photo's faces as it finds them, one model call per photo (what a per-photo API such as
the fer package's ``detect_emotions`` does), on the same files and the same model.

Two folders: generated photos (scikit-image's bundled astronaut portrait, at random
scales and places, on 1280x960 colour backdrops) and FER-style 48x48 face files (no
detection: the model's calls are all the cost). Two models: the cnn (random weights:
speed does not depend on them) and an svm pipeline fitted on a few faces.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from .common import Context, figure, interleaved, median


def write_photos(folder: Path, n: int, seed: int) -> None:
    import cv2
    import skimage.data

    rng = np.random.default_rng(seed)
    portrait = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    folder.mkdir(parents=True)
    for i in range(n):
        photo = np.empty((960, 1280, 3), np.uint8)
        photo[:] = rng.integers(30, 220, 3)
        side = int(rng.integers(260, 480))
        face = cv2.resize(portrait if i % 2 else portrait[:, ::-1], (side, side), interpolation=cv2.INTER_AREA)
        x, y = int(rng.integers(0, 1280 - side)), int(rng.integers(0, 960 - side))
        photo[y:y + side, x:x + side] = face
        cv2.imwrite(str(folder / f"photo{i:04d}.jpg"), photo)


def write_faces(folder: Path, images: np.ndarray) -> None:
    import cv2

    folder.mkdir(parents=True)
    for i, face in enumerate(images):
        cv2.imwrite(str(folder / f"face{i:04d}.png"), face)


def one_call_per_photo(files, model, card):
    """The peer: each photo read, its faces found and classified before the next."""
    from search import faces
    from search.ensembling import probabilities

    cascade = faces.detector()
    rows = []
    for path in files:
        photo = faces.read(path)
        faces.find_faces(photo, cascade)
        if photo.faces:
            rows.append(probabilities.probabilities(model, card, np.stack(photo.faces)))
    return np.concatenate(rows) if rows else np.zeros((0, 7))


def models(ctx: Context) -> dict:
    from spaces import svm as svm_space
    from trainables import deep, networks, svm

    from .training import CONFIGS

    _, splits = ctx.splits(train_limit=500 if ctx.quick else 3000, need=("train",))
    config = {**svm_space.DEFAULTS, "mirror": False, "pca_components": 100}
    fitted = svm.final_model(config, splits, {"seed": 0, "threads": 2})
    # the export's calibration (a softmax of the decision values) costs the same whatever its beta
    svm_card = {"probability": {"beta": 1.0, "classes": list(range(7))}}
    return {"cnn": (deep.KerasClassifier(networks.build(CONFIGS["cnn"])), None), "svm": (fitted, svm_card)}


def run(ctx: Context) -> dict:
    from search import faces
    from search.commands.predict import find_and_classify

    d, _ = ctx.splits(need=("train",))
    n_photos, n_faces, repeats = (4, 20, 1) if ctx.quick else (100, 500, 3)
    figures, details = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        write_photos(Path(tmp) / "photos", n_photos, ctx.seed)
        write_faces(Path(tmp) / "faces", d.images[:n_faces])
        folders = {"photos (1280x960, one face each)": Path(tmp) / "photos", "48x48 face files": Path(tmp) / "faces"}
        for name, (model, card) in models(ctx).items():
            for what, folder in folders.items():
                files = faces.photo_files([folder])
                found = len(find_and_classify(files, model, card)[1])  # (also warms the model's predict)
                times = interleaved({"ours": lambda: find_and_classify(files, model, card),
                                     "per photo": lambda: one_call_per_photo(files, model, card)}, repeats)
                ours, peer = found / median(times["ours"]), found / median(times["per photo"])
                figures.append(figure(f"predict, {name}: {what}", ours, peer, "one model call per photo", "faces/s",
                                      files=len(files), faces=found))
                details[f"{name}: {what}"] = {"files": len(files), "faces": found, **times}
    return {"figures": figures, "details": details}
