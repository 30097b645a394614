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
