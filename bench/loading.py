"""load: the first load of a source (decode, write the Arrow cache) against later loads
(memory-mapped cache); the peer is the first load, what the cache saves."""

from __future__ import annotations

import shutil
import time

from .common import Context, figure, median


def run(ctx: Context) -> dict:
    from trainables import data as fer

    folder = ctx.cache_dir.parent / "load-bench"
    firsts, seconds = [], []
    for _ in range(1 if ctx.quick else 3):
        shutil.rmtree(folder, ignore_errors=True)
        for times in (firsts, seconds):
            started = time.perf_counter()
            d = fer.load(ctx.data, folder)
            int(d.images.sum())  # touch every pixel: a lazy mapping must not look free
            times.append(time.perf_counter() - started)
    shutil.rmtree(folder, ignore_errors=True)
    return {"figures": [figure(f"load {len(d.labels)} faces ({d.format})", median(seconds), median(firsts),
                               "first load (decode + cache write)", "s", better="lower")],
            "details": {"first_s": firsts, "cached_s": seconds}}
