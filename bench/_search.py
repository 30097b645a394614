"""Timing whole CLI searches in fresh processes."""

import subprocess
import sys
import time

from _common import ROOT


def timed_search(*args, env=None, cwd=None) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "search", *map(str, args)], cwd=cwd or ROOT, env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"search failed:\n{proc.stderr[-3000:]}")
    return wall, proc.stdout
