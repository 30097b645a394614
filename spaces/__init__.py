"""One module per model family: its search space, its defaults, its fidelity.

Each module defines
- ``space(trial)``: an Optuna define-by-run function (module level, so a restored search
  can unpickle it by name); conditional parameters are suggested only where they mean
  something;
- ``DEFAULTS``: a known-good configuration, evaluated as the search's first trial;
- ``FIDELITY``: a ``fidelity.Fidelity``: what ASHA counts (``attr``), its rungs and
  reduction factor.

Nothing of ours is imported here.
"""
