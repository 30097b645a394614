"""``python -m search FAMILY``: one search, from data to exported model and leaderboard."""

from __future__ import annotations

import shlex
import time
from datetime import datetime, timezone
from pathlib import Path

from trainables import metrics

from . import datasets, leaderboard, models, registry, status
from .text import fmt_config, fmt_duration


def run(args) -> int:
    family = registry.get(args.command)
    say = print
    data, splits = datasets.load(args.data, args.val_fraction, args.train_limit, args.cache_dir, need=("train", "val"), say=say)
    name = args.name or f"{family.name}-{datetime.now():%Y%m%d-%H%M%S}"
    sizes = splits.sizes()
    say(f"search {name}: {args.trials} {family.name} trial(s) on {data.source} "
        f"(train {sizes['train']}, val {sizes['val']}, test {sizes['test']})")

    from . import tuner as tuning

    started_ray = tuning.start_ray(args.verbose)  # before anything else imports Ray
    from .progress import Progress

    try:
        settings = tuning.SearchSettings(
            name=name, trials=args.trials, seed=args.seed, results_dir=Path(args.results_dir),
            searcher=args.searcher, scheduler=args.scheduler, cpus_per_trial=args.cpus_per_trial,
            time_budget_s=args.time_budget, verbose=args.verbose,
        )
        fidelity = family.space().FIDELITY
        progress = Progress(family.name, args.trials, fidelity["attr"], fidelity["rungs"][-1], time_budget_s=args.time_budget)
        started = time.monotonic()
        results = tuning.build_tuner(family, splits, settings, [progress]).fit()
        wall = time.monotonic() - started

        rows = trial_rows(name, family, results, fidelity, data.fingerprint)
        best = pick_best(rows)
        exported = None
        if best is None:
            say("no trial produced a val_accuracy: nothing to export (see the errors in "
                f"{Path(args.results_dir) / name})")
        else:
            exported = export_best(family, best, splits, data, args, name)
            best["test_accuracy"] = exported["metrics"]["test"]["accuracy"] if exported["metrics"].get("test") else None
            best["model"] = exported["model_file"] if exported["written"] else None
        board = leaderboard.write(Path(args.results_dir), name, rows)
        summarize(say, family, rows, best, exported, board, wall)
        return 0 if best is not None else 1
    finally:
        if started_ray:
            import ray

            ray.shutdown()


def trial_rows(name: str, family: registry.Family, results, fidelity: dict, fingerprint: str) -> list[dict]:
    rows = []
    for r in results:
        m = r.metrics or {}
        config = r.config or {}
        rows.append({
            "search": name,
            "family": family.name,
            "trial_id": m.get("trial_id") or Path(r.path).name,
            "status": status.of(m, r.error, fidelity["attr"], fidelity["rungs"][-1]),
            "val_accuracy": m.get("val_accuracy"),
            "train_accuracy": m.get("train_accuracy"),
            "fidelity": m.get(fidelity["attr"]),
            "seconds": m.get("time_total_s"),
            "test_accuracy": None,
            "model": None,
            "data": fingerprint,
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "_config": config,
            **{leaderboard.PARAM + k: leaderboard.param_value(v) for k, v in config.items()},
        })
    return rows


def pick_best(rows: list[dict]) -> dict | None:
    """The best val_accuracy among trials that reached full fidelity, else among all."""
    scored = [r for r in rows if r["val_accuracy"] is not None and r["status"] != status.FAILED]
    full = [r for r in scored if r["status"] == status.FINISHED]
    pool = full or scored
    return max(pool, key=lambda r: r["val_accuracy"]) if pool else None


def export_best(family, best: dict, splits, data, args, name: str) -> dict:
    """Refit the best configuration on all of train, score it, export it if it is the best yet.

    An existing ``<family>_best`` model trained on the same data and split is replaced
    only by one at least as good on val: a short search never buries a long one's model.
    """
    config = best["_config"]
    print(f"refitting the best configuration on all {len(splits.index['train'])} training images ...", flush=True)
    started = time.monotonic()
    model = family.trainable().final_model(config, splits, {"seed": args.seed, "threads": max(1, int(args.cpus_per_trial))})
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
        "refit_seconds": round(fit_seconds, 2),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join(["python", "-m", "search", *args.argv]),
        "model_file": str(path),
    }
    old = models.read_card(path) if path.exists() else None
    better = (old is None or old.get("data", {}).get("fingerprint") != data.fingerprint
              or old.get("data", {}).get("val_fraction") != args.val_fraction
              or scores["val"]["accuracy"] >= old.get("metrics", {}).get("val", {}).get("accuracy", -1.0))
    if better:
        models.save(model, path, card)
    else:
        card["kept"] = {"model_file": str(path), "val_accuracy": old["metrics"]["val"]["accuracy"], "search": old.get("search")}
    card["written"] = better
    return card


def summarize(say, family, rows, best, exported, board: Path, wall: float) -> None:
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
