"""Short human forms of durations and configurations."""


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
