"""``python -m search auto``: prepare, the slices, the end.

Prepare: the run's name and folder, the data, Ray, the families this machine can train in
the budget (a budget that cannot hold the probes and the end is refused in one line),
their searches, and an MLflow run above them. Then the slices (``run.py``). The end: each
family's search concluded (its best exported), the leaderboard, the final choice
(``final.py``), the summary; ``--resume`` continues a run that was stopped.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from trainables.errors import FerSearchError

from ... import registry, stopping
from ...stores import autos, ensembles, models, tracking
from ...stores.files import check_writable
from ...text import fmt_duration
from .. import datasets, export, phases, priors
from ..options import Options
from ..budget import DEADLINE_FILE, SAFETY, Budget, learned_fixed_seconds, record_fixed_seconds
from . import final
from .allocator import Curve, noise_gain
from .lanes import DONE, DROPPED, FAILED, MAX_TRIALS, WAITING, Lane

# The options a resumed run keeps (they define what is searched).
KEPT = ("data", "val_fraction", "train_limit", "seed", "max_epochs", "families")
# A run's record says its families' trainables are named after them (``SearchSettings.trainable_name``).
NAMED_TRAINABLES = "trainables_named_by_family"
# The final choice's share of the reserve, per family: its export scored again with TTA's views.
FINAL_PER_EXPORT = 3.0
# A family not named in --families whose first unit would take more than this share of the
# budget is left out: it could get at most two units, and a network's first epochs are its
# weakest. In 15 minutes on the real data the cnn's first epoch took 6 min 49 s (val 0.39),
# the svm had 1 min 21 s and fitted no trial on all of train, and the final model scored
# 0.50 on test where the svm searched alone for 15 minutes scores 0.61.
MAX_PROBE_SHARE = 1 / 3


@dataclass
class Auto:
    args: Options
    name: str
    folder: Path
    data: object
    splits: object
    budget: Budget
    lanes: dict
    say: object = print
    state: dict = field(default_factory=dict)
    tracker: object = None
    started_ray: bool = False
    costs: final.FinalCosts = field(default_factory=lambda: final.FinalCosts({}, {}))  # the final choice's, learned
    # the families each lane runs at once (``two_lanes``): one lane, every family, on a machine without GPUs
    tracks: list = field(default_factory=list)
    record_lock: object = field(default_factory=threading.Lock)  # two lanes decide and save at once

    # -- the record
    def log_decision(self, family: str, unit: str, val, why: str) -> None:
        now = time.time()
        elapsed, left = now - self.args.started, self.budget.left(now)
        best = f"best val {val:.4f}" if val is not None else "no val yet"
        left_text = f", {fmt_duration(max(left, 0))} left ({fmt_duration(self.budget.reserve())} kept for the end)" \
            if left is not None else ""
        self.say(f"[auto] {fmt_duration(elapsed)}{left_text}: {family}, {unit}, {best}: {why}")
        self.state["decisions"].append({"elapsed": round(elapsed, 1), "left": None if left is None else round(left, 1),
                                        "family": family, "unit": unit, "val": val, "why": why})
        self.save()

    def save(self) -> None:
        # two lanes save from two threads; the JSON encoder (indented: pure Python) walks the
        # other lane's curve while it takes a report, so its epochs go as a copy
        with self.record_lock:
            self.state["lanes"] = {name: {"search": lane.args.name, "state": lane.state, "why": lane.why, "built": lane.built,
                                          "spent": round(lane.curve.spent, 1), "start": lane.curve.start,
                                          "reports": lane.curve.reports, "recent": lane.curve.recent,
                                          "settled_at": lane.curve.settled_at, "partial": lane.curve.partial,
                                          "improvements": lane.curve.improvements, "epochs": dict(lane.curve.epochs),
                                          "lead": lane.curve.lead, "trials": len(lane.trials),
                                          "trial_ids": sorted(lane.trials)}
                                   for name, lane in self.lanes.items()}
            autos.write(self.folder, self.state)

    def final_reserve(self, budget: Budget) -> float:
        """The final choice: each family's model loaded and scored on val and test again (a
        must, kept with the exports' safety), and with TTA's other views. Both are priced
        from what the budget foretells of that scoring (``scoring_seconds``) by what the
        final choices in this results folder measured (``final.FinalCosts``). TTA is priced
        as the end judges it (``final.TTA_MARGIN``): it times its plain pass and leaves TTA
        out where the views would not fit, so a larger safety there would only hold back work."""
        n_scored = sum(budget.faces.values())
        reserved = 0.0
        for name, lane in self.lanes.items():
            if lane.state == FAILED:  # no export to score
                continue
            scoring = budget.scoring_seconds(name)
            if not scoring:
                reserved += priors.end_seconds(name, n_scored)
                continue
            plain = self.costs.plain(name, scoring)
            reserved += SAFETY * plain + (0.0 if self.args.no_tta else final.TTA_MARGIN * self.costs.views(name, plain))
        return reserved


def run(args, say=print) -> int:
    args = Options.of(args)
    auto = prepare(args, say)
    from .run import Slices, loop_in_lanes

    ended = None
    try:
        start_tracking(auto)
        costs = probe_costs(auto)
        loop_in_lanes([Slices(auto.lanes, auto.budget, args.time_budget, costs, say, auto.log_decision, track=names)
                       for names in auto.tracks or [list(auto.lanes)]])
        ended = time.monotonic()
        return conclude(auto)
    except BaseException as e:
        if auto.tracker:
            auto.tracker.end_search("KILLED" if isinstance(e, KeyboardInterrupt) else "FAILED")
        if isinstance(e, KeyboardInterrupt):
            say(f"interrupted; continue with: {resume_command(auto)}")
        raise
    finally:
        auto.save()
        if auto.started_ray:
            import ray

            ray.shutdown()
        budget = auto.budget
        if ended is not None and budget.last_result is not None:  # what the end cost beyond what was foreseen, per family
            record_fixed_seconds(Path(args.results_dir),
                                 (time.time() - budget.last_result - budget.variable_seconds()) / max(len(auto.lanes), 1))


# -- prepare
def prepare(args, say) -> Auto:
    args = Options.of(args)
    results_dir = Path(args.results_dir)
    check_writable(("--results-dir", results_dir), ("--models-dir", Path(args.models_dir)))
    earlier = autos.read(autos.find(results_dir, args.name)) if args.resume else None
    if earlier:
        hold_to(args, earlier)
    name = earlier["search"] if earlier else args.name or f"auto-{datetime.now():%Y%m%d-%H%M%S}"
    folder = results_dir / name
    if earlier is None and folder.exists():
        raise FerSearchError(f"{results_dir} already holds a run named '{name}'", hint="choose another --name, or --resume it")
    uri = None if args.no_tracking else tracking.resolve_uri(args.tracking_uri, results_dir)
    if uri and tracking.is_remote(uri):
        tracking.client(uri)  # an unreachable server stops us here, before any work
    data, splits = datasets.load(args.data, args.val_fraction, args.train_limit, args.cache_dir,
                                 need=("train", "val", "test"), say=say)
    faces = {s: len(splits.index[s]) for s in ("val", "test")}
    budget = Budget.of(args.started, args.time_budget, faces, learned_fixed_seconds(results_dir))
    started_ray, families, cpus, gpus = ray_and_families(args, budget, splits, say)
    start, least_gain = majority_share(splits.y("val")), noise_gain(faces["val"])
    tracks, classical_cpus = two_lanes(families, cpus, gpus, args.gpus_per_trial, say, earlier)
    lanes = {f.name: Lane(f, family_args(args, f, name, cpus, gpus, resume=bool(earlier and lane_built(earlier, f.name)),
                                         cpus_cap=None if f.is_network else classical_cpus),
                          curve=Curve(start=start, min_gain=least_gain, trend=f.is_network)) for f in families}
    state = earlier or {"kind": "auto", "search": name, "families": [f.name for f in families],
                        "options": {k: getattr(args, k, None) for k in KEPT}, "runs": [], "decisions": [],
                        NAMED_TRAINABLES: True}
    state["runs"].append({"started": datetime.fromtimestamp(args.started).isoformat(timespec="seconds"),
                          "budget_seconds": args.time_budget, "command": " ".join(["python", "-m", "search", *args.argv])})
    auto = Auto(args, name, folder, data, splits, budget, lanes, say, state, started_ray=started_ray,
                costs=final.FinalCosts.learned(results_dir, lanes), tracks=tracks)
    if earlier:
        restore_lanes(auto, earlier)
    budget.fixed_seconds *= max(len(lanes), 1)  # each family's search ends with its own MLflow writes
    budget.extra_reserve = auto.final_reserve
    budget.published = folder / DEADLINE_FILE  # one clock: every family's trials read it
    say(f"auto {name}: {', '.join(lanes)} on {data.source} (train {len(splits.index['train'])}, val {faces['val']}, "
        f"test {faces['test']}), {fmt_duration(args.time_budget)} from start to exit")
    said = set()  # each family's search says what it found of the data: once is enough

    def once(text: str) -> None:
        if not text.startswith("data: ") or text not in said:
            said.add(text)
            say(text)
    for lane in lanes.values():
        lane.prepare(once)
        lane.search.budget = budget
        export.warm_end_imports(lane.search.model_format, tracked=lane.search.tracking_uri is not None)
    auto.save()
    return auto


def ray_and_families(args, budget: Budget, splits, say) -> tuple:
    """Ray started or joined, and the families this machine can train in the budget
    (started_ray, families, cpus, gpus)."""
    from .. import tuner as tuning

    started_ray = tuning.start_ray(args.verbose, args.address, tuning.classical_worker_env())
    try:
        tuning.check_storage(args.storage)
        cpus, gpus = tuning.cluster_cpus(), tuning.gpus_in_cluster()
        n_scored = len(splits.index["val"]) + len(splits.index["test"])
        candidates = choose_families(args, gpus, say)
        tracks, _ = lane_split(candidates, cpus, gpus, args.gpus_per_trial)
        families = affordable(candidates, budget, args.started, len(splits.index["train"]), n_scored,
                              cpus, gpus, say, named=bool(args.families), tracks=tracks)
    except BaseException:
        if started_ray:
            import ray

            ray.shutdown()
        raise
    return started_ray, families, cpus, gpus


def hold_to(args, earlier: dict) -> None:
    """A resumed run is the same run: its data, seed and families; another value is refused."""
    given, recorded = set(args.argv), earlier["options"]
    for option in KEPT:
        flag = "--" + option.replace("_", "-")
        value = getattr(args, option, None)
        if flag in given and value != recorded.get(option):
            raise FerSearchError(f"--resume: {flag} {value} differs from the run's {recorded.get(option)}",
                                 hint=f"leave {flag} out, or start a new run")
        setattr(args, option, recorded.get(option))
    args.name = earlier["search"]


def lane_built(earlier: dict, family: str) -> bool:
    return bool(earlier.get("lanes", {}).get(family, {}).get("built"))


def restore_lanes(auto: Auto, earlier: dict) -> None:
    for name, lane in auto.lanes.items():
        saved = earlier.get("lanes", {}).get(name)
        if not saved:
            continue
        lane.curve = Curve(start=saved["start"], improvements=[tuple(p) for p in saved["improvements"]], spent=saved["spent"],
                           min_gain=lane.curve.min_gain, reports=saved.get("reports", len(saved["improvements"])),
                           recent=saved.get("recent", []), settled_at=saved.get("settled_at", 0.0),
                           partial=saved.get("partial", False), trend=lane.curve.trend,
                           epochs=saved.get("epochs", {}), lead=saved.get("lead"))
        # a family dropped or failed stays so; one that ran out of time may go on with the new budget
        lane.state = saved["state"] if saved["state"] in (DROPPED, FAILED) else WAITING
        lane.why = saved.get("why", "")
        lane.paused = saved.get("state") not in (DONE, DROPPED, FAILED)
        lane.trials = set(saved.get("trial_ids", []))


def choose_families(args, gpus: float, say) -> list:
    if args.families:
        names = [n.strip() for n in str(args.families).split(",") if n.strip()]
        return [registry.get(n) for n in dict.fromkeys(names)]
    families = list(registry.FAMILIES.values())
    if gpus >= 1:
        return families
    left_out = [f.name for f in families if f.pretrained]
    if left_out:
        say(f"auto: no GPU: {' and '.join(left_out)} left out (name them in --families to search them on the CPU)")
    return [f for f in families if not f.pretrained]


def affordable(families: list, budget: Budget, started: float, n_train: int, n_scored: int, cpus: float, gpus: float,
               say, named: bool = False, tracks: list | None = None) -> list:
    """The families whose probe and end fit in the budget with the cheaper ones', cheapest
    first; a budget that holds none is refused. Unless the user ``named`` them, a family
    whose probe alone would take over ``MAX_PROBE_SHARE`` of the budget is left out too
    (the cheapest family always stays). ``tracks``: the families each lane runs
    (``lane_split``); the lanes' probes run at once, each lane's one after another, and
    the ends one after another (one lane, every family, where it is not given)."""
    if budget.deadline is None:
        return families
    network_cpus = cpus if not gpus else 1
    cost = {f.name: priors.probe_seconds(f.name, n_train, network_cpus if f.is_network else 1, gpus if f.is_network else 0)
            for f in families}
    end = {f.name: priors.end_seconds(f.name, n_scored) for f in families}
    room = budget.left() - priors.STARTUP_SECONDS - budget.fixed_seconds
    track_of = {name: i for i, names in enumerate(tracks or [[f.name for f in families]]) for name in names}
    probing = dict.fromkeys(track_of.values(), 0.0)  # each lane's probes, one after another
    kept, ends = [], 0.0

    def with_it(f) -> float:  # the probes and the ends, were f kept too
        lane = track_of[f.name]
        probes = max(probing[t] + (cost[f.name] if t == lane else 0.0) for t in probing)
        return probes + ends + end[f.name] * (1 + FINAL_PER_EXPORT)
    for f in sorted(families, key=lambda f: cost[f.name]):
        if kept and not named and cost[f.name] > MAX_PROBE_SHARE * room:
            say(f"auto: {f.name} left out: its first {'epoch' if f.is_network else 'unit'} (~{fmt_duration(cost[f.name])} here) "
                f"is over a third of the budget (name it in --families to search it anyway)")
        elif with_it(f) <= room:
            kept.append(f)
            probing[track_of[f.name]] += cost[f.name]
            ends += end[f.name] * (1 + FINAL_PER_EXPORT)
        else:
            say(f"auto: {f.name} left out: its probe (~{fmt_duration(cost[f.name])} here) and its end do not fit "
                f"in the budget with the cheaper families'")
    if not kept:
        cheapest = min(families, key=lambda f: cost[f.name])
        least = priors.STARTUP_SECONDS + budget.fixed_seconds + cost[cheapest.name] + end[cheapest.name] * (1 + FINAL_PER_EXPORT)
        raise FerSearchError(f"--time-budget {fmt_duration(budget.deadline - started)}: too short here for even "
                             f"{cheapest.name}'s probe and the end of the run (about {fmt_duration(least)} together)",
                             hint=f"give at least {fmt_duration(60 * np.ceil(least * 1.2 / 60))}")
    return [f for f in families if f in kept]


def majority_share(y) -> float:
    """What knowing nothing scores on val: the share of its most common class."""
    y = np.asarray(y)
    return float(np.bincount(y).max() / len(y)) if len(y) else 0.0


def lane_split(families: list, cpus: float, gpus: float, gpus_per_trial: float | None) -> tuple[list, float | None]:
    """The families each lane runs at once, and the CPUs the classical lane's trials may
    hold. Where the cluster has GPUs, the networks train on them while the classical
    families' trials use the CPUs the network trials leave: two lanes on one clock, each
    with its own slices (``run.loop_in_lanes``). Elsewhere one lane: a network trial on a
    CPU takes every core, and the families take turns."""
    names = [f.name for f in families]
    networks = [f for f in families if f.is_network]
    classical = [f.name for f in families if not f.is_network]
    if gpus < 1 or not networks or not classical:
        return [names], None
    per_trial = gpus_per_trial or 1.0  # a network trial's GPUs, as its search asks (``phases.settings``)
    held = max(f.cpus_per_trial for f in networks) * max(1, int(gpus // per_trial))
    left = int(cpus - held)
    if left < 1:
        return [names], None
    return [[f.name for f in networks], classical], float(left)


def two_lanes(families: list, cpus: float, gpus: float, gpus_per_trial: float | None, say,
              earlier: dict | None = None) -> tuple[list, float | None]:
    """``lane_split``, said in one line where the cluster has GPUs. A run resumed from a
    version whose families' trainables were all ``train`` (``earlier``, its record) goes on
    in one lane: Ray keeps one trainable per name in a driver, so two lanes' fits at once
    would run one family's code for the other's trials."""
    tracks, left = lane_split(families, cpus, gpus, gpus_per_trial)
    if len(tracks) == 1:
        if gpus >= 1 and len({f.is_network for f in families}) == 2:
            say(f"auto: one lane: the network trials on the {gpus:g} GPUs hold all {cpus:g} CPUs")
        return tracks, left
    if earlier is not None and not earlier.get(NAMED_TRAINABLES):
        say("auto: one lane: this run was started by an older version, whose families' trainables share one name "
            "(two lanes need one each)")
        return [[f.name for f in families]], None
    networks, classical = tracks
    on = "the GPU" if gpus == 1 else f"the {gpus:g} GPUs"
    say(f"auto: two lanes at once: {' and '.join(networks)} on {on}, {' and '.join(classical)} on {left:g} of the "
        f"{cpus:g} CPUs")
    return tracks, left


def family_args(args, family, name: str, cpus: float, gpus: float, resume: bool, cpus_cap: float | None = None):
    """The family search's own command line, parsed by the CLI's parser (so it has every
    option a family search has, with its defaults); ``cpus_cap``: the CPUs its trials may
    hold at once (``two_lanes``)."""
    from ...cli import build_parser

    argv = [family.name, "--name", f"{name}-{family.name}", "--trials", str(MAX_TRIALS), "--seed", str(args.seed),
            "--results-dir", str(args.results_dir), "--models-dir", str(args.models_dir), "--warm-start", "3",
            "--max-failures", str(args.max_failures)]
    for option in ("data", "val_fraction", "cache_dir", "train_limit", "tracking_uri", "experiment", "address", "storage",
                   "gpus_per_trial"):
        value = getattr(args, option, None)
        if value is not None:
            argv += ["--" + option.replace("_", "-"), str(value)]
    for flag in ("no_tracking", "verbose"):
        if getattr(args, flag, False):
            argv.append("--" + flag.replace("_", "-"))
    if family.is_network:
        argv += ["--max-epochs", str(args.max_epochs), "--precision", args.precision]
        if args.backend:
            argv += ["--backend", args.backend]
        if not gpus:  # on a CPU a network trial takes every core: the families take turns
            argv += ["--cpus-per-trial", str(max(1, int(cpus)))]
        if family.pretrained:
            argv += ["--weights", args.weights]
    if resume:
        argv.append("--resume")
    parsed = build_parser().parse_args(argv)
    parsed.argv, parsed.started, parsed.auto, parsed.cpus_cap = argv, args.started, name, cpus_cap
    return Options.of(parsed)


def probe_costs(auto: Auto) -> dict:
    from .. import tuner as tuning

    cpus, gpus = tuning.cluster_cpus(), tuning.gpus_in_cluster()
    n_train = len(auto.splits.index["train"])
    return {name: priors.probe_seconds(name, n_train, (cpus if not gpus else 1) if lane.family.is_network else 1,
                                       gpus if lane.family.is_network else 0)
            for name, lane in auto.lanes.items()}


def start_tracking(auto: Auto) -> None:
    uri = None if auto.args.no_tracking else tracking.resolve_uri(auto.args.tracking_uri, Path(auto.args.results_dir))
    if not uri:
        return
    experiment = auto.args.experiment or tracking.default_experiment(auto.data.source)
    auto.tracker = tracking.Tracker(uri, experiment, auto.name, "auto", auto.data.fingerprint, Path(auto.args.results_dir),
                                    auto.say)
    auto.tracker.start_search({"families": ",".join(auto.lanes), "time_budget_s": auto.args.time_budget,
                               "seed": auto.args.seed, "data_source": auto.data.source}, None, found_by="--resume" if auto.args.resume else None)
    for lane in auto.lanes.values():
        lane.search.parent_run = auto.tracker.parent_id


def resume_command(auto: Auto) -> str:
    extra = [] if auto.args.results_dir == "results" else ["--results-dir", str(auto.args.results_dir)]
    return " ".join(["python", "-m", "search", "auto", "--resume", "--name", auto.name, *extra, "--time-budget", "T"])


# -- the end
def conclude(auto: Auto) -> int:
    """Each family's best exported, the leaderboard, the final choice, the summary."""
    say, interrupted = auto.say, stopping.CURRENT.received is not None
    from ..tuner import InterruptWatch

    outcomes = {}
    with InterruptWatch(auto.args.verbose):  # Ray's lines about trials a pause left unstarted
        for name, lane in auto.lanes.items():
            if lane.search is None or lane.results is None:
                continue
            lane.search.interrupted = lane.paused or interrupted  # paused trials stay resumable
            outcomes[name] = phases.settle(lane.search, lane.results, board=False)
    if outcomes:
        first = next(iter(outcomes))
        phases.write_leaderboard(auto.lanes[first].search, [r for o in outcomes.values() for r in o.rows])
    found = {name: (Path(o.card["model_file"]), o.card) for name, o in outcomes.items() if o.card is not None}
    # a family whose slices never came back in a resumed run: what it exported before stands
    found.update({name: earlier for name, lane in auto.lanes.items() if name not in outcomes
                  and (earlier := earlier_export(lane, say)) is not None})
    exported = [(name, path) for name, (path, _) in found.items()]
    # stopped by a person: the final choice without TTA's ten views (minutes on a CPU)
    manifest = final.choose(exported, auto.splits, auto.args.seed, not auto.args.no_tta and not interrupted,
                            lambda seconds: auto.budget.left() is None or auto.budget.left() - auto.budget.fixed_seconds > seconds * final.TTA_MARGIN,
                            say, auto.costs) if exported else None
    if manifest:  # the next run in this results folder prices its final choice by this one's
        final.record_costs(Path(auto.args.results_dir), manifest["choice"]["seconds"], auto.budget.scoring_seconds)
    path = final.write(Path(auto.args.models_dir) / final.FILE, {**manifest, "auto": auto.name}) if manifest else None
    auto.state["final"] = manifest and {**manifest, "file": str(path)}
    summarize(auto, {name: card for name, (_, card) in found.items()}, manifest, path)
    if auto.tracker:
        auto.tracker.finish_auto(manifest, auto.state, path, status="KILLED" if interrupted else "FINISHED")
    if interrupted:
        say(f"interrupted: continue with {resume_command(auto)}")
        return stopping.CURRENT.exit_status
    return 0 if manifest else 1


