"""The Keras backend a network trial runs on: TensorFlow (the default install) or JAX
(``pip install -e '.[jax]'``).

Keras reads ``KERAS_BACKEND`` once, when it is imported: the CLI sets it from
``--backend`` (or keeps the user's) before anything imports Keras, and it reaches every
worker with the other settings workers read (``search/environment.py``). The rest is
per backend and lives here: the trial's CPU share, its GPUs, the dtype policy, and
Keras's random image layers under JAX's jit.
"""

from __future__ import annotations

import os

from .precision import precision_policy

BACKENDS = ("tensorflow", "jax")
DEFAULT = "tensorflow"


def current() -> str:
    return os.environ.get("KERAS_BACKEND", DEFAULT)


def configure(threads: int, precision: str = "auto") -> tuple[str, str]:
    """This process's backend set up for a trial: its threads (TensorFlow's pools to the
    trial's CPU share, so side-by-side trials do not fight over cores; JAX's XLA has no
    such setting and takes every core), memory growth on GPUs (several trials per GPU),
    the dtype policy. Returns (policy, device)."""
    import keras

    gpus = _jax_gpus() if current() == "jax" else _tensorflow_gpus(threads)
    policy = precision_policy(precision, gpus > 0)
    keras.mixed_precision.set_global_policy(policy)
    return policy, "GPU" if gpus else "CPU"


def gpus() -> int:
    """The GPUs this process sees, through its backend."""
    return _jax_gpus() if current() == "jax" else len(_tensorflow().config.list_physical_devices("GPU"))


def _tensorflow():
    import tensorflow as tf

    return tf


def _tensorflow_gpus(threads: int) -> int:
    tf = _tensorflow()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, threads)))
    except RuntimeError:  # already initialised in this process: keep what it has
        pass
    found = tf.config.list_physical_devices("GPU")
    for gpu in found:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            pass
    return len(found)


def _jax_gpus() -> int:
    import jax

    return sum(d.platform == "gpu" for d in jax.devices())


def jit_whole_step(model):
    """Under JAX, the whole train step jitted. RandomTranslation, RandomRotation and
    RandomZoom flag themselves ``supports_jit = False`` for TensorFlow's sake (its
    ImageProjectiveTransformV3 has no XLA kernel), and one such layer makes Keras run
    every step eagerly (``keras/src/trainers/trainer.py``: model_supports_jit): measured on
    an H200, 0.76 s a batch against 3.5 ms without them. JAX's own implementation
    (``map_coordinates`` under ``vmap``) jits, so their flags are set after every build and
    every load. Under TensorFlow the model is left as it is."""
    if current() == "jax":
        for layer in _all_layers(model):
            if not layer.supports_jit:
                layer.supports_jit = True
    return model


def _all_layers(model) -> list:
    found = []
    for layer in getattr(model, "layers", []):
        found.append(layer)
        found.extend(_all_layers(layer))
    return found
