"""The figures a search logs to MLflow and its report shows: the test confusion matrix,
and Optuna's plots of a study rebuilt from the finished trials. (Matplotlib, headless.)"""

from __future__ import annotations

import sys

from ..text import first_line


def confusion_figure(matrix):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from trainables.labels import EMOTIONS

    m = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(EMOTIONS)), EMOTIONS, rotation=45, ha="right")
    ax.set_yticks(range(len(EMOTIONS)), EMOTIONS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, int(m[i, j]), ha="center", va="center", color="white" if m[i, j] > m.max() / 2 else "black", fontsize=8)
    ax.set_title("test confusion matrix")
    fig.tight_layout()
    return fig


OPTUNA_PLOTS = ("optimization_history", "param_importances")


def optuna_figures(space_module, rows: list[dict], plots: tuple[str, ...] = OPTUNA_PLOTS):
    """Optuna's plots (``optuna.visualization.matplotlib.plot_<name>``), by default its
    optimisation history and parameter importances.

    The study is rebuilt from the finished trials by replaying the family's own
    define-by-run space on each trial's parameters, so Optuna knows every distribution.
    """
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import optuna
    from optuna.visualization import matplotlib as ov

    scored = [r for r in rows if r.get("val_accuracy") is not None and r.get("_config")]
    if space_module is None or len(scored) < 2:
        return []
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    for r in scored:
        study.enqueue_trial(r["_config"], skip_if_exists=False)
    values = iter(float(r["val_accuracy"]) for r in scored)

    def replay(trial):
        space_module.space(trial)
        return next(values)

    study.optimize(replay, n_trials=len(scored))
    figures = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the matplotlib backend is flagged experimental
        for name in plots:
            try:
                figures.append((name, getattr(ov, f"plot_{name}")(study).figure))
            except Exception as e:  # importances need variety among the parameters
                print(f"note: no Optuna {name.replace('_', ' ')} plot ({first_line(e)})", file=sys.stderr)
    return figures
