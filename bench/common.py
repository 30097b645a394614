"""What every benchmark shares: its context, figures beside their peers, the machine, files.

A figure is one number of ours beside the same number of its peer, measured in the same
run on the same machine, and their ratio; ``better`` says which way is good. Where a
repeat is cheap, both sides run interleaved (A B A B: this VM throttles in windows) and
the figure is the median.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL_ZIP = ROOT.parent / "shared" / "fer2013" / "fer2013.zip"
DATA_DIR = ROOT / "data"


@dataclass
class Context:
    data: str  # a FER2013 source or demo[:N]
    quick: bool
    out: Path  # results/bench
    cache_dir: Path
    seed: int = 0
    families: tuple[str, ...] | None = None  # the search benchmark's families (default: all it knows)

    @property
    def real(self) -> bool:
        return not self.data.startswith("demo")

    def say(self, text: str) -> None:
        print(text, flush=True)

    def splits(self, train_limit: int | None = None, need=("train", "val", "test")):
        from trainables import data as fer

        d = fer.load(self.data, self.cache_dir)
        return d, fer.make_splits(d, fer.DEFAULT_VAL_FRACTION, train_limit, self.cache_dir, need)


def default_data() -> str:
    """The real FER2013 when present (data/, then ../shared), else the demo set."""
    for candidate in (DATA_DIR / "fer2013.zip", DATA_DIR / "archive.zip", DATA_DIR / "fer2013.csv", REAL_ZIP):
        if candidate.exists():
            return str(candidate)
    return "demo"


def figure(name: str, ours: float, peer: float, peer_name: str, unit: str, better: str = "higher", **extra) -> dict:
    """One number of ours beside its peer's; ``ratio`` is ours / peer."""
    assert better in ("higher", "lower")
    ratio = ours / peer if peer else float("nan")
    return {"name": name, "ours": ours, "peer": peer, "peer_name": peer_name, "ratio": ratio,
            "unit": unit, "better": better, **extra}


def interleaved(sides: dict, repeats: int) -> dict[str, list[float]]:
    """Seconds of each side's callable, run A B A B ...; {side: [seconds, ...]}."""
    times = {name: [] for name in sides}
    for _ in range(repeats):
        for name, fn in sides.items():
            started = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - started)
    return times


def median(values) -> float:
    return float(statistics.median(values))


def machine() -> dict:
    """What the figures were measured on."""
    import importlib.metadata as md

    flags = []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "fma")
                flags = [f for f in line.split(":", 1)[1].split() if f in wanted]
                break
        model = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                      if ln.startswith("model name")), platform.processor())
    except OSError:
        model = platform.processor()
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        memory = None
    versions = {}
    for package in ("ray", "optuna", "scikit-learn", "scikit-learn-intelex", "tensorflow", "keras", "mlflow", "numpy",
                    "opencv-python-headless"):
        try:
            versions[package] = md.version(package)
        except md.PackageNotFoundError:
            versions[package] = None
    return {"cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "memory_gib": round(memory, 1) if memory else None, "cpu": model, "cpu_flags": flags,
            "python": sys.version.split()[0], "platform": platform.platform(), "versions": versions}


def write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=_plain) + "\n")
    tmp.replace(path)


def _plain(v):
    try:
        return v.item()  # numpy scalars
    except AttributeError:
        return str(v)