def earlier_export(lane, say) -> tuple[Path, dict] | None:
    """(model file, card) of the model this run's search of ``lane``'s family exported in an
    earlier session of the run, if it is still the family's export. A resumed run whose
    slices never came back to a family concludes no search of it; without this, the final
    choice lost that family's model (measured: a resumed run ended with its cnn alone at
    val 0.17, where the run it resumed had exported an svm at 0.65)."""
    search = lane.search
    if search is None:
        return None
    path = models.export_path(search.args.models_dir, lane.family)
    try:
        card = models.read_card(path)
    except FerSearchError as e:  # the final choice goes on without it
        say(f"warning: {lane.name}'s earlier export left out: {e}")
        return None
    return (path, card) if card is not None and card.get("search") == lane.args.name else None


def summarize(auto: Auto, cards: dict, manifest: dict | None, path: Path | None) -> None:
    say = auto.say
    rows = [("family", "state", "time", "trials", "best val", "test")]
    for name, lane in auto.lanes.items():
        card = cards.get(name)
        val = card["metrics"]["val"]["accuracy"] if card else lane.curve.best
        test = card["metrics"].get("test", {}).get("accuracy") if card else None
        rows.append((name, lane.shown_state, fmt_duration(lane.curve.spent), str(len(lane.trials)),
                     f"{val:.4f}" if val is not None else "-", f"{test:.4f}" if test is not None else "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    say("\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)) for r in rows))
    if manifest:
        choice = manifest["choice"]
        best_member = max(choice["candidates"], key=lambda c: c["val"])
        members = ", ".join(f"{m['family']} {m['weight']:.2f}" for m in manifest["members"])
        test = manifest["metrics"]["test"]["accuracy"]
        gain = "" if test is None or best_member["test"] is None else \
            f", {test - best_member['test']:+.4f} on test over its best member ({best_member['family']})"
        say(f"final: {choice['method']}{ensembles.tta_label(manifest)} of {members}: val "
            f"{manifest['metrics']['val']['accuracy']:.4f}, test {test:.4f}{gain}" if test is not None else
            f"final: {choice['method']} of {members}: val {manifest['metrics']['val']['accuracy']:.4f}")
        say(f"  model: {path} (python -m search evaluate {path}; python -m search predict {path} PHOTOS)")
    used = time.time() - auto.args.started
    say(f"time: {fmt_duration(used)} of the {fmt_duration(auto.args.time_budget)} budget"
        f" ({used / auto.args.time_budget:.1%})")
