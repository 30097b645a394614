"""A trial's final status, one name each: finished, stopped (early, by the scheduler),
failed, interrupted (the search was, by Ctrl-C or a crash: ``--resume`` continues it)."""

FINISHED, STOPPED, FAILED, INTERRUPTED = "finished", "stopped", "failed", "interrupted"
ENDED = (FINISHED, STOPPED, FAILED, INTERRUPTED)


def of(last_result: dict | None, error, fidelity) -> str:
    """From a trial's last report, its error, and its family's ``Fidelity``."""
    if error is not None or not last_result or "val_accuracy" not in last_result:
        return FAILED
    reached = last_result.get(fidelity.attr)
    if reached is not None and reached < fidelity.max:
        return STOPPED
    return FINISHED


def error_text(trial) -> str | None:
    """A Ray trial's error: its error file's text (the traceback), else Ray's own account."""
    from pathlib import Path

    path = getattr(trial, "error_file", None)
    try:
        return Path(path).read_text() if path and Path(path).exists() else (str(trial.get_error()) if trial.get_error() else None)
    except Exception:
        return None
