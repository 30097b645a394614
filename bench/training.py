"""training: training images per second of our network trainable (inside a real Ray Tune trial) against
a bare ``model.fit`` of the same model, batch and data, in one run on one machine.

The trainable's figure is its own per-epoch ``model.fit`` time plus what it adds around
it (validation, checkpoint, report) over whole epochs; its peer is a user's ``model.fit``
that validates on the same val faces (for the fit alone, its epochs up to validation). The
sides run in rounds, interleaved (A B A B), and each figure is the median epoch; each
run's first epoch (graph tracing) is left out. Where JAX is installed beside
TensorFlow, the same bare fit under JAX is measured against TensorFlow's, in the same rounds.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from .common import ROOT, Context, figure, median

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


def bare(config: dict, data: str, limit: int, epochs: int, threads: int, precision: str) -> dict:
    """A user's own ``model.fit`` on the same arrays, validating on the same val faces (run
    in its own process): {"fit": seconds per epoch training, "whole": with validation}."""
    import keras
    import numpy as np

    from trainables import backend, deep, networks

    backend.configure(threads, precision)
    s = splits(data, limit)
    model = backend.jit_whole_step(networks.build(config))
    deep.compile_for_phase(model, config, 0)

    def arrays(split):
        return s.x(split)[..., None], keras.utils.to_categorical(s.y(split).astype(np.int32), 7)

    class Clock(keras.callbacks.Callback):  # where in an epoch its training ends and its validation begins
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_test_begin(self, logs=None):
            # JAX dispatches steps ahead of their compute: read a value the last step wrote first
            keras.ops.convert_to_numpy(self.model.optimizer.iterations)
            self.trained = time.perf_counter() - self.started

    clock, times = Clock(), {"fit": [], "whole": []}
    for epoch in range(epochs):
        started = time.perf_counter()
        model.fit(*arrays("train"), validation_data=arrays("val"), batch_size=config["batch_size"], epochs=epoch + 1,
                  initial_epoch=epoch, shuffle=True, verbose=0, callbacks=[clock])
        times["whole"].append(time.perf_counter() - started)
        times["fit"].append(clock.trained)
    return times


def bare_in_own_process(family: str, config: dict, data: str, limit: int, epochs: int, threads: int, precision: str,
                    keras_backend: str | None = None) -> dict:
    env = {**os.environ, **({"KERAS_BACKEND": keras_backend} if keras_backend else {})}
    out = subprocess.run([sys.executable, "-m", "bench.training", "--bare", family, "--data", data,
                          "--train-limit", str(limit), "--epochs", str(epochs), "--threads", str(threads),
                          "--precision", precision, "--config", json.dumps(config)],
                         capture_output=True, text=True, cwd=ROOT, env=env)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def trainable(config: dict, data: str, limit: int, epochs: int, threads: int,
              precision: str) -> tuple[list[float], list[float]]:
    """(fit seconds per epoch, whole seconds per epoch) of trainables.deep.train in a Tune trial."""
    import ray
    from ray import tune

    from trainables import deep

    ray.init(address="local", _node_ip_address="127.0.0.1", include_dashboard=False, num_cpus=threads, log_to_driver=False)
    # a GPU, where there is one, like the bare side (Ray hides the GPUs a trial did not ask for)
    gpus = min(1.0, ray.cluster_resources().get("GPU", 0.0))
    s = splits(data, limit)
    settings = {"seed": 0, "threads": threads, "max_epochs": epochs, "weights": None, "rungs": [1, epochs],
                "precision": precision}
    with tempfile.TemporaryDirectory() as storage:
        fn = tune.with_resources(tune.with_parameters(deep.train, data=s, settings=settings), {"cpu": threads, "gpu": gpus})
        result = tune.Tuner(fn, param_space=config, tune_config=tune.TuneConfig(num_samples=1),
                            run_config=tune.RunConfig(storage_path=storage, verbose=0)).fit()[0]
    frame = result.metrics_dataframe
    ray.shutdown()
    return frame["epoch_seconds"].tolist(), frame["time_this_iter_s"].tolist()


def on_gpu() -> bool:
    from trainables import backend

    return backend.gpus() > 0


def other_backend() -> bool:
    """JAX installed beside TensorFlow, the backend this benchmark runs under."""
    import importlib.util

    from trainables import backend

    return backend.current() == "tensorflow" and importlib.util.find_spec("jax") is not None


def networks(ctx: Context) -> tuple:
    """The networks measured: the cnn (and resnet50 unless --quick), or those of them that
    --families names (``--only training --families cnn``: the cnn's figures, JAX's among
    them, without a ResNet's CPU half hour)."""
    default = ("cnn",) if ctx.quick else ("cnn", "resnet50")
    named = tuple(f for f in default if f in (ctx.families or ()))
    return named or default


def rounds_of(family: str, ctx: Context, gpu: bool) -> int:
    """How many times each side runs, interleaved: this VM throttles in windows of minutes
    (on a quiet machine the same bare epoch took 74 s, then 142 s), and one pass of each
    side after the other puts a window on one side only. Two rounds and the median epoch
    make that less likely, not impossible: the report keeps every epoch's seconds.
    Once for a ResNet on a CPU (half an hour a side) and on a GPU (the device's minutes are
    few, and its stage has 150 s)."""
    return 1 if ctx.quick or gpu or family != "cnn" else ROUNDS


ROUNDS = 2


def run(ctx: Context) -> dict:
    gpu = not ctx.quick and on_gpu()
    # on a GPU, more faces (an epoch of 6,000 is a second or two) and the ResNet at the
    # largest input size its space samples, with every block training
    limit, epochs = (200, 2) if ctx.quick else (12000, 3) if gpu else (6000, 3)
    threads, precision = 4 if gpu else 2, "auto"  # both sides; a GPU input pipeline wants more than 2 threads
    configs = {**CONFIGS, "resnet50": {**CONFIGS["resnet50"], "input_size": 224}} if gpu else CONFIGS
    if ctx.quick:  # the smoke run checks the figures are made, not the network's speed: a small cnn
        configs = {**configs, "cnn": {**configs["cnn"], "depth": 2, "width": 16}}
    figures, details = [], {}
    for family in networks(ctx):
        # the same bare fit under JAX, where both are installed (not in the quick smoke run: a
        # minute of JAX's start and compilation for one epoch of 200 faces says nothing)
        with_jax = family == "cnn" and not ctx.quick and other_backend()
        sides = {"bare": [], "trial": [], "jax": []}
        for _ in range(rounds_of(family, ctx, gpu)):  # A B (C) A B (C): each side's epochs after its first
            sides["bare"].append(bare_in_own_process(family, configs[family], ctx.data, limit, epochs, threads, precision))
            fit_s, whole_s = trainable(configs[family], ctx.data, limit, epochs, threads, precision)
            sides["trial"].append({"fit": fit_s, "whole": whole_s})
            if with_jax:
                sides["jax"].append(bare_in_own_process(family, configs[family], ctx.data, limit, epochs, threads,
                                                        precision, "jax"))
        n = len(splits(ctx.data, limit).index["train"])  # the limit may exceed the split

        def rate(side, part, n=n):  # images per second: the median epoch after each run's first (graph tracing)
            return n / median([s for run in sides[side] for s in run[part][1:]])

        peer = f"a bare model.fit ({precision}, {threads} threads{', one GPU' if gpu else ''})"
        figures.append(figure(f"{family}: training images/s, the trial's model.fit", rate("trial", "fit"),
                              rate("bare", "fit"), peer, "images/s"))
        figures.append(figure(f"{family}: training images/s, whole epochs (validation, checkpoint, report)",
                              rate("trial", "whole"), rate("bare", "whole"), peer + " that validates on the same val faces",
                              "images/s"))
        details[family] = {"images": n, "epochs": epochs, "rounds": len(sides["bare"]), "gpu": gpu, "config": configs[family],
                           "bare_s": sides["bare"], "trial_s": sides["trial"]}
        if with_jax:
            figures.append(figure("cnn: a bare model.fit's training images/s under JAX", rate("jax", "fit"),
                                  rate("bare", "fit"), f"the same under TensorFlow ({precision}, {threads} threads)",
                                  "images/s"))
            details["cnn"]["jax_bare_s"] = sides["jax"]
    return {"figures": figures, "details": details}


def main():
    """The bare side, in its own process (``python -m bench.training --bare FAMILY ...``)."""
    p = argparse.ArgumentParser()
    p.add_argument("--bare", metavar="FAMILY", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--train-limit", type=int, default=3000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--precision", default="auto")
    p.add_argument("--config", help="the network's configuration as JSON (default: CONFIGS[FAMILY])")
    args = p.parse_args()
    config = json.loads(args.config) if args.config else CONFIGS[args.bare]
    print(json.dumps(bare(config, args.data, args.train_limit, args.epochs, args.threads, args.precision)))


if __name__ == "__main__":
    main()
