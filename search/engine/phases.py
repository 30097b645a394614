"""One search, in phases: ``prepare`` (data, name, settings; the tracking server checked),
``build`` (Ray, the MLflow parent run, the tuner), ``fit``, ``conclude`` (rows, the best,
export, MLflow, leaderboard, summary).

``run`` is the four in a row. A resumed search (``--resume``) is prepare, restore, fit,
conclude: the same functions, with Ray Tune's ``Tuner.restore`` in place of ``build``.
"""

from __future__ import annotations

import shlex
import sys
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from trainables.data import FerData, Splits, copies_of
from trainables.errors import FerSearchError

from .. import internals, registry, status, stopping
from ..stores import experiments, leaderboard, models, rows, tracking, tracking_reads
from ..stores.files import check_writable
from ..text import error_line, fmt_config, fmt_duration
from . import datasets, export, fixed, priors, resume
from .budget import DEADLINE_FILE, Budget, learned_fixed_seconds, record_fixed_seconds
from .options import Options


@dataclass
class Search:
    """What ``prepare`` settled: everything the later phases read."""

    args: Options  # what was asked
    family: registry.Family
    data: FerData
    splits: Splits
    name: str
    fidelity: object  # spaces.fidelity.Fidelity, with --max-epochs applied
    results_dir: Path
    meta: dict  # the search's record beside Ray's trial folders (experiments.SEARCH_FILE)
    trial_settings: dict  # for the trainable, beside seed, rungs and threads
    points: list[dict]  # evaluated first, in order
    fixed: dict  # --fix: parameters held at one value
    tracking_uri: str | None = None  # None: --no-tracking
    tracker: tracking.Tracker | None = None
    say: object = print
    started_ray: bool = False
    wall: float = 0.0
    resumed: bool = False
    interrupted: bool = False  # by Ctrl-C: some trials did not end
    budget: object = None  # budget.Budget: --time-budget's deadline and the end's reserve
    pause: object = None  # auto: () -> bool, pause this family's trials at their unit ends now
    parent_run: str | None = None  # auto: its MLflow run, above this search's
    watchers: list = field(default_factory=list)  # more Ray Tune callbacks (auto's)
    tracked: bool = False  # its MLflow run started in this process (auto starts it again each slice)

    @property
    def folder(self) -> Path:
        """The Ray experiment folder of this search."""
        return experiments.folder_of(self.args.storage, self.results_dir) / self.name

    @property
    def model_format(self):
        return models.FORMATS[self.family.model_format]


def run(args, say=print) -> int:
    args = Options.of(args)
    search = prepare(args, say)
    ended = None
    try:
        tuner = restore(search) if search.resumed else build(search)
        results = fit(search, tuner)
        ended = time.monotonic()
        return conclude(search, results)
    except BaseException as e:
        if search.tracker:  # interrupted or broken: not left RUNNING in MLflow
            search.tracker.end_search("KILLED" if isinstance(e, KeyboardInterrupt) else "FAILED")
        if isinstance(e, KeyboardInterrupt):  # a second Ctrl-C: stopped at once
            say(f"interrupted; continue with: {resume.command(args, search.name)}")
        raise
    finally:
        if search.started_ray:
            import ray

            ray.shutdown()
        budget = search.budget
        if ended is not None and budget.last_result is not None:  # the next budget's reserve learns what the end cost
            record_fixed_seconds(search.results_dir, time.time() - budget.last_result - budget.variable_seconds())


