"""The driver: ``python -m search``. Three rooms: ``commands/`` (one module per command),
``engine/`` (a family search in phases: tuner, progress, export), ``stores/`` (MLflow,
the leaderboard, exported models, experiment folders); beside them the registry of
families, the trial statuses, the process environment and the CLI.

Heavy libraries (Ray, scikit-learn, TensorFlow) are imported where they are needed, so
``python -m search --help`` answers at once.
"""
