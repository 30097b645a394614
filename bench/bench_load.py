"""First load (decode into the Arrow cache) against the second (memory-mapped cache)."""

import tempfile
import time
from pathlib import Path

from _common import parser

from trainables import data as fer


def main():
    args = parser(__doc__).parse_args()
    with tempfile.TemporaryDirectory() as cache:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            d = fer.load(args.data, Path(cache))
            d.images.sum()  # touch every pixel: a lazy mapping must not look free
            times.append(time.perf_counter() - started)
    print(f"data: {args.data} ({len(d.labels)} images, format {d.format})")
    print(f"first load (decode + write cache): {times[0]:.2f} s")
    print(f"second load (cache):               {times[1]:.3f} s")
    print(f"third load (cache):                {times[2]:.3f} s")
    print(f"ratio first / second: {times[0] / times[1]:.1f}x")


if __name__ == "__main__":
    main()
