"""The trial of a network family (resnet50, resnet101, cnn): epochs, reports, checkpoints.

One report per epoch with the shared names (``val_accuracy``, ``val_loss``,
``train_accuracy``, ``train_loss``, ``epoch``) and a Ray Tune checkpoint with it (the
whole model as ``model.keras``), so ASHA stops weak trials on epochs and a trial
interrupted (its node lost) resumes at the next epoch. A NaN loss fails the trial.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from . import backend, rng
from .data import Splits
from .labels import NUM_CLASSES
from .units import LiveDeadline, cosine_horizon, fits, typical_epoch_seconds, with_epoch_seconds

CHECKPOINT_MODEL = "model.keras"
EPOCH_FILE = "epoch.json"  # epochs done, the best val so far, the last few epochs' seconds, the seed generators' states


def optimizer(config: dict, learning_rate: float):
    import keras

    name = config.get("optimizer", "adam")
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=float(config.get("weight_decay", 1e-4)))
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True,
                                    weight_decay=float(config.get("weight_decay", 0.0)) or None)
    return keras.optimizers.Adam(learning_rate)


def compile_for_phase(model, config: dict, epoch: int) -> None:
    """Two-phase schedule: the head alone for ``head_epochs``, then the unfrozen blocks
    join with a fresh optimiser. The rate of each epoch is ``learning_rate_at``'s (in
    phase 2, learning_rate x backbone_lr_mult: Keras 3 optimisers have one rate)."""
    import keras

    from .backbones import BACKBONES
    from .networks import backbone_of, unfreeze

    backbone = backbone_of(model)
    if backbone is not None:
        head_only = phase_of(config, epoch) == 1
        unfreeze(backbone, 0 if head_only else int(config.get("unfreeze_blocks", 0)), BACKBONES[config["backbone"]].block_pattern)
    model.compile(
        # the rate is set again at each epoch's start (learning_rate_at)
        optimizer=optimizer(config, float(config["learning_rate"])),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=float(config.get("label_smoothing", 0.0))),
        metrics=["accuracy"],
    )


def phase_of(config: dict, epoch: int) -> int:
    return 1 if config.get("two_phase") and epoch < int(config.get("head_epochs", 0)) else 2


def learning_rate_at(config: dict, epoch: int, max_epochs: int) -> float:
    """The rate for ``epoch`` (0-based): the phase's base rate, constant or on a cosine from
    it down to zero over ``max_epochs``. Per epoch, from the epoch number alone, so a
    resumed trial picks up the same curve."""
    lr = float(config["learning_rate"])
    if config.get("two_phase") and phase_of(config, epoch) == 2:
        lr *= float(config.get("backbone_lr_mult", 1.0))
    if config.get("lr_schedule", "constant") == "cosine":
        lr *= 0.5 * (1 + math.cos(math.pi * epoch / max_epochs))
    return lr


def inputs(splits: Splits, split: str, batch_size: int, seed: int) -> dict:
    """The keyword arguments that feed a split to ``model.fit`` or ``model.evaluate``
    (training shuffled, validation in order), the faces uint8 until the model's first layer.
    Under TensorFlow a tf.data pipeline (measured here: Keras's array adapter trained the
    cnn about a tenth slower); under other backends Keras's own array adapter, as in a
    user's ``model.fit(x, y)``: JAX's machines need no TensorFlow."""
    train = split == "train"
    x, labels = splits.x(split)[..., None], splits.y(split).astype(np.int64)
    if backend.current() != "tensorflow":
        y = np.eye(NUM_CLASSES, dtype=np.float32)[labels]
        return {"x": x, "y": y, "batch_size": batch_size, **({"shuffle": True} if train else {})}
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, tf.one_hot(labels.astype(np.int32), NUM_CLASSES)))
    if train:
        ds = ds.shuffle(min(len(x), 20_000), seed=seed, reshuffle_each_iteration=True)
    return {"x": ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)}


def class_weights(labels: np.ndarray) -> dict[int, float]:
    counts = np.bincount(labels, minlength=NUM_CLASSES).astype(float)
    present = counts > 0
    weights = np.zeros(NUM_CLASSES)
    weights[present] = counts[present].sum() / (present.sum() * counts[present])
    return {i: float(w) for i, w in enumerate(weights)}


def train(config: dict, data: Splits, settings: dict) -> None:
    """The Ray Tune trainable of every network family."""
    import keras
    import ray
    from ray import tune

    # the policy, and what the trial really trains on (Ray gives a trial only the GPUs it asked for)
    policy, device = backend.configure(int(settings.get("threads", 1)), settings.get("precision", "auto"))
    keras.utils.set_random_seed(int(settings["seed"]))
    node = ray.get_runtime_context().get_node_id()
    model, state = restore_or_build(config, settings, tune.get_checkpoint())
    batch, seed, first = int(config["batch_size"]), int(settings["seed"]), state["epoch"]
    if first:  # a continued trial draws on from where it was, not its first epoch's draws again (``rng``)
        keras.utils.set_random_seed(seed + first)
    train_inputs, val_inputs = inputs(data, "train", batch, seed + first), inputs(data, "val", batch, seed)
    weights = class_weights(data.y("train")) if config.get("class_weight") == "balanced" else None
    n_train, n_val = len(data.index["train"]), len(data.index["val"])
    max_epochs, deadline = int(settings["max_epochs"]), LiveDeadline(settings)
    progress = Path(settings["progress_dir"]) / f"{tune.get_context().get_trial_id()}.json" if settings.get("progress_dir") else None
    for epoch in range(first, max_epochs):
        if epoch > first and phase_of(config, epoch) != phase_of(config, epoch - 1):
            compile_for_phase(model, config, epoch)  # the backbone joins: a fresh optimiser
        # with a deadline, cosine reaches its floor on the last epoch the budget allows
        horizon = cosine_horizon(epoch, max_epochs, deadline(), typical_epoch_seconds(state))
        learning_rate = learning_rate_at(config, epoch, horizon)
        model.optimizer.learning_rate.assign(learning_rate)
        started = time.perf_counter()
        # a trial's first epoch here always runs (Ray Tune wants a report from each start):
        # the driver starts or continues a trial only where an epoch fits, as measured
        guard = epoch_watch(deadline if epoch > first else None, n_val / max(n_train, 1), progress, epoch, horizon,
                            batch)
        history = model.fit(**train_inputs, epochs=epoch + 1, initial_epoch=epoch, class_weight=weights, verbose=0,
                            callbacks=[guard])
        if guard.cut:  # the rest of this epoch would have run past the deadline: it ends here
            return
        seconds = time.perf_counter() - started
        train_loss = float(history.history["loss"][-1])
        if not np.isfinite(train_loss):
            raise FloatingPointError(f"the training loss became {train_loss} in epoch {epoch + 1}: this configuration diverges")
        val_started = time.perf_counter()
        val_loss, val_accuracy = model.evaluate(**val_inputs, verbose=0)
        val_seconds = time.perf_counter() - val_started
        state["best_val_accuracy"] = max(state["best_val_accuracy"], float(val_accuracy))
        with tempfile.TemporaryDirectory() as folder:
            model.save(Path(folder) / CHECKPOINT_MODEL)
            model_mb = (Path(folder) / CHECKPOINT_MODEL).stat().st_size / 2**20
            # an epoch is the unit of work: its fit, its val and its checkpoint
            state = {**with_epoch_seconds(state, time.perf_counter() - started), "epoch": epoch + 1,
                     "generators": rng.generator_states(model)}
            (Path(folder) / EPOCH_FILE).write_text(json.dumps(state))
            tune.report(
                {
                    "val_accuracy": float(val_accuracy), "val_loss": float(val_loss),
                    # the best epoch so far: what the export takes (its checkpoint is kept)
                    "best_val_accuracy": state["best_val_accuracy"],
                    "train_accuracy": float(history.history["accuracy"][-1]), "train_loss": train_loss,
                    "epoch": epoch + 1, "learning_rate": learning_rate, "cosine_epochs": horizon,
                    "epoch_seconds": seconds, "images_per_second": n_train / seconds,
                    "val_seconds": val_seconds, "predict_seconds": val_seconds,
                    "unit_seconds": state["unit_seconds"], "model_mb": model_mb,
                    "next_unit_seconds": state["unit_seconds"] if epoch + 1 < max_epochs else 0.0,
                    "node_id": node, "precision": policy, "device": device,  # strings: MLflow's metrics skip them
                },
                checkpoint=tune.Checkpoint.from_directory(folder),
            )


def restore_or_build(config: dict, settings: dict, checkpoint):
    """The trial's model and state (epochs done, best val so far, the last epoch's
    seconds): from its checkpoint when it was paused or interrupted (the whole model,
    optimiser state included), else built."""
    import keras

    from .networks import build

    if checkpoint is None:
        model = backend.jit_whole_step(build(config, settings.get("weights"), int(settings["seed"])))
        compile_for_phase(model, config, 0)
        return model, {"epoch": 0, "best_val_accuracy": 0.0}
    with checkpoint.as_directory() as folder:
        model = backend.jit_whole_step(keras.models.load_model(Path(folder) / CHECKPOINT_MODEL, safe_mode=True))
        state = {"best_val_accuracy": 0.0, **json.loads((Path(folder) / EPOCH_FILE).read_text())}
    rng.set_generator_states(model, state.get("generators", {}))  # a checkpoint from before kept none
    epoch = state["epoch"]
    if epoch and phase_of(config, epoch) != phase_of(config, epoch - 1):
        compile_for_phase(model, config, epoch)
    return model, state


def epoch_watch(deadline, val_share: float, progress: Path | None, epoch: int, epochs: int,
                batch_size: int):
    """A Keras callback over an epoch's batches.

    - It ends an epoch whose rest, with its val, would run past ``deadline()`` (the live
      unit deadline, ``units.LiveDeadline``; None: no check): the batches
      left at the pace since the first (which holds the graph's tracing), val being
      ``val_share`` of the faces at about half a training step's cost. ``cut`` says it did.
    - Every PROGRESS_SECONDS it writes the epoch's progress to the file ``progress`` (the
      driver shows it: batches done, faces/s, the epoch's time left), where the driver's
      folder is reachable (a local Ray; on other nodes the write fails quietly).
    """
    import keras

    class EpochWatch(keras.callbacks.Callback):
        cut = False

        def on_train_begin(self, logs=None):
            self.batches, self.paced_from, self.written = self.params.get("steps") or 0, None, time.time()

        def on_train_batch_end(self, batch, logs=None):
            if not self.batches:
                return
            if self.paced_from is None:
                self.paced_from = (batch, time.time())
                return
            first, since = self.paced_from
            if batch - first < 2:
                return
            per_batch = (time.time() - since) / (batch - first)
            left = per_batch * (self.batches - batch - 1)
            limit = deadline() if deadline is not None else None
            if limit is not None and not fits(left + per_batch * self.batches * val_share / 2, limit):
                self.cut = True
                self.model.stop_training = True
            if progress is not None and time.time() - self.written >= PROGRESS_SECONDS:
                self.written = time.time()
                write_progress(progress, {"epoch": epoch + 1, "epochs": epochs, "batch": batch + 1, "batches": self.batches,
                                          "faces_per_second": batch_size / per_batch, "seconds_per_batch": per_batch,
                                          "epoch_seconds_left": left, "at": self.written})

    return EpochWatch()


PROGRESS_SECONDS = 10.0


def write_progress(path: Path, state: dict) -> None:
    """``state`` as JSON at ``path``, whole or not at all (a reader never sees half)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, path)
    except OSError:
        pass


