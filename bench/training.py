"""Training images per second: our network trainable (inside a real Ray Tune trial) against
a bare ``model.fit`` of the same model, batch and data, in one run on one machine.

The trainable's figure is its own per-epoch ``model.fit`` time plus what it adds around
it (validation, checkpoint, report) over whole epochs; the first epoch (graph tracing) is
left out of both sides.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time

from _common import ROOT, parser

CONFIGS = {
    "cnn": {"backbone": "cnn", "depth": 4, "width": 32, "optimizer": "adam", "learning_rate": 1e-3,
            "batch_size": 128, "dropout": 0.4, "label_smoothing": 0.1, "augment": 0.5, "class_weight": "none"},
    "resnet50": {"backbone": "resnet50", "input_size": 48, "unfreeze_blocks": 16, "optimizer": "adam",
                 "learning_rate": 1e-3, "batch_size": 64, "dropout": 0.3, "label_smoothing": 0.1, "augment": 0.5,
                 "class_weight": "none"},
}


def splits(data: str, limit: int):
    from trainables import data as fer

    d = fer.load(data)
    return fer.make_splits(d, train_limit=limit)


def bare(family: str, data: str, limit: int, epochs: int, threads: int, precision: str) -> list[float]:
    """Seconds per epoch of model.fit on the same arrays (run in its own process)."""
    import keras
    import numpy as np

    from trainables import deep, networks

    deep.configure_tensorflow(threads, precision)
    s = splits(data, limit)
    config = CONFIGS[family]
    model = networks.build(config)
    deep.compile_for_phase(model, config, 0)
    x, y = s.x("train")[..., None], keras.utils.to_categorical(s.y("train").astype(np.int32), 7)
    times = []
    for epoch in range(epochs):
        started = time.perf_counter()
        model.fit(x, y, batch_size=config["batch_size"], epochs=epoch + 1, initial_epoch=epoch, shuffle=True, verbose=0)
        times.append(time.perf_counter() - started)
    return times


def trainable(family: str, data: str, limit: int, epochs: int, threads: int,
              precision: str) -> tuple[list[float], list[float]]:
    """(fit seconds per epoch, whole seconds per epoch) of trainables.deep.train in a Tune trial."""
    import ray
    from ray import tune

    from trainables import deep

    ray.init(address="local", _node_ip_address="127.0.0.1", include_dashboard=False, num_cpus=threads, log_to_driver=False)
    s = splits(data, limit)
    settings = {"seed": 0, "threads": threads, "max_epochs": epochs, "weights": None, "rungs": [1, epochs],
                "precision": precision}
    with tempfile.TemporaryDirectory() as storage:
        fn = tune.with_resources(tune.with_parameters(deep.train, data=s, settings=settings), {"cpu": threads})
        result = tune.Tuner(fn, param_space=CONFIGS[family], tune_config=tune.TuneConfig(num_samples=1),
                            run_config=tune.RunConfig(storage_path=storage, verbose=0)).fit()[0]
    frame = result.metrics_dataframe
    ray.shutdown()
    return frame["epoch_seconds"].tolist(), frame["time_this_iter_s"].tolist()


def main():
    p = parser(__doc__)
    p.add_argument("--families", default="cnn,resnet50")
    p.add_argument("--train-limit", type=int, default=3000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--precision", default="auto", help="the dtype policy of both sides (default: auto, as a search)")
    p.add_argument("--bare", metavar="FAMILY", help=argparse.SUPPRESS)  # the bare side, in its own process
    args = p.parse_args()
    if args.bare:
        print(json.dumps(bare(args.bare, args.data, args.train_limit, args.epochs, args.threads, args.precision)))
        return
    for family in args.families.split(","):
        out = subprocess.run([sys.executable, __file__, "--bare", family, "--data", args.data, "--train-limit",
                              str(args.train_limit), "--epochs", str(args.epochs), "--threads", str(args.threads),
                              "--precision", args.precision], capture_output=True, text=True, cwd=ROOT)
        if out.returncode:
            raise SystemExit(out.stderr[-3000:])
        bare_s = json.loads(out.stdout.strip().splitlines()[-1])
        fit_s, whole_s = trainable(family, args.data, args.train_limit, args.epochs, args.threads, args.precision)
        n = len(splits(args.data, args.train_limit).index["train"])  # the limit may exceed the split

        def rate(secs, n=n):  # images per second over the epochs after the first
            return n * len(secs[1:]) / sum(secs[1:])

        print(f"{family}: {n} images, batch {CONFIGS[family]['batch_size']}, {args.epochs} epochs, "
              f"{args.threads} threads, precision {args.precision}")
        print(f"  bare model.fit:          {rate(bare_s):7.1f} images/s")
        print(f"  trainable, fit only:     {rate(fit_s):7.1f} images/s   ratio {rate(fit_s) / rate(bare_s):.3f}")
        print(f"  trainable, whole epochs: {rate(whole_s):7.1f} images/s   ratio {rate(whole_s) / rate(bare_s):.3f}"
              "  (with validation, checkpoint and report)")
        # per epoch: on a shared or throttled machine, a ratio is only as good as its epochs agree
        print("  seconds per epoch: bare " + " ".join(f"{x:.1f}" for x in bare_s)
              + " | trainable fit " + " ".join(f"{x:.1f}" for x in fit_s)
              + " | whole " + " ".join(f"{x:.1f}" for x in whole_s))


if __name__ == "__main__":
    main()
