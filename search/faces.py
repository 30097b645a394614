"""Photos to FER2013-style faces: found with OpenCV's bundled Haar cascade, cut with a
margin, made 48x48 grayscale.

The detector ships inside opencv-python (``cv2.data.haarcascades``; OpenCV 5 dropped the
cascades, hence the ``<5`` pin): nothing is downloaded. FER2013's faces were found by a
detector, registered so the face fills most of the frame, and shrunk to 48x48 gray; a
Haar box runs from the brows to the chin, so a margin of a tenth of its side on every
side gives about the same framing. An image that is already 48x48 is one face as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SIDE = 48
MARGIN = 0.1
CASCADE = "haarcascade_frontalface_default.xml"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm")


@dataclass
class Photo:
    path: Path
    image: np.ndarray | None = None  # as read (BGR, or gray); None when unreadable
    error: str | None = None
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)  # [x, y, w, h] in the photo's pixels
    faces: list[np.ndarray] = field(default_factory=list)  # (48, 48) uint8 each, in the order of boxes


def photo_files(paths: list[Path]) -> list[Path]:
    """The files named, and the image files inside the folders named (sorted, recursive).
    A named file is tried whatever its name; a folder's files only by image suffix."""
    found = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            found.append(path)
    return found


def read(path: Path) -> Photo:
    """The photo, or why it cannot be read (one line)."""
    import cv2

    if not path.exists():
        return Photo(path, error="no such file")
    if path.is_dir():
        return Photo(path, error="a folder")
    # imdecode of the bytes: cv2.imread cannot open non-ASCII paths on every platform
    raw = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED) if raw.size else None
    if image is None or image.ndim not in (2, 3) or min(image.shape[:2]) < 1:
        return Photo(path, error="not an image OpenCV can read")
    if image.dtype != np.uint8:  # 16-bit PNG or TIFF
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(float(image.max()), 1.0))
    if image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    elif image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    return Photo(path, image=image)


def gray(image: np.ndarray) -> np.ndarray:
    import cv2

    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def detector():
    import cv2

    cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / CASCADE))
    if cascade.empty():
        raise RuntimeError(f"OpenCV's {CASCADE} is missing from {cv2.data.haarcascades}")
    return cascade


def find_faces(photo: Photo, cascade) -> None:
    """Fills ``photo.boxes`` and ``photo.faces``."""
    g = gray(photo.image)
    if g.shape == (SIDE, SIDE):
        photo.boxes, photo.faces = [(0, 0, SIDE, SIDE)], [g.copy()]
        return
    smallest = max(24, min(g.shape) // 20)
    # no histogram equalisation first: over a whole photo it shifts a face's own contrast
    # (a face on a plain backdrop was missed with it)
    found = cascade.detectMultiScale(g, scaleFactor=1.1, minNeighbors=5, minSize=(smallest, smallest))
    boxes = sorted((tuple(int(v) for v in box) for box in found), key=lambda b: (b[0], b[1]))
    photo.boxes = boxes
    photo.faces = [crop(g, box) for box in boxes]


def crop(g: np.ndarray, box: tuple[int, int, int, int], margin: float = MARGIN) -> np.ndarray:
    """The box grown by ``margin`` of its side on every side (edges replicated past the
    photo's border), shrunk to 48x48."""
    import cv2

    x, y, w, h = box
    side = max(w, h)
    pad = int(round(side * margin))
    cx, cy = x + w / 2, y + h / 2
    half = side / 2 + pad
    x0, y0, x1, y1 = int(round(cx - half)), int(round(cy - half)), int(round(cx + half)), int(round(cy + half))
    border = max(0, -x0, -y0, x1 - g.shape[1], y1 - g.shape[0])
    padded = cv2.copyMakeBorder(g, border, border, border, border, cv2.BORDER_REPLICATE) if border else g
    square = padded[y0 + border:y1 + border, x0 + border:x1 + border]
    return cv2.resize(square, (SIDE, SIDE), interpolation=cv2.INTER_AREA)


def annotate(photo: Photo, labels: list[str]) -> np.ndarray:
    """A copy of the photo (in colour) with each face's box and label drawn."""
    import cv2

    canvas = cv2.cvtColor(photo.image, cv2.COLOR_GRAY2BGR) if photo.image.ndim == 2 else photo.image.copy()
    thickness = max(1, min(canvas.shape[:2]) // 200)
    scale = max(0.4, min(canvas.shape[:2]) / 800)
    for (x, y, w, h), label in zip(photo.boxes, labels):
        cv2.rectangle(canvas, (x, y), (x + w - 1, y + h - 1), (0, 200, 0), thickness)
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        top = y - th - base - 2 if y - th - base - 2 >= 0 else y + h + 2
        cv2.rectangle(canvas, (x, top), (x + tw + 2, top + th + base + 2), (0, 200, 0), -1)
        cv2.putText(canvas, label, (x + 1, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness,
                    cv2.LINE_AA)
    return canvas
