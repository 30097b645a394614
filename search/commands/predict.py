"""``python -m search predict MODEL PATH...``: the faces in photos and their emotions."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from trainables.errors import FerSearchError

from .options import add_trust

if TYPE_CHECKING:  # numpy is imported where it is used: --help answers at once
    import numpy as np

SUMMARY = "emotions of the faces in photos: predict MODEL_FILE PHOTO_OR_FOLDER..."
BATCH = 1024  # faces through the model at once, from as many photos as it takes


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="find the faces in photos and predict their emotions")
    p.set_defaults(main=main)
    p.add_argument("model_file", metavar="MODEL_FILE", help="an exported model, e.g. models/cnn_best.keras")
    p.add_argument("paths", metavar="PATH", nargs="+", type=Path,
                   help="photos of any size and colour, or folders of them (searched recursively)")
    p.add_argument("--json", metavar="FILE", type=Path,
                   help="write, per photo, its faces: box [x, y, w, h], emotion and the 7 probabilities")
    p.add_argument("--annotate", metavar="DIR", type=Path, help="write a copy of each photo (PNG) with its faces boxed and labelled")
    add_trust(p)


def main(args) -> int:
    from trainables.labels import EMOTIONS

    from .. import faces
    from ..stores.files import check_writable
    from ..stores import loader, models

    check_writable(*[(option, target) for option, target in (("--json", args.json and args.json.parent),
                                                              ("--annotate", args.annotate)) if target is not None])
    model = loader.load(Path(args.model_file), trust=args.trust)
    card = models.read_card(Path(args.model_file))
    files = faces.photo_files(args.paths)
    if not files:
        raise FerSearchError(f"no image files in {', '.join(map(str, args.paths))}",
                             hint=f"photos end in {', '.join(faces.IMAGE_SUFFIXES)}")
    started = time.perf_counter()
    photos, proba = find_and_classify(files, model, card)
    if not photos:
        raise FerSearchError(f"none of the {len(files)} file(s) could be read as an image")
    seconds = time.perf_counter() - started
    found, at, written = {}, 0, set()
    for photo in photos:
        rows = proba[at:at + len(photo.faces)]
        at += len(photo.faces)
        found[str(photo.path)] = [face_entry(box, row, EMOTIONS) for box, row in zip(photo.boxes, rows)]
        print(render(photo.path, found[str(photo.path)]))
        if args.annotate:
            write_annotated(photo, [f["emotion"] for f in found[str(photo.path)]], args.annotate, written)
    unread = len(files) - len(photos)
    print(f"{len(proba)} face(s) in {len(photos)} photo(s){f', {unread} unreadable' if unread else ''}; "
          f"{len(proba) / seconds if seconds else 0:.1f} faces/s (reading, detecting, predicting)")
    if args.json:
        from ..stores.files import atomic_write

        atomic_write(args.json, lambda tmp: Path(tmp).write_text(json.dumps(found, indent=2) + "\n"))
        print(f"wrote {args.json}")
    return 0


def find_and_classify(files: list[Path], model, card: dict | None) -> tuple[list, np.ndarray]:
    """(the readable photos with their faces found, one row of 7 probabilities per face in
    photo order). Every photo's faces are found first, then go through the model together
    in batches of BATCH: one call per photo costs a network most of its time on small
    photos (bench/predict.py). An unreadable file is said on stderr and left out."""
    import numpy as np

    from trainables.labels import EMOTIONS

    from .. import faces
    from ..ensembling import probabilities

    cascade = faces.detector()
    photos = []
    for path in files:
        photo = faces.read(path)
        if photo.error:
            print(f"{path}: skipped, {photo.error}", file=sys.stderr)
            continue
        faces.find_faces(photo, cascade)
        photos.append(photo)
    crops = [face for photo in photos for face in photo.faces]
    if not crops:
        return photos, np.zeros((0, len(EMOTIONS)))
    return photos, np.concatenate([probabilities.probabilities(model, card, np.stack(crops[i:i + BATCH]))
                                   for i in range(0, len(crops), BATCH)])


def face_entry(box, row, names) -> dict:
    total = float(row.sum())
    probs = {name: float(p) / total for name, p in zip(names, row)}
    from ..ensembling.soft_vote import decide

    return {"box": [int(v) for v in box], "emotion": names[int(decide(row[None])[0])], "probabilities": probs}


def render(path: Path, found: list[dict]) -> str:
    if not found:
        return f"{path}: no face found"
    lines = [f"{path}: {len(found)} face(s)"]
    for face in found:
        ranked = sorted(face["probabilities"].items(), key=lambda kv: -kv[1])
        lines.append(f"  box {face['box']}: {face['emotion']}  " + " ".join(f"{k} {v:.2f}" for k, v in ranked))
    return "\n".join(lines)


def write_annotated(photo, labels: list[str], folder: Path, written: set) -> None:
    """``DIR/<photo's stem>.png`` (lossless, the photo's size); ``_2``, ``_3`` for photos of
    the same name from other folders."""
    import cv2

    from .. import faces

    folder.mkdir(parents=True, exist_ok=True)
    target, n = folder / f"{photo.path.stem}.png", 2
    while target in written:
        target, n = folder / f"{photo.path.stem}_{n}.png", n + 1
    written.add(target)
    ok, encoded = cv2.imencode(".png", faces.annotate(photo, labels))
    if not ok:
        raise FerSearchError(f"{target}: could not encode the annotated image")
    target.write_bytes(encoded.tobytes())
