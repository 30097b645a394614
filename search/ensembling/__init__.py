"""The ensembling room: seven probabilities from any exported model (an SVC's calibrated
on val), soft votes with test-time augmentation, and the choice among single models and
ensembles on held-out halves of val. Plain functions over models and arrays: what is
stored (manifests, cards) lives in ``stores``.
"""
