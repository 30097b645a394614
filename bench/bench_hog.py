"""HOG images per second: ours (OpenCV's HOGDescriptor) against a loop of skimage's hog."""

import tempfile
import time

from _common import parser

from trainables import data as fer
from trainables.features import hog


def rate(fn, images) -> float:
    started = time.perf_counter()
    fn(images)
    return len(images) / (time.perf_counter() - started)


def main():
    p = parser(__doc__)
    p.add_argument("--n", type=int, default=3000, help="images for the skimage loop (it is slow)")
    args = p.parse_args()
    from skimage.feature import hog as sk_hog

    with tempfile.TemporaryDirectory() as cache:
        images = fer.load(args.data, fer.Path(cache)).images
    ours_all = rate(hog, images)
    sample = images[: args.n]
    ours = rate(hog, sample)
    theirs = rate(lambda xs: [sk_hog(x, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2),
                                     block_norm="L2-Hys") for x in xs], sample)
    print(f"data: {args.data} ({len(images)} images)")
    print(f"ours (OpenCV), all images:   {ours_all:9.0f} images/s")
    print(f"ours (OpenCV), {len(sample)} images: {ours:9.0f} images/s")
    print(f"skimage loop, {len(sample)} images:  {theirs:9.0f} images/s")
    print(f"ratio ours / skimage: {ours / theirs:.1f}x")


if __name__ == "__main__":
    main()