def prepare(args, say=print) -> Search:
    args = Options.of(args)
    family = registry.get(args.command)
    results_dir = Path(args.results_dir)
    check_writable(("--results-dir", results_dir), ("--models-dir", Path(args.models_dir)))
    where = experiments.folder_of(args.storage, results_dir)
    earlier = None
    if args.resume:
        earlier = experiments.read_meta(resume.find(args, family, where))
        resume.hold_to(args, earlier)
    uri = None if args.no_tracking else tracking.resolve_uri(args.tracking_uri, results_dir)
    if uri and tracking.is_remote(uri):
        tracking.client(uri)  # an unreachable server stops us here, before any work
    data, splits = datasets.load(args.data, args.val_fraction, args.train_limit, args.cache_dir, need=("train", "val"), say=say)
    name = args.name or f"{family.name}-{datetime.now():%Y%m%d-%H%M%S}"
    if earlier is not None and data.fingerprint != earlier["tags"]["data_fingerprint"]:
        raise FerSearchError(f"--resume: the data {data.source} is not the data {name} searched "
                             f"(fingerprint {data.fingerprint}, not {earlier['tags']['data_fingerprint']})")
    if earlier is None and (where / name).exists():
        # A second search under one name would mix its trials with the first's, in Ray's
        # folder and in MLflow alike.
        raise FerSearchError(f"{where} already holds a search named '{name}'",
                             hint="choose another --name (the default is the family and the time), or --resume it")
    copied = {s: len(copies_of(splits.images, splits.index["train"], splits.index[s])) for s in ("val", "test")}
    if any(copied.values()):
        say(f"data: {copied['val']} val and {copied['test']} test face(s) are pixel-for-pixel copies of train faces "
            "(python -m search data info names them)")
    sizes = splits.sizes()
    trials = f"{family.name} trials while auto {args.auto}'s budget lasts" if getattr(args, "auto", None) else \
        f"{args.trials} {family.name} trial(s)"
    say(f"{'resuming search' if earlier else 'search'} {name}: {trials} on {data.source} "
        f"(train {sizes['train']}, val {sizes['val']}, test {sizes['test']})")
    fidelity = family.fidelity(getattr(args, "max_epochs", None))
    held = fixed.parse(family, args.fix)
    budget = Budget.of(getattr(args, "started", None) or time.time(), args.time_budget,
                       {s: len(splits.index[s]) for s in ("val", "test")}, learned_fixed_seconds(results_dir))
    budget.published = results_dir / name / DEADLINE_FILE
    if budget.deadline is not None:
        export.warm_end_imports(models.FORMATS[family.model_format], tracked=uri is not None)
    if not getattr(args, "auto", None):  # auto checks every family's probe against its own budget
        ray = sys.modules.get("ray")  # an in-process caller may have started it: no start-up to pay then
        cpus = args.cpus_per_trial or family.cpus_per_trial  # none named: the least a trial gets (its share needs Ray)
        priors.check_fits(family, budget, sizes["train"], sizes["val"] + sizes["test"], cpus,
                          ray is not None and ray.is_initialized())
    search = Search(args=args, family=family, data=data, splits=splits, name=name, fidelity=fidelity,
                    results_dir=results_dir, meta=earlier or search_meta(args, family, data, name, fidelity),
                    trial_settings=network_settings(args, family, fidelity),
                    points=[] if earlier else first_points(args, family, data, results_dir, uri, held, say), fixed=held,
                    say=say, resumed=earlier is not None, tracking_uri=uri, budget=budget)
    return search


def start_tracking(search: Search) -> None:
    """The search's MLflow parent run (found again when resumed), once Ray and the
    storage are known to work: a search that cannot start leaves no run behind."""
    if search.tracking_uri:
        search.tracker = tracking.Tracker(search.tracking_uri, search.meta["experiment"], search.name, search.family.name,
                                          search.data.fingerprint, search.results_dir, search.say)
        search.tracker.start_search(search.meta["tags"], search.family.space(), parent=search.parent_run,
                                    found_by="--resume" if search.resumed and not search.tracked else None)
        search.tracked = True
        search.say(f"tracking: {search.tracking_uri}, experiment {search.meta['experiment']}")


def network_settings(args, family: registry.Family, fidelity) -> dict:
    """What a network's trials need beyond the config: weights, epochs, precision."""
    if not family.is_network:
        return {}
    weights = None
    if family.pretrained:
        from trainables import networks

        weights = networks.resolve_weights(family.name, args.weights)  # offline: one clear error, before any work
    return {"weights": weights, "max_epochs": fidelity.max, "precision": args.precision}


