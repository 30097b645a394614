"""What ASHA counts for a family: a small frozen record instead of a loose dict."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class Fidelity:
    attr: str  # the reported metric that grows: "train_fraction", "epoch"
    rungs: tuple  # where ASHA compares trials; the last is full fidelity
    reduction_factor: int = 3

    @property
    def max(self):
        return self.rungs[-1]

    @property
    def grace(self):
        return self.rungs[0]

    def up_to(self, max_value) -> Fidelity:
        """The same fidelity ending at ``max_value`` (--max-epochs)."""
        return replace(self, rungs=(self.rungs[0], max_value))

    def as_dict(self) -> dict:
        return {**asdict(self), "rungs": list(self.rungs)}

    @classmethod
    def from_dict(cls, d: dict) -> Fidelity:
        return cls(d["attr"], tuple(d["rungs"]), int(d.get("reduction_factor", 3)))
