"""A person's stop (Ctrl-C, SIGTERM, SIGHUP) reaches Ray Tune's loop between its steps, once
no trial's checkpoint is still being recorded (``stopping.stop_now``; imports Ray: load
it lazily).

A trial's report and its checkpoint reach the experiment's state in two steps of Ray
Tune's loop: the report first (``result.json`` is written then), the checkpoint when the
trial's save comes back. The loop ends at the step its stop event is set, and a save in
flight then is lost.
"""

from __future__ import annotations

from ray.tune import Callback

from .. import stopping


class GracefulStop(Callback):
    """One fit's: ``auto``'s two lanes run two at once, and each stops its own."""

    def __init__(self):
        self.sent = False

    def __getstate__(self):  # pickled with the Tuner: a restored fit has a stop of its own to send
        return {"sent": False}

    def on_step_end(self, iteration, trials, **info):
        signals = stopping.CURRENT
        if not self.sent and signals.in_fit and stopping.stop_now(signals, any(t.is_saving for t in trials)):
            self.sent = True
            stopping.end_fit()
