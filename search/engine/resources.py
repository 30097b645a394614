"""What each trial asks Ray for.

A classical search's first points (the space's measured defaults, and the earlier best
configurations --warm-start brings) run one after another on every CPU of a node; the
trials Optuna proposes after them run at --cpus-per-trial, side by side. Measured on
the real FER2013 (2 cores): the svm defaults' fit on all of train (51,676 faces with
their mirrored copies) took 238 s on one thread and 127 s on two. The CPU-seconds are
nearly the same, but the strongest configuration known before the search lands in half
the time, and ASHA measures every later trial against it.

Where the command names no --cpus-per-trial and asks for fewer trials than the family's
default leaves room for, each trial gets a share of the CPUs instead (``shared_cpus``):
``cnn --trials 1`` on a 2-core machine trained on one thread beside an idle core.
"""

from __future__ import annotations

from trainables.classical import is_first_point


def node_cpus() -> float:
    """The CPUs of the largest live node of the Ray cluster: a trial asking for more
    would never be placed."""
    import ray

    return max((n["Resources"].get("CPU", 0.0) for n in ray.nodes() if n.get("Alive")), default=1.0)


def shared_cpus(least: int, trials: int | None, cluster_cpus: float, largest_node_cpus: float) -> int:
    """A trial's CPUs where the command named none: ``least`` (the family's default), or
    the cluster's CPUs shared among ``trials`` where that is more, no more than its
    largest node holds (a trial runs on one node)."""
    share = int(min(cluster_cpus // max(1, trials or 1), largest_node_cpus))
    return max(int(least), share)


class TrialResources:
    """Ray Tune's per-trial resource request (``tune.with_resources`` calls it with the
    trial's config): the first points get ``first_cpus``, every other trial ``cpus``."""

    def __init__(self, cpus: float, first_cpus: float, first_points: list[dict]):
        self.cpus, self.first_cpus, self.first_points = cpus, max(cpus, first_cpus), first_points

    def cpus_for(self, config: dict) -> float:
        return self.first_cpus if is_first_point(config, self.first_points) else self.cpus

    def __call__(self, config: dict):
        from ray.tune import PlacementGroupFactory

        return PlacementGroupFactory([{"CPU": self.cpus_for(config)}])

