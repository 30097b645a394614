"""The driver: ``python -m search``. CLI, family registry, Ray Tune search, MLflow-free
bookkeeping (leaderboard, export, evaluate).

Heavy libraries (Ray, scikit-learn, TensorFlow) are imported where they are needed, so
``python -m search --help`` answers at once.
"""
