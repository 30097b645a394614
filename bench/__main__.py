"""``python -m bench``: every benchmark beside its peer, in one run, on this machine.

    python -m bench [--data PATH|demo] [--quick] [--only NAME[,NAME]] [--families svm,rf] [--out DIR]

Writes ``results/bench/<name>.json`` (the machine, each figure with its peer and ratio,
the details) and ``results/bench/report.md`` (the table, the plots); prints the table.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
import traceback
from pathlib import Path

from .common import ROOT, Context, default_data, machine, write_json
from .report import write_report

# name -> module: adding a benchmark is one module with run(ctx) -> {"figures": [...]} and one line here
BENCHMARKS = {
    "search": "bench.peers",
    "overhead": "bench.overhead",
    "svc": "bench.svc",
    "load": "bench.loading",
    "hog": "bench.hog",
    "training": "bench.training",
    "tracking": "bench.tracking",
    "predict": "bench.predict",
}
# run only when named (--only): minutes of trials even in --quick, so not in the test suite's run
BY_NAME = {"endurance": "bench.endurance", "auto": "bench.auto"}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--data", help="a FER2013 zip, folder or CSV, or demo[:N] "
                   "(default: data/fer2013.zip, else ../shared/fer2013/fer2013.zip, else demo)")
    p.add_argument("--quick", action="store_true", help="small settings that finish in a few minutes (default data: demo)")
    p.add_argument("--only", metavar="NAME", help=f"comma-separated, of: {', '.join(BENCHMARKS | BY_NAME)} "
                   f"({', '.join(BY_NAME)} only when named)")
    p.add_argument("--families", metavar="NAME", help="the search benchmark's families, comma-separated (default: svm,rf); "
                   "the training benchmark's networks where it names any (default: cnn,resnet50)")
    p.add_argument("--out", type=Path, default=ROOT / "results" / "bench", help="where the JSON, PNG and report go")
    p.add_argument("--cache-dir", type=Path, help="the data cache (default: a temporary folder, so loads start cold)")
    args = p.parse_args(argv)
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    known = BENCHMARKS | BY_NAME
    unknown = [n for n in names if n not in known]
    if unknown:
        p.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(known)}")
    from search import environment

    environment.configure()  # as the CLI does, before Ray or TensorFlow is imported
    data = args.data or ("demo:3000" if args.quick else default_data())
    with tempfile.TemporaryDirectory(prefix="fer-bench-") as tmp:
        ctx = Context(data=data, quick=args.quick, out=args.out, cache_dir=(args.cache_dir or Path(tmp) / "cache").resolve(),
                      families=tuple(args.families.split(",")) if args.families else None)
        about = machine()
        ctx.say(f"bench: data {data}{' (quick)' if args.quick else ''}, {about['cores']} cores, {about['cpu']}")
        failed = []
        for name in names:
            started = time.time()
            try:
                result = importlib.import_module(known[name]).run(ctx)
            except Exception as e:  # one broken benchmark does not lose the others
                traceback.print_exc()
                failed.append(name)
                result = {"figures": [], "error": f"{type(e).__name__}: {e}"}
            result.update({"benchmark": name, "data": data, "quick": args.quick, "machine": about,
                           "seconds": round(time.time() - started, 1),
                           "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
            write_json(args.out / f"{name}.json", result)
            ctx.say(f"bench: {name} done in {result['seconds']:.0f} s")
        report = write_report(args.out, names, about)
    print(report.read_text())
    if failed:
        print(f"bench: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
