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
(``end_fit``), and tells that apart from a person's signal. With two lanes it runs two
fits at once, one in a thread of its own: a person's signal stops both, each at its own
step.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class StopSignals:
    """Installed for a whole command (a context manager, main thread only)."""

    def __init__(self):
        self.received: int | None = None  # the first stop signal, if one came
        self.fits = 0  # Ray Tune's loops running (auto's two lanes: two), stopped gracefully (``end_fit``)
        self.fits_lock = threading.Lock()
        # when the first signal came (time.monotonic()): each of Ray Tune's loops running then
        # or started after is stopped by its ``GracefulStop`` once no trial's checkpoint is
        # still being recorded
        self.stop_pending: float | None = None
        self.previous: dict = {}

    @property
    def in_fit(self) -> bool:
        return self.fits > 0

    @contextlib.contextmanager
    def fitting(self):
        """Inside Ray Tune's loop: a first signal goes to it, rather than raising."""
        with self.fits_lock:
            self.fits += 1
        try:
            yield
        finally:
            with self.fits_lock:
                self.fits -= 1

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
        self.stop_pending = time.monotonic()
        if not self.in_fit:
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
    """Ray Tune's graceful stop of the fit this thread runs (its SIGUSR1 handler, installed
    by every ``Tuner.fit`` in the main thread; in another thread, the fit's own stop event):
    running trials stop, the experiment's state is saved."""
    from . import internals

    if not internals.stop_fit_in_this_thread():
        os.kill(os.getpid(), signal.SIGUSR1)


# The command's own (``installed``); a search reads it.
CURRENT = StopSignals()


def installed() -> StopSignals:
    """A fresh StopSignals for one command, as CURRENT."""
    global CURRENT
    CURRENT = StopSignals()
    return CURRENT
