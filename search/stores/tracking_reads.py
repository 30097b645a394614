"""What is read back from MLflow: every trial run of the store, as leaderboard rows
(``rows.row``, the one row builder for Ray results and MLflow runs)."""

from __future__ import annotations

from . import rows
from .tracking import TAG


def leaderboard_rows(c) -> list[dict]:
    """One row per trial run in every experiment of the store (``rows.row``)."""
    from datetime import datetime, timezone

    from mlflow.entities import ViewType

    experiments = [e.experiment_id for e in c.search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    if not experiments:
        return []
    found, token = [], None
    while True:
        page = c.search_runs(experiments, f"tags.`{TAG}kind` = 'trial'", max_results=5000, page_token=token)
        for run in page:
            tags = run.data.tags
            test = tags.get(f"{TAG}test_accuracy")
            found.append(rows.row(
                search=tags.get(f"{TAG}search"), family=tags.get(f"{TAG}family", ""), trial_id=tags.get(f"{TAG}trial_id"),
                trial_status=tags.get(f"{TAG}status"), metrics=run.data.metrics, params=run.data.params,
                data=tags.get(f"{TAG}data"), node=tags.get(f"{TAG}node"),
                finished_at=datetime.fromtimestamp(run.info.end_time / 1000, timezone.utc).isoformat(timespec="seconds")
                if run.info.end_time else None,
                test_accuracy=float(test) if test else None, model=tags.get(f"{TAG}model"),
            ))
        token = page.token
        if not token:
            return found
