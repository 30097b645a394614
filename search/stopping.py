"""Every way a person stops a run ends it as Ctrl-C does: SIGINT (Ctrl-C), SIGTERM (`kill`,
`timeout`, Docker, Slurm, systemd) and SIGHUP (a closed terminal).

The first such signal stops the running trials (Ray Tune's own graceful stop, which it
also takes from SIGUSR1: the experiment's state is saved), at the first step of Ray Tune's
loop where no trial's checkpoint is still being recorded (``engine/graceful_stop.py``),
and the search concludes with
what it has, then prints how to resume; a second stops at once. Outside Ray Tune's loop
(loading data, exporting) the first raises ``KeyboardInterrupt``, which the CLI turns
into a resumable stop. The exit status is 128 + the signal's number (130, 143, 129).

``auto`` ends a family's time slice the same way once its trials are paused
(``end_fit``), and tells that apart from a person's signal.
"""

from __future__ import annotations

import os
import signal
import threading
import time

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class StopSignals:
    """Installed for a whole command (a context manager, main thread only)."""

    def __init__(self):
        self.received: int | None = None  # the first stop signal, if one came
        self.in_fit = False  # inside Ray Tune's loop, whose SIGUSR1 handler stops it gracefully
        # when the first signal came inside Ray Tune's loop (time.monotonic()): the loop is
        # stopped by ``GracefulStop`` once no trial's checkpoint is still being recorded
        self.stop_pending: float | None = None
        self.previous: dict = {}

    @property
    def exit_status(self) -> int:
        return 128 + (self.received or signal.SIGINT)

    @property
    def name(self) -> str:
        return signal.Signals(self.received or signal.SIGINT).name

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            # Ray Tune would take SIGINT over at each fit; it keeps SIGUSR1, through which
            # the first signal reaches it from here
            os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"
            for sig in STOP_SIGNALS:
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        return False

    def reinstall(self) -> None:
        """Take the signals back from native code that installed its own handlers below
        Python (Ray's driver at ``ray.init``, absl's failure handler: a stack dump and death
        on SIGTERM). Python's own record still names our handler then, so it is set again
        whatever ``signal.getsignal`` says."""
        if self.previous and threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                signal.signal(sig, self._handle)

    def _handle(self, signum, frame):
        if self.received is not None:
            raise KeyboardInterrupt  # a second signal: at once
        self.received = signum
        if self.in_fit:
            self.stop_pending = time.monotonic()
        else:
            raise KeyboardInterrupt


# The longest a stop waits for trials' checkpoints to be recorded (their saves are
# milliseconds: the checkpoint is already written when its report arrives).
SAVE_WAIT_S = 30.0


def stop_now(signals: StopSignals, saving: bool) -> bool:
    """Whether a stop that a signal asked for inside Ray Tune's loop goes to Ray Tune now:
    not while a trial's last checkpoint is still being recorded (``saving``), unless that
    takes longer than SAVE_WAIT_S. Ray Tune's loop ends at the step its stop event is set,
    and a save still in flight is lost: the trial's newest report then has no checkpoint
    in the experiment's state, so the export finds none and ``--resume`` reruns the epoch."""
    if signals.stop_pending is None:
        return False
    return not saving or time.monotonic() - signals.stop_pending > SAVE_WAIT_S


def end_fit() -> None:
    """Ray Tune's graceful stop of the running fit (its SIGUSR1 handler, installed by every
    ``Tuner.fit``): running trials stop, the experiment's state is saved."""
    os.kill(os.getpid(), signal.SIGUSR1)


# The command's own (``installed``); a search reads it.
CURRENT = StopSignals()


def installed() -> StopSignals:
    """A fresh StopSignals for one command, as CURRENT."""
    global CURRENT
    CURRENT = StopSignals()
    return CURRENT
