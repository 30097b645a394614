"""The embedded demo set: synthetic FER-shaped faces, so a search runs with no download.

48x48 grayscale faces with FER2013's seven labels and class imbalance. Expressions are
drawn through brows, eyes and mouth; every face gets its own pose, lighting, contrast,
blur and noise, and its expression a random intensity, so weak expressions of
neighbouring classes (fear/surprise, sad/neutral, angry/disgust) overlap. That keeps the
set learnable but not trivial: a default SVM on HOG lands well below 100%.
"""

from __future__ import annotations

import numpy as np

from .labels import FER2013_TRAIN_COUNTS
from .sources import SIDE, Decoded

DEFAULT_SIZE = 10_000
TEST_SHARE = 0.125
_SCALE = 2  # draw at 2x and shrink, for smooth anti-aliased strokes

# Per emotion: brow tilt (+ inner ends up), brow height, eye opening, mouth curve
# (+ smile), mouth opening, mouth width, nose wrinkle. Neutral is the zero point.
_NEUTRAL = np.array([0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0])
_EXPRESSIONS = np.array(
    [
        [-1.0, -0.6, 0.75, -0.3, 0.0, 0.9, 0.3],  # angry
        [-0.6, -0.4, 0.6, -0.7, 0.2, 1.0, 1.0],  # disgust
        [0.9, 0.7, 1.45, -0.2, 0.5, 1.15, 0.0],  # fear
        [0.0, 0.1, 0.8, 1.0, 0.35, 1.25, 0.0],  # happy
        [0.9, 0.0, 0.8, -0.8, 0.0, 0.95, 0.0],  # sad
        [0.2, 1.0, 1.55, 0.0, 1.0, 0.8, 0.0],  # surprise
        _NEUTRAL,  # neutral
    ]
)
_JITTER = np.array([0.25, 0.25, 0.15, 0.25, 0.15, 0.1, 0.2])


def generate(n: int = DEFAULT_SIZE, seed: int = 0) -> Decoded:
    """n faces: about 1/8 of them 'Test', the rest 'Training'. Same n and seed, same set."""
    rng = np.random.default_rng(seed)
    p = np.asarray(FER2013_TRAIN_COUNTS, float)
    labels = rng.choice(len(p), size=n, p=p / p.sum()).astype(np.int8)
    images = np.empty((n, SIDE, SIDE), np.uint8)
    for i, label in enumerate(labels):
        images[i] = _face(rng, int(label))
    usage = np.where(rng.random(n) < TEST_SHARE, "Test", "Training").astype(object)
    return Decoded(images, labels, usage)


def _face(rng: np.random.Generator, label: int) -> np.ndarray:
    import cv2

    s = SIDE * _SCALE
    strength = rng.uniform(0.35, 1.0)
    expr = _NEUTRAL + strength * (_EXPRESSIONS[label] - _NEUTRAL) + rng.normal(0, _JITTER)
    tilt, brow_h, eye_open, curve, mouth_open, mouth_w, wrinkle = expr

    skin = rng.uniform(110, 235)
    bg = np.clip(skin + rng.choice([-1, 1]) * rng.uniform(30, 110), 10, 245)
    feature = skin - rng.uniform(70, 110)  # eyes, brows, mouth: darker than skin
    img = np.full((s, s), bg, np.float32)

    cx, cy = s / 2 + rng.normal(0, 2.5) * _SCALE, s / 2 + rng.normal(1, 2.5) * _SCALE
    fw, fh = rng.uniform(18, 22) * _SCALE, rng.uniform(22, 26) * _SCALE
    cv2.ellipse(img, (int(cx), int(cy)), (int(fw), int(fh)), 0, 0, 360, float(skin), -1, cv2.LINE_AA)

    eye_dx, eye_y = fw * rng.uniform(0.36, 0.46), cy - fh * rng.uniform(0.12, 0.24)
    eye_w = fw * 0.2
    for side in (-1, 1):
        ex = cx + side * eye_dx
        eh = max(0.8, eye_w * 0.45 * eye_open)
        cv2.ellipse(img, (int(ex), int(eye_y)), (int(eye_w), int(eh)), 0, 0, 360, float(feature), -1, cv2.LINE_AA)
        # brow: outer end fixed by height, inner end raised by tilt
        by = eye_y - eye_w * (1.5 + 0.6 * brow_h)
        inner = (int(ex - side * eye_w * 1.1), int(by - eye_w * 0.7 * tilt))
        outer = (int(ex + side * eye_w * 1.3), int(by + eye_w * 0.15 * tilt))
        cv2.line(img, inner, outer, float(feature), int(rng.integers(2, 5)), cv2.LINE_AA)

    nose_y = cy + fh * 0.12
    cv2.line(img, (int(cx), int(eye_y + eye_w)), (int(cx), int(nose_y)), float((skin + feature) / 2), 2, cv2.LINE_AA)
    if wrinkle > 0.3:
        for side in (-1, 1):
            x0 = int(cx + side * eye_w * 0.6)
            cv2.line(img, (x0, int(nose_y - eye_w)), (x0 + side * int(eye_w * 0.5), int(nose_y - eye_w * 0.3)),
                     float(feature), 2, cv2.LINE_AA)

    # mouth: a parabola through the corners, bent by curve, opened by mouth_open
    my, mw = cy + fh * rng.uniform(0.45, 0.55), fw * 0.45 * mouth_w
    xs = np.linspace(-1, 1, 15)
    lift = rng.normal(0, 0.15) + (0.35 if label == 1 and strength > 0.5 else 0.0)  # disgust: lopsided
    upper = my - curve * eye_w * 0.9 * (xs**2) + lift * xs * eye_w
    opening = max(0.0, mouth_open) * eye_w * 1.6
    lower = upper + opening * (1 - xs**2)
    pts_u = np.stack([cx + xs * mw, upper], 1)
    pts_l = np.stack([cx + xs * mw, lower], 1)[::-1]
    if opening > 2:
        cv2.fillPoly(img, [np.vstack([pts_u, pts_l]).astype(np.int32)], float(feature * 0.6), cv2.LINE_AA)
    cv2.polylines(img, [pts_u.astype(np.int32)], False, float(feature), 3, cv2.LINE_AA)

    # pose, lighting, blur, noise
    m = cv2.getRotationMatrix2D((s / 2, s / 2), rng.normal(0, 8), rng.uniform(0.88, 1.12))
    m[:, 2] += rng.normal(0, 2 * _SCALE, 2)
    img = cv2.warpAffine(img, m, (s, s), borderMode=cv2.BORDER_REPLICATE)
    img = cv2.resize(img, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * np.arange(SIDE)[None, :] + np.sin(angle) * np.arange(SIDE)[:, None]) / SIDE - 0.5
    img = img * rng.uniform(0.6, 1.2) + ramp * rng.uniform(0, 90)
    sigma = rng.uniform(0, 1.0)
    if sigma > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    img += rng.normal(0, rng.uniform(2, 9), img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)
