"""Short human forms of durations, configurations and errors."""

import re


def fmt_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def fmt_config(config: dict, limit: int = 6) -> str:
    def one(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)

    items = [f"{k}={one(v)}" for k, v in config.items()]
    return " ".join(items[:limit]) + (" ..." if len(items) > limit else "")


def error_line(text: str, limit: int = 300) -> str:
    """One line for a trial's error text (a traceback, or Ray's account of a dead worker):
    its last ``SomeError: message`` line, module prefix dropped, else its last line."""
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    named = [m for m in (re.match(r"^(?:\w+\.)*(\w+(?:Error|Exception)): ?(.*)$", line) for line in lines) if m]
    one = f"{named[-1].group(1)}: {named[-1].group(2)}" if named else (lines[-1] if lines else "")
    return one[:limit]


def first_line(e: Exception) -> str:
    """An exception in one short line: its type and the first line of its message."""
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:200]}" if text else type(e).__name__
