"""A trial's final status, one name each: finished, stopped (early, by the scheduler), failed."""

FINISHED, STOPPED, FAILED = "finished", "stopped", "failed"
ENDED = (FINISHED, STOPPED, FAILED)


def of(last_result: dict | None, error, fidelity_attr: str, max_fidelity: float) -> str:
    if error is not None or not last_result or "val_accuracy" not in last_result:
        return FAILED
    reached = last_result.get(fidelity_attr)
    if reached is not None and reached < max_fidelity:
        return STOPPED
    return FINISHED
