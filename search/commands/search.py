"""``python -m search FAMILY``: one search of a model family, a subcommand per family."""

from __future__ import annotations

import argparse

from trainables.backend import BACKENDS
from trainables.precision import PRECISIONS

from .. import registry
from .options import (
    add_data_options,
    add_models_dir,
    add_results_dir,
    add_tracking_options,
    duration,
    non_negative_float,
    positive_float,
    positive_int,
)

SUMMARY = "search one model family (see families above)"


def add_parser(sub) -> None:
    for family in registry.FAMILIES.values():
        add_family_parser(sub, family)


def add_family_parser(sub, family: registry.Family) -> None:
    p = sub.add_parser(family.name, help=family.summary, description=f"Search {family.summary}.")
    p.set_defaults(main=main)
    add_data_options(p)
    p.add_argument("--trials", type=positive_int, default=20, help="trials to run (default: 20)")
    p.add_argument("--seed", type=int, default=0, help="seeds the sampler and the models (default: 0)")
    p.add_argument("--time-budget", type=duration, metavar="T",
                   help="start no trial after this long, e.g. 900, 15m, 2h (running trials finish)")
    p.add_argument("--name", help="the search's name (default: FAMILY-DATE-TIME; with --resume, the latest search)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted or crashed search (--name, else this family's latest in --results-dir): "
                        "its finished trials are kept, unfinished ones continue, up to its own --trials")
    p.add_argument("--retry-failed", action="store_true", help="with --resume: run the failed trials again too")
    add_results_dir(p)
    add_models_dir(p)
    p.add_argument("--searcher", choices=("tpe", "random"), default="tpe", help="Optuna sampler (default: tpe)")
    p.add_argument("--warm-start", type=positive_int, nargs="?", const=3, default=None, metavar="K",
                   help="evaluate first the K (default 3) best configurations of earlier searches of this family "
                        "on the same data (from MLflow, else the leaderboard)")
    p.add_argument("--fix", action="append", metavar="NAME=VALUE",
                   help="hold a hyperparameter at one value for the whole search, e.g. --fix input_size=96 (repeatable)")
    p.add_argument("--scheduler", choices=("asha", "none"), default="asha",
                   help="asha stops weak trials at the fidelity rungs; none runs every trial to the end (default: asha)")
    p.add_argument("--cpus-per-trial", type=positive_float, default=None, metavar="N",
                   help=f"CPUs each trial gets; trials run side by side on the rest (default: {family.cpus_per_trial}, "
                        "or the CPUs shared among the trials where there are fewer trials than that fills)")
    if family.is_network:
        add_network_options(p, family)
    p.add_argument("--gpus-per-trial", type=non_negative_float, default=None, metavar="N",
                   help="GPUs each trial gets, fractions allowed (0.5: two trials per GPU); "
                        f"default: {'1 where the cluster has GPUs, else 0' if family.uses_gpu else '0'}")
    p.add_argument("--address", metavar="ADDR",
                   help="join a running Ray cluster: auto, host:port or ray://host:10001 (default: start a local Ray on 127.0.0.1)")
    p.add_argument("--storage", metavar="URI",
                   help="experiment storage every node reaches (s3://..., gs://..., or a shared path); "
                        "required on a multi-node cluster (default: --results-dir)")
    p.add_argument("--max-failures", type=int, default=1, metavar="N",
                   help="retries of a trial whose worker or node died (default: 1)")
    p.add_argument("--train-limit", type=positive_int, metavar="N",
                   help="use at most N training images (a stratified subset), for quick looks at a large source")
    add_tracking_options(p)
    p.add_argument("--experiment", help="MLflow experiment (default: one per data set, e.g. fer-search-fer2013)")
    p.add_argument("--no-tracking", action="store_true", help="log nothing to MLflow")
    p.add_argument("--verbose", action="store_true", help="show Ray's own trial table, worker logs and TensorFlow's own lines")


def add_network_options(p, family: registry.Family) -> None:
    epochs = family.fidelity().max
    p.add_argument("--max-epochs", type=positive_int, default=epochs, metavar="N",
                   help=f"epochs a trial trains at most; ASHA stops weak ones earlier (default: {epochs})")
    p.add_argument("--weights", default="imagenet" if family.pretrained else "none", metavar="W",
                   help=f"imagenet (Keras' cache, downloaded once: {family.weights_file}), none (from scratch) "
                        "or a weights file (default: imagenet)" if family.pretrained else argparse.SUPPRESS)
    add_backend_option(p)
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="the Keras dtype policy: auto is mixed_float16 on a GPU, mixed_bfloat16 on a CPU with "
                        "AVX512-BF16 or AMX (about 1.3x faster there), else float32 (default: auto)")


def add_backend_option(p) -> None:
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help="Keras's backend for the networks: tensorflow (installed), or jax (pip install -e '.[jax]'); "
                        "default: $KERAS_BACKEND, else tensorflow")


def main(args) -> int:
    from ..engine import phases

    return phases.run(args)
