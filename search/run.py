"""``python -m search FAMILY``: one search, from data to exported model, MLflow and leaderboard."""

from __future__ import annotations

import json
import os
import shlex
import time
from datetime import datetime, timezone
from pathlib import Path

from trainables import metrics
from trainables.errors import FerSearchError

from . import datasets, leaderboard, models, registry, status, tracking
from .text import fmt_config, fmt_duration

SEARCH_FILE = "fer_search.json"  # in the Ray experiment folder: what `sync` needs to know


def run(args) -> int:
    family = registry.get(args.command)
    say = print
    results_dir = Path(args.results_dir)
    uri = None if args.no_tracking else tracking.resolve_uri(args.tracking_uri, results_dir)
    if uri and tracking.is_remote(uri):
        tracking.client(uri)  # an unreachable server stops us here, before any work
    data, splits = datasets.load(args.data, args.val_fraction, args.train_limit, args.cache_dir, need=("train", "val"), say=say)
    name = args.name or f"{family.name}-{datetime.now():%Y%m%d-%H%M%S}"
    if (experiment_folder(args, results_dir) / name).exists():
        # A second search under one name would mix its trials with the first's, in Ray's
        # folder and in MLflow alike.
        raise FerSearchError(f"{experiment_folder(args, results_dir)} already holds a search named '{name}'",
                             hint="choose another --name (the default is the family and the time)")
    sizes = splits.sizes()
    say(f"search {name}: {args.trials} {family.name} trial(s) on {data.source} "
        f"(train {sizes['train']}, val {sizes['val']}, test {sizes['test']})")
    fidelity = family.fidelity(getattr(args, "max_epochs", None))
    trial_settings = {}
    if family.is_network:
        from trainables import networks

        backbone = family.space().BACKBONE
        weights = None if backbone == "cnn" else networks.resolve_weights(backbone, args.weights)
        trial_settings = {"weights": weights, "max_epochs": fidelity["rungs"][-1], "precision": args.precision}
    meta = search_meta(args, family, data, name, fidelity)
    space = family.space()
    points = first_points(args, family, data, results_dir, uri, say)

    from . import tuner as tuning

    started_ray = tuning.start_ray(args.verbose, args.address)  # before anything else imports Ray
    from .progress import Progress

    try:
        tuning.check_storage(args.storage)
        tracker = None
        if uri:
            tracker = tracking.Tracker(uri, meta["experiment"], name, family.name, data.fingerprint, results_dir, say)
            tracker.start_search(meta["tags"], space)
            say(f"tracking: {uri}, experiment {meta['experiment']}")
        gpus = args.gpus_per_trial
        if gpus is None:
            gpus = 1.0 if family.uses_gpu and tuning.gpus_in_cluster() >= 1 else 0.0
        settings = tuning.SearchSettings(
            name=name, trials=args.trials, seed=args.seed, results_dir=results_dir,
            searcher=args.searcher, scheduler=args.scheduler, cpus_per_trial=args.cpus_per_trial,
            gpus_per_trial=gpus, storage=args.storage, max_failures=args.max_failures,
            time_budget_s=args.time_budget, verbose=args.verbose, fidelity=fidelity, trial_settings=trial_settings,
            points_to_evaluate=points,
        )
        callbacks = [Progress(family.name, args.trials, fidelity["attr"], fidelity["rungs"][-1], time_budget_s=args.time_budget)]
        if tracker:
            from .tracking_callback import TrackingCallback

            callbacks.append(TrackingCallback(tracker, fidelity["attr"], fidelity["rungs"][-1]))
        tuner = tuning.build_tuner(family, splits, settings, callbacks)
        write_meta(experiment_folder(args, results_dir) / name, meta)
        started = time.monotonic()
        results = tuner.fit()
        wall = time.monotonic() - started

        rows = trial_rows(name, family, results, fidelity, data.fingerprint)
        best = pick_best(rows)
        exported = model = None
        if best is None:
            say(f"no trial produced a val_accuracy: nothing to export (see the errors in {results_dir / name})")
        else:
            exported, model = export_best(family, best, splits, data, args, name)
            best["test_accuracy"] = exported["metrics"]["test"]["accuracy"] if exported["metrics"].get("test") else None
            best["model"] = exported["model_file"] if exported["written"] else None
        if tracker:
            tracker.finish_search(best, exported, model, splits, rows, space)
        if not family.is_network:
            remove_trial_models(rows)
        board = write_leaderboard(results_dir, name, rows, tracker)
        summarize(say, family, rows, best, exported, board, wall, tracker)
        return 0 if best is not None else 1
    finally:
        if started_ray:
            import ray

            ray.shutdown()


