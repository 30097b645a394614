"""A simulated large search over a local multi-node cluster: hundreds of cheap trials.

Starts a head and two workers (one CPU each, on 127.0.0.2-4, like tests/test_cluster.py),
runs an svm search of tiny trials on it, and reports trials per minute and the share of
the trial slots' wall time spent inside trials (the rest is Ray Tune's scheduling, actor
start-up, result handling and our driver-side callbacks).
"""

import tempfile
from pathlib import Path

import pandas as pd
from _common import parser
from _search import timed_search

from tests.test_cluster import LocalCluster


def main():
    p = parser(__doc__)
    p.add_argument("--trials", type=int, default=200)
    p.set_defaults(data="demo:300")
    p.add_argument("--no-tracking", action="store_true")
    args = p.parse_args()
    cluster = LocalCluster().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            extra = ["--no-tracking"] if args.no_tracking else []
            wall, out = timed_search("svm", "--data", args.data, "--trials", args.trials, "--address", cluster.address,
                                     "--storage", Path(tmp) / "storage", "--results-dir", Path(tmp) / "results",
                                     "--models-dir", Path(tmp) / "models", *extra, env=cluster.env, cwd=tmp)
            board = pd.read_csv(Path(tmp) / "results" / "leaderboard.csv")
            search_line = next(line for line in out.splitlines() if line.startswith("done in"))
    finally:
        cluster.stop()
    slots = 3
    inside = board["seconds"].sum()
    print(search_line)
    print(f"{len(board)} trials on {board['node'].nunique()} nodes, {slots} trial slots; whole command {wall:.1f} s")
    print(f"trials per minute: {len(board) / (wall / 60):.1f}")
    print(f"mean seconds inside a trial: {board['seconds'].mean():.2f}")
    print(f"share of slot time inside trials: {inside / (wall * slots):.3f}")


if __name__ == "__main__":
    main()