def first_points(args, family, data, results_dir: Path, uri: str | None, held: dict, say) -> list[dict]:
    """What the search evaluates before Optuna proposes: with --warm-start, the best
    configurations of earlier searches; then the space's defaults (once); each with the
    --fix values, as the space takes them."""
    from . import warmstart

    points = []
    if args.warm_start:
        remote = uri if uri and tracking.is_remote(uri) else None
        points = warmstart.earlier_best(family, data.fingerprint, results_dir, remote, args.warm_start)
        if points:
            say(f"warm start: the {len(points)} best configuration(s) of earlier {family.name} searches on this data come first")
        else:
            say(f"warm start: no finished {family.name} trial on this data in {results_dir} to start from")
    held_points = []
    for point in [*points, dict(family.space().DEFAULTS)]:
        point = warmstart.conform(family.space(), {**point, **held}, fill=True) if held else point
        if point is not None and point not in held_points:
            held_points.append(point)
    return held_points


def search_meta(args, family, data, name: str, fidelity) -> dict:
    return {
        "search": name, "family": family.name, "fidelity": fidelity.as_dict(), "options": resume.options_of(args),
        "experiment": args.experiment or tracking.default_experiment(data.source),
        "tags": {
            "data_source": data.source, "data_format": data.format, "data_fingerprint": data.fingerprint,
            "git_commit": tracking.git_commit(), "command": export.command_line(args),
            "searcher": args.searcher, "scheduler": args.scheduler, "seed": args.seed, "trials": args.trials,
        },
    }


def build(search: Search):
    """Ray (local on 127.0.0.1, or the cluster of --address) and the Tuner."""
    from . import tuner as tuning

    s = settings(search)
    start_tracking(search)
    tuner = tuning.build_tuner(search.family, search.splits, s, callbacks(search))
    experiments.write_meta(search.folder, search.meta)
    return tuner


def restore(search: Search):
    """Ray, and the interrupted search's Tuner from its experiment folder."""
    from . import tuner as tuning

    args = search.args
    s = settings(search)
    start_tracking(search)
    path = f"{args.storage.rstrip('/')}/{search.name}" if args.storage and "://" in args.storage else str(search.folder.resolve())
    with tuning.InterruptWatch(args.verbose):  # Ray's lines about the trials an interruption left unstarted
        return tuning.restore_tuner(path, search.family, search.splits, s, callbacks(search), args.retry_failed)


def settings(search: Search):
    """Ray started (or joined), and the search's settings for the Tuner."""
    from . import tuner as tuning

    args, family = search.args, search.family
    search.started_ray = tuning.start_ray(args.verbose, args.address,
                                          None if family.is_network else tuning.classical_worker_env())
    tuning.check_storage(args.storage)
    gpus = args.gpus_per_trial
    if gpus is None:
        gpus = 1.0 if family.uses_gpu and tuning.gpus_in_cluster() >= 1 else 0.0
    if args.cpus_per_trial is None:  # none named: auto gives its own; a search shares the CPUs among few trials
        args.cpus_per_trial = family.cpus_per_trial if getattr(args, "auto", None) else trial_cpus(family, args.trials)
        if args.cpus_per_trial > family.cpus_per_trial:
            search.say(f"{family.name}: {args.cpus_per_trial} CPUs a trial, the machine shared among {args.trials} "
                       "trial(s) (--cpus-per-trial sets it)")
    if search.started_ray:
        tuning.check_trial_fits(args.cpus_per_trial, gpus)
    return tuning.SearchSettings(
        name=search.name, trials=args.trials, seed=args.seed, results_dir=search.results_dir,
        searcher=args.searcher, scheduler=args.scheduler, cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=gpus, storage=args.storage, max_failures=args.max_failures,
        budget=search.budget, pause=search.pause, probe_first=bool(getattr(args, "auto", None)),
        verbose=args.verbose, fidelity=search.fidelity,
        trial_settings=search.trial_settings, points_to_evaluate=search.points, fixed=search.fixed,
        cpus_cap=args.cpus_cap, trainable_name=family.name if getattr(args, "auto", None) else None,
    )


