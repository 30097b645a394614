"""FER2013's emotion labels, in the challenge's index order (not alphabetical)."""

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES = len(EMOTIONS)

# Training-split class counts of the real FER2013; the demo set copies this imbalance.
FER2013_TRAIN_COUNTS = (3995, 436, 4097, 7215, 4830, 3171, 4965)

_INDEX = {name: i for i, name in enumerate(EMOTIONS)}


def label_of_folder(name: str) -> int | None:
    """The label index of an emotion folder name ('Happy', 'happy', ' HAPPY'), or None."""
    return _INDEX.get(name.strip().lower())
