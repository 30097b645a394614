"""Benchmarks against the peers: ``python -m bench`` (see ``__main__``)."""
