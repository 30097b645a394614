"""A trial's final status, one name each: finished, stopped (early, by the scheduler), failed."""

FINISHED, STOPPED, FAILED = "finished", "stopped", "failed"
ENDED = (FINISHED, STOPPED, FAILED)


def of(last_result: dict | None, error, fidelity) -> str:
    """From a trial's last report, its error, and its family's ``Fidelity``."""
    if error is not None or not last_result or "val_accuracy" not in last_result:
        return FAILED
    reached = last_result.get(fidelity.attr)
    if reached is not None and reached < fidelity.max:
        return STOPPED
    return FINISHED
