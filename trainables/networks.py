"""The network families' models: one self-contained Keras model per trial.

The model takes FER images as they are, (48, 48, 1) uint8 0-255, and does everything else
in its graph: training-only augmentation, resizing to the searched input size (never a
materialised upscaled copy of the data set), repeating to 3 channels, the backbone's own
preprocessing, the backbone, and a head (pooling, dropout, softmax over 7). Only Keras'
built-in layers are used, so an exported file loads with
``keras.models.load_model(path, safe_mode=True)`` in a process that never saw this code.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .backbones import BACKBONES
from .errors import FerSearchError
from .labels import NUM_CLASSES
from .sources import SIDE


def augmentation(strength: float, seed: int):
    """Flip, shift, rotation, zoom and contrast, scaled by ``strength`` (0: none). Keras'
    random layers act in training only: at inference they pass images through."""
    from keras import layers

    if strength <= 0:
        return []
    return [
        layers.RandomFlip("horizontal", seed=seed),
        layers.RandomTranslation(0.12 * strength, 0.12 * strength, fill_mode="nearest", seed=seed),
        layers.RandomRotation(0.08 * strength, fill_mode="nearest", seed=seed),
        layers.RandomZoom(0.15 * strength, fill_mode="nearest", seed=seed),
        layers.RandomContrast(0.3 * strength, seed=seed),
    ]


def resolve_weights(backbone: str, weights: str | None) -> str | None:
    """'imagenet' (from Keras' cache, downloaded once), a local file, or None.

    Offline with no cached file: one clear error naming the file, where it goes, and the
    way out (--weights none).
    """
    if weights in (None, "none"):
        return None
    if weights != "imagenet":
        if not Path(weights).is_file():
            raise FerSearchError(f"--weights {weights}: no such file", hint="--weights imagenet, none, or a path to a weights file")
        return str(Path(weights).resolve())  # trials run in their own folders
    import keras

    name = BACKBONES[backbone].weights_file
    cache = keras_cache()
    if (cache / name).exists():
        return "imagenet"
    try:
        keras.utils.get_file(name, BACKBONES[backbone].weights_url, cache_subdir="models")
    except Exception as e:
        raise FerSearchError(
            f"--weights imagenet: {name} is not in Keras' cache and could not be downloaded ({type(e).__name__})",
            hint=f"put {name} in {cache}/ (or $KERAS_HOME/models/), pass --weights PATH to a local copy, "
                 "or --weights none to train from scratch",
        ) from None
    return "imagenet"


def keras_cache() -> Path:
    """Where keras.utils.get_file keeps model weights: $KERAS_HOME/models, else
    ~/.keras/models (Keras' own rule; its accessor is private)."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "models"


def block_of(layer_name: str, pattern: str) -> tuple[int, int] | None:
    """The (stage, block) a layer belongs to, or None (the stem, the last norm). A block
    named by a letter counts from a = 1 (EfficientNet's ``block2b_``: (2, 2))."""
    m = re.match(pattern, layer_name)
    if not m:
        return None
    return tuple(int(g) if g.isdigit() else ord(g.lower()) - ord("a") + 1 for g in (m[1], m[2]))


def residual_blocks(backbone, pattern: str) -> list[tuple[int, int]]:
    """The backbone's blocks, bottom to top, as (stage, block) pairs."""
    seen = []
    for layer in backbone.layers:
        m = block_of(layer.name, pattern)
        if m and m not in seen:
            seen.append(m)
    return seen


def unfreeze(backbone, blocks: int, pattern: str) -> None:
    """Train the top ``blocks`` blocks; freeze the rest (the stem too, unless all are
    unfrozen). A frozen BatchNormalization layer runs in inference mode in Keras 3."""
    all_blocks = residual_blocks(backbone, pattern)
    top = set(all_blocks[len(all_blocks) - blocks:]) if blocks else set()
    backbone.trainable = True
    for layer in backbone.layers:
        m = block_of(layer.name, pattern)
        layer.trainable = m in top if m else blocks >= len(all_blocks)


def build(config: dict, weights: str | None = None, seed: int = 0):
    """The whole model for a trial config; its input is (48, 48, 1) uint8."""
    import keras
    from keras import layers

    inputs = keras.Input((SIDE, SIDE, 1), dtype="uint8", name="face")
    x = layers.Rescaling(1.0, name="to_float")(inputs)
    for layer in augmentation(float(config.get("augment", 0.0)), seed):
        x = layer(x)
    kind = config.get("backbone", "cnn")
    if kind == "cnn":
        x = layers.Rescaling(1 / 255.0, name="scale")(x)
        x = vgg(x, int(config.get("depth", 4)), int(config.get("width", 32)))
    else:
        size = int(config.get("input_size", 96))
        if size != SIDE:
            x = layers.Resizing(size, size, name="resize")(x)
        x = layers.Concatenate(name="to_rgb")([x, x, x])
        spec = BACKBONES[kind]
        if spec.channel_means:  # a Normalization with unit variance subtracts exactly the means
            x = layers.Normalization(mean=spec.channel_means, variance=(1.0,) * 3, name="caffe_means")(x)
        application = getattr(keras.applications, spec.application)
        backbone = application(include_top=False, weights=weights, input_shape=(size, size, 3))
        unfreeze(backbone, int(config.get("unfreeze_blocks", 0)), spec.block_pattern)
        x = backbone(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(float(config.get("dropout", 0.0)), name="head_dropout")(x)
    # float32 output even under mixed precision: softmax and loss stay numerically sound
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="emotion")(x)
    return keras.Model(inputs, outputs, name=kind)


def vgg(x, depth: int, width: int):
    from keras import layers

    for i in range(depth):
        filters = width * 2**i
        for j in range(2):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"block{i + 1}_conv{j + 1}")(x)
            # momentum 0.9: the moving statistics catch up within an epoch, so early
            # epochs are scored (and ASHA decides) on what the network has learned
            x = layers.BatchNormalization(momentum=0.9, name=f"block{i + 1}_bn{j + 1}")(x)
            x = layers.Activation("relu", name=f"block{i + 1}_relu{j + 1}")(x)
        x = layers.MaxPooling2D(name=f"block{i + 1}_pool")(x)
    return x


def backbone_of(model):
    """The ResNet inside a built model, or None for the cnn."""
    import keras

    inner = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return inner[0] if inner else None
