"""What runs inside a trial, on any node: data, features, one module per model family.

Nothing here imports ``search``: a Ray worker that never saw the CLI must be able to
import every module of this package.
"""
