"""What MLflow tracking adds to a search: the same svm search with and without it."""

import os
import tempfile
from pathlib import Path

from _common import parser
from _search import timed_search


def main():
    p = parser(__doc__)
    p.add_argument("--trials", type=int, default=20)
    p.set_defaults(data="demo:3000")
    args = p.parse_args()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    with tempfile.TemporaryDirectory() as tmp:
        walls = {}
        for mode in ("untracked", "tracked", "untracked-again", "tracked-again"):
            out = Path(tmp) / mode
            extra = ["--no-tracking"] if mode.startswith("untracked") else []
            walls[mode], _ = timed_search("svm", "--data", args.data, "--trials", args.trials, "--seed", 0,
                                          "--results-dir", out / "results", "--models-dir", out / "models", *extra, env=env)
            print(f"{mode:16s} {walls[mode]:7.1f} s")
    untracked = min(walls["untracked"], walls["untracked-again"])
    tracked = min(walls["tracked"], walls["tracked-again"])
    print(f"data {args.data}, {args.trials} trials, whole command (Ray start to summary), best of two each")
    print(f"ratio tracked / untracked: {tracked / untracked:.3f} (+{tracked - untracked:.1f} s)")


if __name__ == "__main__":
    main()