def first_points(args, family, data, results_dir: Path, uri: str | None, say) -> list[dict]:
    """What the search evaluates before Optuna proposes: with --warm-start, the best
    configurations of earlier searches; then the space's defaults (once)."""
    defaults = dict(family.space().DEFAULTS)
    if not args.warm_start:
        return [defaults]
    from . import warmstart

    warm = warmstart.earlier_best(family, data.fingerprint, results_dir, uri if uri and tracking.is_remote(uri) else None,
                                  args.warm_start)
    if warm:
        say(f"warm start: the {len(warm)} best configuration(s) of earlier {family.name} searches on this data come first")
    else:
        say(f"warm start: no finished {family.name} trial on this data in {results_dir} to start from")
    return warm + ([defaults] if defaults not in warm else [])


def search_meta(args, family, data, name: str, fidelity: dict) -> dict:
    return {
        "search": name, "family": family.name, "fidelity": fidelity,
        "experiment": args.experiment or tracking.default_experiment(data.source),
        "tags": {
            "data_source": data.source, "data_format": data.format, "data_fingerprint": data.fingerprint,
            "git_commit": tracking.git_commit(), "command": shlex.join(["python", "-m", "search", *args.argv]),
            "searcher": args.searcher, "scheduler": args.scheduler, "seed": args.seed, "trials": args.trials,
        },
    }


def experiment_folder(args, results_dir: Path) -> Path:
    """Where Ray Tune writes the experiment: --storage when it is a path, else results/.
    (A bucket's copy is read back with the bucket's own tools; `sync` needs a path.)"""
    if args.storage and "://" not in args.storage:
        return Path(args.storage)
    return results_dir


def write_meta(folder: Path, meta: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SEARCH_FILE).write_text(json.dumps(meta, indent=2) + "\n")


def trial_rows(name: str, family: registry.Family, results, fidelity: dict, fingerprint: str) -> list[dict]:
    rows = []
    for r in results:
        m = r.metrics or {}
        config = r.config or {}
        rows.append({
            "search": name,
            "family": family.name,
            "trial_id": m.get("trial_id") or Path(r.path).name.split("_")[1],
            "status": status.of(m, r.error, fidelity["attr"], fidelity["rungs"][-1]),
            "val_accuracy": m.get("val_accuracy"),
            "train_accuracy": m.get("train_accuracy"),
            "fidelity": m.get(fidelity["attr"]),
            "seconds": m.get("time_total_s"),
            "test_accuracy": None,
            "model": None,
            "data": fingerprint,
            "node": m.get("node_id"),
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "_config": config,
            "_result": r,
            # networks export their best epoch: rank their trials by it
            "_best_val": _best_epoch_score(r) if family.is_network else m.get("val_accuracy"),
            **{leaderboard.PARAM + k: leaderboard.param_value(v) for k, v in config.items()},
        })
    return rows


def _best_epoch_score(result) -> float | None:
    frame = result.metrics_dataframe
    if frame is None or "val_accuracy" not in frame or frame["val_accuracy"].isna().all():
        return None
    return float(frame["val_accuracy"].max())


def pick_best(rows: list[dict]) -> dict | None:
    """The best val_accuracy among trials that reached full fidelity, else among all."""
    scored = [r for r in rows if r.get("_best_val") is not None and r["status"] != status.FAILED]
    full = [r for r in scored if r["status"] == status.FINISHED]
    pool = full or scored
    return max(pool, key=lambda r: r["_best_val"]) if pool else None


def export_best(family, best: dict, splits, data, args, name: str):
    """The best configuration fitted on all of train (the best trial's own fit, else a
    refit), scored, and exported if it is the best yet.

    An existing ``<family>_best`` model trained on the same data and split is replaced
    only by one at least as good on val: a short search never buries a long one's model.
    Returns (card, model).
    """
    config = best["_config"]
    started = time.monotonic()
    if family.is_network:
        model, source = best_checkpoint_model(best["_result"])
    else:
        model, source = trial_model(best["_result"]), None
        if model is None:  # the trial left no model (an older search, or not at full fidelity)
            print(f"refitting the best configuration on all {len(splits.index['train'])} training images ...", flush=True)
            # the trials are over: the refit may use every core of this machine
            threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
            model = family.trainable().final_model(config, splits, {"seed": args.seed, "threads": threads})
    fit_seconds = time.monotonic() - started
    scores = {split: metrics.report(splits.y(split), model.predict(splits.x(split)))
              for split in ("val", "test") if len(splits.index[split])}
    path = Path(args.models_dir) / f"{family.name}_best{family.model_suffix}"
    card = {
        "family": family.name,
        "config": config,
        "metrics": scores,
        "data": {
            "source": data.source, "format": data.format, "fingerprint": data.fingerprint,
            "val_fraction": args.val_fraction, "train_limit": args.train_limit, "sizes": splits.sizes(),
        },
        "search": name,
        "trial_id": best["trial_id"],
        "refit_seconds": round(fit_seconds, 2),  # reading the trial's model, or the refit
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join(["python", "-m", "search", *args.argv]),
        "model_file": str(path),
    }
    old = models.read_card(path) if path.exists() else None
    better = (old is None or old.get("data", {}).get("fingerprint") != data.fingerprint
              or old.get("data", {}).get("val_fraction") != args.val_fraction
              or scores["val"]["accuracy"] >= old.get("metrics", {}).get("val", {}).get("accuracy", -1.0))
    if better:
        models.save(model, path, card, keras_file=source)
    else:
        card["kept"] = {"model_file": str(path), "val_accuracy": old["metrics"]["val"]["accuracy"], "search": old.get("search")}
    if source is not None:  # the checkpoint copy fetched from the experiment storage
        import shutil

        shutil.rmtree(source.parent, ignore_errors=True)
    card["written"] = better
    return card, model


