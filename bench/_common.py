"""What the benchmarks share: which data to use."""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
REAL_ZIP = ROOT.parent / "shared" / "fer2013" / "fer2013.zip"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data", default=str(REAL_ZIP) if REAL_ZIP.exists() else "demo",
                   help="a FER2013 source or demo[:N] (default: the real zip if present, else demo)")
    return p