def trial_cpus(family: registry.Family, trials: int | None) -> int:
    """The family's default CPUs a trial, or the Ray cluster's shared among fewer trials."""
    import ray

    from .resources import node_cpus, shared_cpus

    return shared_cpus(family.cpus_per_trial, trials, ray.cluster_resources().get("CPU", 1), node_cpus())


def callbacks(search: Search) -> list:
    """The progress display, the pruning of ended trials' checkpoints, a person's stop held
    until no checkpoint is in flight, and MLflow's child runs when the search is tracked."""
    from . import tuner as tuning
    from .checkpoint_pruning import CheckpointPruning
    from .graceful_stop import GracefulStop
    from .progress import Progress

    epochs_dir = tuning.progress_dir(search) if search.family.is_network else None
    gpus = search.args.gpus_per_trial
    on_gpu = bool(gpus) or (gpus is None and search.family.uses_gpu and tuning.gpus_in_cluster() >= 1)
    found = [Progress(search.family.name, None if search.watchers else search.args.trials, search.fidelity,
                      time_budget_s=search.budget.left(), epochs_dir=epochs_dir, on_gpu=on_gpu),
             CheckpointPruning(search.fidelity), GracefulStop(), *search.watchers]
    if search.tracker:
        from .tracking_callback import TrackingCallback

        found.append(TrackingCallback(search.tracker, search.fidelity))
    return found


def fit(search: Search, tuner):
    """Ray Tune runs the trials. A first Ctrl-C stops them cleanly (Ray Tune saves the
    experiment's state) and the search concludes with what it has; a second stops at once."""
    from .tuner import InterruptWatch

    from .. import environment

    environment.experiment_state_period()
    internals.save_experiment_state_only_on_change()
    started = time.monotonic()
    signals = stopping.CURRENT
    with InterruptWatch(search.args.verbose) as watch, warnings.catch_warnings():
        # a resumed trial that restarts reports its first rungs again; Optuna keeps the first
        warnings.filterwarnings("ignore", message="The reported value is ignored", category=UserWarning)
        signals.reinstall()  # from whatever native code took them since (TensorFlow's absl, Ray)
        with signals.fitting():
            results = tuner.fit()
    search.wall += time.monotonic() - started
    search.interrupted = watch.interrupted
    return results


def trial_ended(search: Search, results) -> list[bool]:
    """Per result, whether its trial ended, rather than being left unfinished by an
    interrupted search: those a resume continues, as Ray Tune's saved state lists them
    (after a Ctrl-C, Ray Tune's clean-up marks the running trials terminated in memory)."""
    unfinished = internals.unfinished_trials(search.folder) if search.interrupted else set()
    if unfinished is None:  # the state lives in a bucket: the trials' own states
        return [t.status in ("TERMINATED", "ERROR") for t in internals.result_trials(results)]
    return [Path(r.path).name.split("_")[1] not in unfinished for r in results]


def conclude(search: Search, results) -> int:
    """Rows, the best, its export, MLflow, the leaderboard, the summary. 0 when a model
    came out of it, 1 when no trial produced a val_accuracy."""
    outcome = settle(search, results)
    summarize(search, outcome.rows, outcome.best, outcome.card, outcome.board)
    if search.interrupted:
        search.say(f"interrupted: continue with {resume.command(search.args, search.name)}")
        return stopping.CURRENT.exit_status
    return 0 if outcome.best is not None else 1


@dataclass
class Outcome:
    """What a search left: its trials' rows, the best one, its exported model and card, the leaderboard."""

    rows: list[dict]
    best: dict | None
    card: dict | None
    model: object
    board: Path | None