def trial_model(result):
    """The model a classical trial fitted on all of train, from its checkpoint; None when
    it left none. Read through the same trusted-type check as any exported file."""
    from trainables.classical import FITTED_MODEL

    if result.checkpoint is None:
        return None
    with result.checkpoint.as_directory() as folder:  # fetched from a bucket where it lives in one
        path = Path(folder) / FITTED_MODEL
        return models.load(path) if path.exists() else None


def remove_trial_models(rows: list[dict]) -> None:
    """The classical trials' fitted models (tens of MB each) once the best is exported: a
    long search would otherwise keep one per trial that reached all of train."""
    from trainables.classical import FITTED_MODEL

    for row in rows:
        for checkpoint, _ in row["_result"].best_checkpoints or []:
            try:  # the checkpoint's own filesystem: local, or the bucket of --storage
                checkpoint.filesystem.delete_file(f"{checkpoint.path}/{FITTED_MODEL}")
            except (FileNotFoundError, OSError):
                pass


def best_checkpoint_model(result):
    """A network's best epoch, read back from the experiment storage (fetched from a
    bucket when it lives in one). Returns (classifier, its .keras file)."""
    import shutil
    import tempfile

    from trainables import deep

    checkpoint = result.get_best_checkpoint(metric="val_accuracy", mode="max") or result.checkpoint
    if checkpoint is None:
        raise RuntimeError(f"trial {result.path} left no checkpoint to export")
    local = Path(tempfile.mkdtemp(prefix="fer-best-"))
    with checkpoint.as_directory() as folder:
        shutil.copy(Path(folder) / deep.CHECKPOINT_MODEL, local / deep.CHECKPOINT_MODEL)
    return deep.load(local / deep.CHECKPOINT_MODEL), local / deep.CHECKPOINT_MODEL


def write_leaderboard(results_dir: Path, name: str, rows: list[dict], tracker) -> Path:
    """From MLflow, the source of truth, when this search was tracked; else from its own rows."""
    if tracker is not None and not tracker.broken:
        try:
            return leaderboard.write_all(results_dir, tracking.leaderboard_rows(tracker.client))
        except Exception as e:  # MLflow went away at the very end: the search's own rows still land
            print(f"warning: leaderboard from MLflow failed ({e}); writing this search's rows")
    return leaderboard.write(results_dir, name, rows)


def summarize(say, family, rows, best, exported, board: Path, wall: float, tracker=None) -> None:
    counts = {s: sum(r["status"] == s for r in rows) for s in status.ENDED}
    say(f"done in {fmt_duration(wall)}: {len(rows)} trial(s), {counts[status.FINISHED]} finished, "
        f"{counts[status.STOPPED]} stopped early, {counts[status.FAILED]} failed")
    if best is not None:
        m = exported["metrics"]
        test = f", test_accuracy {m['test']['accuracy']:.4f}" if m.get("test") else ""
        say(f"best {family.name}: val_accuracy {m['val']['accuracy']:.4f}{test} (trial {best['trial_id']})")
        say(f"  config: {fmt_config(best['_config'], limit=99)}")
        if exported["written"]:
            say(f"  model:  {exported['model_file']} (card: {models.card_path(Path(exported['model_file']))})")
        else:
            kept = exported["kept"]
            say(f"  model:  kept {kept['model_file']} from search {kept['search']}: its val_accuracy "
                f"{kept['val_accuracy']:.4f} beats this search's")
    say(f"  leaderboard: {board} (python -m search leaderboard)")
    if tracker is not None:
        if tracker.broken:
            say(f"  MLflow: incomplete ({tracker.broken}); run `python -m search sync --name {tracker.search}` once it is back")
        elif tracker.uri.startswith("sqlite:"):
            say(f"  MLflow: mlflow ui --backend-store-uri {tracker.uri}")
        else:
            say(f"  MLflow: {tracker.uri}")
