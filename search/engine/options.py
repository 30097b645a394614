"""What a search or an ``auto`` run was asked, below the commands: one typed field per
option, made once from the parsed command line (``Options.of``), so the engine reads
declared fields rather than whatever an ``argparse.Namespace`` happens to hold.

A field that a command does not offer keeps its default here (an svm search has no
``max_epochs``; a family search no ``families``). ``--resume`` sets the recorded options
back on it (``resume.hold_to``): the fields are plain and writable.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path


@dataclass
class Options:
    command: str  # the family searched, or "auto"
    started: float  # time.time() when the command started: a --time-budget counts from here
    argv: list[str] = field(default_factory=list)  # the command line (model cards record it)
    # the data
    data: str | None = None  # a zip, folder or CSV, demo:N; None: found in data/, else the demo set
    val_fraction: float | None = None
    cache_dir: Path | None = None
    train_limit: int | None = None
    # the search
    name: str | None = None
    seed: int = 0
    trials: int | None = None
    time_budget: float | None = None  # seconds, start to exit
    searcher: str = "tpe"
    scheduler: str = "asha"
    fix: list[str] | None = None  # NAME=VALUE, held at one value
    warm_start: int | None = None  # the K best configurations of earlier searches, evaluated first
    resume: bool = False
    retry_failed: bool = False
    # where it runs
    cpus_per_trial: float | None = None
    gpus_per_trial: float | None = None
    address: str | None = None  # a Ray cluster to join
    storage: str | None = None  # experiment storage every node reaches
    max_failures: int = 1
    # the networks
    max_epochs: int | None = None
    weights: str | None = None
    precision: str = "auto"
    backend: str | None = None
    # what stays
    results_dir: Path = Path("results")
    models_dir: Path = Path("models")
    tracking_uri: str | None = None
    experiment: str | None = None
    no_tracking: bool = False
    verbose: bool = False
    # auto
    auto: str | None = None  # the auto run a family search belongs to
    families: str | None = None  # auto's families, comma-separated
    cpus_cap: float | None = None  # auto's second lane: the CPUs its classical trials may hold at once
    no_tta: bool = False

    @classmethod
    def of(cls, parsed) -> Options:
        """From the CLI's parsed arguments (an ``argparse.Namespace``), or an Options as is."""
        if isinstance(parsed, cls):
            return parsed
        given = {f.name: getattr(parsed, f.name) for f in fields(cls) if hasattr(parsed, f.name)}
        for folder in ("results_dir", "models_dir"):
            if given.get(folder) is not None:
                given[folder] = Path(given[folder])
        return cls(**given)
