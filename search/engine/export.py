"""The end of a search: which trial is best, its model scored and put in the model slot
``models/<family>_best<suffix>`` if it earns it."""

from __future__ import annotations

import shlex
import time
from datetime import datetime, timezone
from pathlib import Path

from trainables import metrics

from .. import parallel, status
from ..ensembling import probabilities
from ..stores import models


def warm_end_imports(model_format, tracked: bool) -> None:
    """Import now what the end imports to export and log a model. Under a time budget the
    end's reserve is a measurement of warm work; cold, these imports cost the first search
    in a fresh process seconds past it (skops, Matplotlib and MLflow's flavour: 9 s of a
    20-s svm search's end on the demo set). Imported before the trials, they are paid
    while the clock can still see them."""
    import importlib

    from .. import stopping

    names = [*model_format.end_modules, *(model_format.logged_modules if tracked else ())]
    if tracked:  # the test confusion matrix (``tracking_figures``), headless
        import matplotlib

        matplotlib.use("Agg")
        names.append("matplotlib.pyplot")
    for name in names:
        importlib.import_module(name)
    stopping.CURRENT.reinstall()  # TensorFlow's absl takes SIGTERM at its import


def pick_best(trial_rows: list[dict]) -> dict | None:
    """The best val_accuracy (of what each trial exports: ``rows.score``) among trials
    that reached full fidelity, else among all that scored; a tie goes to the faster
    trial, as the leaderboard orders them."""
    scored = [r for r in trial_rows if r.get("val_accuracy") is not None and r["status"] != status.FAILED]
    full = [r for r in scored if r["status"] == status.FINISHED]
    pool = full or scored
    return max(pool, key=lambda r: (r["val_accuracy"], -(r.get("seconds") or float("inf")))) if pool else None


def replaces(old_card: dict | None, new_card: dict) -> bool:
    """The model slot's keep-or-replace rule: a new model takes the slot unless the model
    there was trained on the same data and split and is better on val. A short search
    never buries a long one's model; a model of other data is no comparison."""
    if old_card is None:
        return True
    old_data, new_data = old_card.get("data", {}), new_card["data"]
    if (old_data.get("fingerprint"), old_data.get("val_fraction")) != (new_data["fingerprint"], new_data["val_fraction"]):
        return True
    old_val = old_card.get("metrics", {}).get("val", {}).get("accuracy", -1.0)
    return new_card["metrics"]["val"]["accuracy"] >= old_val


def export_best(search, best: dict) -> tuple[dict, object]:
    """The best trial's model (its own fit on all of train, else a refit), scored on val
    and test, saved with its card where ``replaces`` allows. Returns (card, model)."""
    started = time.monotonic()
    trial_model = trial_model_of(search, best)
    fit_seconds = time.monotonic() - started
    splits, model = search.splits, trial_model.model
    scorer = parallel.fast(model)  # an SVC's predictions and decision values of one pass, through BLAS
    apply = parallel.runner(scorer)
    named = [s for s in ("val", "test") if len(splits.index[s])]
    search.say("scoring the best model on " + " and ".join(f"{s} ({len(splits.index[s])})" for s in named) + " ...")
    x = {split: splits.x(split) for split in named}
    predicted = {split: apply(scorer.predict, x[split]) for split in named}
    scores = {split: metrics.report(splits.y(split), predicted[split]) for split in named}
    path = models.export_path(search.args.models_dir, search.family)
    card = model_card(search, best, scores, path, fit_seconds)
    try:
        calibration = probabilities.calibrate(scorer, x.get("val", splits.x("val")), splits.y("val"), predicted.get("val"),
                                              apply)
    except Exception as e:  # the model is still worth exporting; predict will say it has no probabilities
        search.say(f"warning: no probability calibration for the exported model ({type(e).__name__}: {e})")
        calibration = None
    if calibration:
        card["probability"] = calibration
    old = models.read_card(path) if path.exists() else None
    card["written"] = replaces(old, card)
    if card["written"]:
        card["sha256"] = models.save(trial_model, path, {k: v for k, v in card.items() if k != "written"})
    else:
        card["kept"] = {"model_file": str(path), "val_accuracy": old["metrics"]["val"]["accuracy"], "search": old.get("search")}
    trial_model.discard()
    return card, trial_model.model


def trial_model_of(search, best: dict) -> models.TrialModel:
    """The model the best trial left in its checkpoint. A classical trial that stopped
    before all of train (or an older search's, which left none) is refitted on all of it
    with every core, unless the refit would not end within the budget: then its own fit
    is exported, the one that scored its val."""
    found = search.model_format.from_trial(best["_result"])
    if found is not None and not below_full(found, search):
        return found
    n_train = len(search.splits.index["train"])
    if found is not None and not refit_fits(found, n_train, search):
        search.say(f"exporting the best trial's own fit on {found.fitted['sizes'][-1]} of {n_train} training images: "
                   "a refit on all of them would not end within the time budget")
        return found
    search.say(f"refitting the best configuration on all {n_train} training images ...")
    return models.TrialModel(search.family.trainable().final_model(best["_config"], search.splits,
                                                                   {"seed": search.args.seed, "threads": parallel.cores()}))


def below_full(found: models.TrialModel, search) -> bool:
    fitted = found.fitted
    return fitted is not None and fitted["train_fraction"] < search.fidelity.max


def refit_fits(found: models.TrialModel, n_train: int, search) -> bool:
    """Whether a refit on all of train, as the trial's fits grew, ends before the budget's
    deadline with the export's scoring after it."""
    from trainables.units import DEFAULT_EXPONENT, next_rung_seconds

    budget = search.budget
    if budget is None or budget.deadline is None:
        return True
    trainable = search.family.trainable()
    sizes, seconds = found.fitted["sizes"], found.fitted["fit_seconds"]
    refit = next_rung_seconds(sizes, seconds, n_train, getattr(trainable, "FIT_EXPONENT", DEFAULT_EXPONENT))
    return budget.fits(refit)


def command_line(args) -> str:
    """The command that reproduces a search (recorded in the model card and MLflow)."""
    return shlex.join(["python", "-m", "search", *args.argv])


def model_card(search, best: dict, scores: dict, path: Path, fit_seconds: float) -> dict:
    args, data = search.args, search.data
    return {
        "family": search.family.name,
        "config": best["_config"],
        "metrics": scores,
        "data": {
            "source": data.source, "format": data.format, "fingerprint": data.fingerprint,
            "val_fraction": args.val_fraction, "train_limit": args.train_limit, "sizes": search.splits.sizes(),
        },
        "search": search.name,
        "trial_id": best["trial_id"],
        "refit_seconds": round(fit_seconds, 2),  # reading the trial's model, or the refit
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command_line(args),
        "model_file": str(path),
    }