class KerasClassifier:
    """An exported network behind the scikit-learn-like ``predict`` the rest uses:
    (N, 48, 48) uint8 faces in, label indices out."""

    def __init__(self, model):
        self.model = model

    # Up to one batch, the model is called directly, as Keras's ``Model.predict`` docstring
    # advises for inputs that fit in a batch: ``predict`` first traces its whole graph, which
    # for ResNet101 took 10.4 s here before scoring 30 faces, against 2.1 s for the call
    # (same probabilities, bit for bit). Once traced, the graph is the faster (0.7 s for 30
    # faces against 1.9 s), so more than a batch (a split of the real data) goes through it.
    BATCH = 256

    def predict_proba(self, images) -> np.ndarray:
        x = np.asarray(images)
        if x.ndim == 3:
            x = x[..., None]
        x = x.astype(np.uint8)
        if len(x) <= self.BATCH:
            import keras

            return keras.ops.convert_to_numpy(self.model(x, training=False))
        return self.model.predict(x, batch_size=self.BATCH, verbose=0)

    def predict(self, images) -> np.ndarray:
        return self.predict_proba(images).argmax(axis=1)


def load(path: str | os.PathLike) -> KerasClassifier:
    import keras

    return KerasClassifier(backend.jit_whole_step(keras.models.load_model(path, safe_mode=True, compile=False)))
