"""``python -m search auto``: one time budget spent across the families, ending with the best
model or ensemble (``models/auto_best.json``)."""

from __future__ import annotations

from trainables.precision import PRECISIONS

from .options import (
    add_data_options,
    add_models_dir,
    add_results_dir,
    add_tracking_options,
    duration,
    non_negative_float,
    positive_int,
)
from .search import add_backend_option

SUMMARY = "spend one time budget across the families: auto [--time-budget 2h] [--families svm,rf,cnn]"
DEFAULT_BUDGET = "1h"
NETWORK_EPOCHS = 100  # a network trial's cap; the budget ends it sooner (its cosine with it)


def add_parser(sub) -> None:
    p = sub.add_parser("auto", help="spend one time budget across the families; the best model or ensemble at the end",
                       description="Search every family this machine can train within one time budget: a probe of "
                                   "each, then the next minutes to the family most likely to improve; at the end each "
                                   "family's best is exported and the best model or ensemble is chosen on val "
                                   "(models/auto_best.json, which evaluate and predict take).")
    p.set_defaults(main=main)
    add_data_options(p)
    p.add_argument("--time-budget", type=duration, default=duration(DEFAULT_BUDGET), metavar="T",
                   help=f"the whole command's time, export and ensemble included: 900, 15m, 2h (default: {DEFAULT_BUDGET})")
    p.add_argument("--families", metavar="NAMES",
                   help="comma-separated (default: every family this machine can train in the budget; "
                        "without a GPU the ResNets only when named)")
    p.add_argument("--seed", type=int, default=0, help="seeds the samplers and the models (default: 0)")
    p.add_argument("--name", help="the run's name (default: auto-DATE-TIME; with --resume, the latest auto run)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted or crashed auto run (--name, else the latest in --results-dir) "
                        "with a new --time-budget")
    add_results_dir(p)
    add_models_dir(p, "exported models and auto_best.json")
    p.add_argument("--max-epochs", type=positive_int, default=NETWORK_EPOCHS, metavar="N",
                   help=f"the most epochs a network trial trains; the budget usually ends it sooner (default: {NETWORK_EPOCHS})")
    p.add_argument("--precision", choices=PRECISIONS, default="auto", help="the networks' Keras dtype policy (default: auto)")
    add_backend_option(p)
    p.add_argument("--weights", default="imagenet", metavar="W",
                   help="the ResNets' start: imagenet (Keras' cache), none, or a file (default: imagenet)")
    p.add_argument("--gpus-per-trial", type=non_negative_float, default=None, metavar="N",
                   help="GPUs each network trial gets, fractions allowed (default: 1 where the cluster has GPUs)")
    p.add_argument("--no-tta", action="store_true", help="never consider test-time augmentation for the final model")
    p.add_argument("--address", metavar="ADDR", help="join a running Ray cluster (default: a local Ray on 127.0.0.1)")
    p.add_argument("--storage", metavar="URI", help="experiment storage every node reaches (a multi-node cluster needs it)")
    p.add_argument("--max-failures", type=int, default=1, metavar="N", help="retries of a trial whose worker died (default: 1)")
    p.add_argument("--train-limit", type=positive_int, metavar="N", help="use at most N training images")
    add_tracking_options(p)
    p.add_argument("--experiment", help="MLflow experiment (default: one per data set)")
    p.add_argument("--no-tracking", action="store_true", help="log nothing to MLflow")
    p.add_argument("--verbose", action="store_true", help="show Ray's own trial table, worker logs and TensorFlow's lines")


def main(args) -> int:
    from ..engine.auto import driver

    return driver.run(args)