def settle(search: Search, results, board: bool = True) -> Outcome:
    """Rows, the best and its export, MLflow, and (``board``) the leaderboard."""
    family, say = search.family, search.say
    stopping.CURRENT.reinstall()
    trial_rows = [rows.from_result(r, search.name, family, search.fidelity, search.data.fingerprint, ended)
                  for r, ended in zip(results, trial_ended(search, results))]
    best = export.pick_best(trial_rows)
    card = model = None
    if best is None:
        say(f"no trial produced a val_accuracy: nothing to export{first_error(results)}")
    else:
        card, model = export.export_best(search, best)
        best["test_accuracy"] = card["metrics"]["test"]["accuracy"] if card["metrics"].get("test") else None
        best["model"] = card["model_file"] if card["written"] else None
    if search.tracker:
        for row in trial_rows:  # Ray Tune never ended them: their MLflow runs say so
            if row["status"] == status.INTERRUPTED:
                search.tracker.end_trial(search.tracker.trial_run(row["trial_id"], row["_config"]), status.INTERRUPTED)
        search.tracker.finish_search(best, card, model, search.splits, trial_rows, family.space(), search.model_format,
                                     status="KILLED" if search.interrupted else "FINISHED")
    if not search.interrupted:  # a resume may yet pick one of them
        search.model_format.remove_from_trials(results)
    return Outcome(trial_rows, best, card, model, write_leaderboard(search, trial_rows) if board else None)


def first_error(results) -> str:
    """': ' and the first failed trial's error in one line, or where to look."""
    for r in results:
        if r.error is not None:
            return f": the first failed trial's error was {error_line(str(r.error)) or type(r.error).__name__}"
    return ""


def write_leaderboard(search: Search, trial_rows: list[dict]) -> Path:
    """From MLflow, the source of truth, when this search was tracked; else from its own rows."""
    tracker = search.tracker
    if tracker is not None and not tracker.broken:
        try:
            return leaderboard.write_all(search.results_dir, tracking_reads.leaderboard_rows(tracker.client))
        except Exception as e:  # MLflow went away at the very end: the search's own rows still land
            search.say(f"warning: leaderboard from MLflow failed ({e}); writing this search's rows")
    return leaderboard.write(search.results_dir, search.name, trial_rows)


def summarize(search: Search, trial_rows: list[dict], best: dict | None, card: dict | None, board: Path) -> None:
    say, tracker = search.say, search.tracker
    counts = {s: sum(r["status"] == s for r in trial_rows) for s in status.ENDED}
    interrupted = f", {counts[status.INTERRUPTED]} interrupted" if counts[status.INTERRUPTED] else ""
    say(f"done in {fmt_duration(search.wall)}: {len(trial_rows)} trial(s), {counts[status.FINISHED]} finished, "
        f"{counts[status.STOPPED]} stopped early, {counts[status.FAILED]} failed{interrupted}")
    if best is not None:
        m = card["metrics"]
        test = f", test_accuracy {m['test']['accuracy']:.4f}" if m.get("test") else ""
        say(f"best {search.family.name}: val_accuracy {m['val']['accuracy']:.4f}{test} (trial {best['trial_id']})")
        say(f"  config: {fmt_config(best['_config'], limit=99)}")
        if card["written"]:
            say(f"  model:  {card['model_file']} (card: {models.card_path(Path(card['model_file']))})")
        else:
            kept = card["kept"]
            say(f"  model:  kept {kept['model_file']} from search {kept['search']}: its val_accuracy "
                f"{kept['val_accuracy']:.4f} beats this search's")
    say(f"  leaderboard: {board} (python -m search leaderboard)")
    folders = [f"--{option.replace('_', '-')} {shlex.quote(str(getattr(search.args, option)))}"
               for option, default in (("results_dir", "results"), ("models_dir", "models"))
               if Path(getattr(search.args, option)) != Path(default)]
    say(f"  report: python -m search report --name {' '.join([search.name, *folders])} (one HTML page)")
    if tracker is not None:
        if tracker.broken:
            say(f"  MLflow: incomplete ({tracker.broken}); run `python -m search sync --name {tracker.search}` once it is back")
        else:
            say(f"  MLflow: {tracker.where()}")
