"""hog: HOG images per second of ours (OpenCV's HOGDescriptor) against a loop of
scikit-image's ``hog`` on the same faces (9 orientations, 8-pixel cells, 2x2 blocks)."""

from __future__ import annotations

from .common import Context, figure, interleaved, median


def run(ctx: Context) -> dict:
    from skimage.feature import hog as sk_hog

    from trainables.features import hog

    d, _ = ctx.splits()
    sample = d.images[: 300 if ctx.quick else 3000]
    times = interleaved({
        "ours": lambda: hog(sample),
        "skimage": lambda: [sk_hog(x, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2),
                                   block_norm="L2-Hys") for x in sample],
    }, 3)
    ours, theirs = len(sample) / median(times["ours"]), len(sample) / median(times["skimage"])
    return {"figures": [figure(f"HOG of {len(sample)} faces", ours, theirs, "scikit-image hog, a loop", "images/s")],
            "details": times}
