"""Exported model files: one ``ModelFormat`` (a Protocol) per way a family's model is stored.

A format knows how its model is read from a trial's checkpoint, saved atomically, loaded
back (only ours), and logged to MLflow. A family names its format
(``registry.Family.model_format``); the driver looks it up in ``FORMATS`` and asks it.

- ``skops``: a scikit-learn pipeline saved with skops (no pickle: loading runs no code of
  the file's choosing).
- ``keras``: a self-contained ``.keras`` file, loaded in Keras' safe mode.

Beside each model, a JSON card: ``<family>_best.skops`` and ``<family>_best.json``. A
model file is code to whoever loads it: the card carries the file's sha256, and ``load``
refuses a file that has no card or does not match it, unless the caller trusts it
knowingly (``--trust``). Either way the format's own guard applies: skops with an
explicit list of trusted types, Keras in safe mode.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from trainables.errors import FerSearchError

from .files import atomic_write

# Loading a skops file trusts scikit-learn, NumPy and SciPy types, and those each family
# names (``Family.trusted_types``: our HOG step); anything else means it is not one of ours.
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.")
# The modules whose versions MLflow records with every logged model of a format.
REQUIREMENTS = {"skops": ("sklearn", "skops", "numpy", "scipy"), "keras": ("keras", "numpy")}


def trusted_prefixes() -> tuple[str, ...]:
    """What a skops file may hold: the common types and every registered family's."""
    from .. import registry

    return TRUSTED_PREFIXES + tuple(t for f in registry.FAMILIES.values() for t in f.trusted_types)


def pinned_requirements(*modules: str) -> list[str]:
    """``distribution==version`` of the installed distributions that provide ``modules``
    (import names: ``cv2`` may come from opencv-python or its headless build), for the
    environment MLflow records with a logged model.

    Given, MLflow does not infer them, which loads the model again in a fresh Python:
    measured 5.2-5.6 s for an svm pipeline against 0.1 s given, and more for a network.
    """
    from importlib.metadata import packages_distributions, version

    provided = packages_distributions()
    return [f"{dist}=={version(dist)}" for module in modules for dist in provided.get(module, [])[:1]]


def card_path(model_path: Path) -> Path:
    return Path(model_path).with_suffix(".json")


def read_card(model_path: Path) -> dict | None:
    path = card_path(model_path)
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise FerSearchError(f"{path}: not a readable model card ({e})") from None


def write_card(model_path: Path, card: dict) -> None:
    atomic_write(card_path(model_path), lambda tmp: Path(tmp).write_text(json.dumps(card, indent=2, default=str) + "\n"))


class TrialModel:
    """A trial's model as read from its checkpoint: the model, the file it came from
    (copied out of the experiment storage; ``discard`` removes the copy), and for a
    classical trial what it fitted (``fitted``: the rung's train fraction, the sizes and
    seconds of the trial's fits; None: all of train)."""

    def __init__(self, model, file: Path | None = None, fitted: dict | None = None):
        self.model, self.file, self.fitted = model, file, fitted

    def discard(self) -> None:
        if self.file is not None:
            shutil.rmtree(self.file.parent, ignore_errors=True)


class ModelFormat(Protocol):
    """A way a family's model is stored (``Family.model_format`` names one in ``FORMATS``)."""

    suffix: str
    # what the end of a search imports to export a model, and to log it to MLflow
    # (``export.warm_end_imports``)
    end_modules: tuple[str, ...]
    logged_modules: tuple[str, ...]

    def from_trial(self, result) -> TrialModel | None: ...  # the model a trial's checkpoint holds

    def remove_from_trials(self, results) -> None: ...  # what the trials need no more once the best is exported

    def save(self, trial_model: TrialModel, path: Path) -> None: ...

    def load(self, path: Path): ...  # only ours: a FerSearchError for anything else

    def log(self, model, example, register: str | None, family): ...  # to MLflow, in its flavour (family: its requirements)


class SkopsFormat:
    suffix = ".skops"
    end_modules = ("skops.io",)
    logged_modules = ("mlflow.sklearn",)

    def from_trial(self, result) -> TrialModel | None:
        """The model of a classical trial's last fit (the one that scored its val), or None
        where it left none (an older search). Read through the same trusted-type check as
        any exported file."""
        from trainables.classical import FITTED_MODEL, RUNG_FILE, rungs_done

        if result.checkpoint is None:
            return None
        with result.checkpoint.as_directory() as folder:  # fetched from a bucket where it lives in one
            path = Path(folder) / FITTED_MODEL
            if not path.exists():
                return None
            fitted = rungs_done(result.checkpoint) if (Path(folder) / RUNG_FILE).exists() else None
            return TrialModel(self.load(path), fitted=fitted)

    def remove_from_trials(self, results) -> None:
        """The trials' fitted models (tens of MB each) once the best is exported: a long
        search would otherwise keep one per trial that reached all of train."""
        from trainables.classical import FITTED_MODEL

        for result in results:
            for checkpoint, _ in result.best_checkpoints or []:
                try:  # the checkpoint's own filesystem: local, or the bucket of --storage
                    checkpoint.filesystem.delete_file(f"{checkpoint.path}/{FITTED_MODEL}")
                except (FileNotFoundError, OSError):
                    pass

    def save(self, trial_model: TrialModel, path: Path) -> None:
        import skops.io as sio

        atomic_write(path, lambda tmp: sio.dump(trial_model.model, tmp))

    def load(self, path: Path):
        import skops.io as sio

        not_ours = f"{path}: not a fer-search model"
        try:
            untrusted = sio.get_untrusted_types(file=path)
        except Exception as e:  # skops raises a variety of errors on foreign or damaged files
            raise FerSearchError(f"{not_ours} (unreadable as skops: {type(e).__name__})") from None
        foreign = [t for t in untrusted if not t.startswith(trusted_prefixes())]
        if foreign:
            raise FerSearchError(f"{not_ours} (it holds {', '.join(foreign[:3])})", hint="only skops files that fer-search exported are loaded")
        try:
            model = sio.load(path, trusted=untrusted)
        except Exception as e:
            raise FerSearchError(f"{not_ours} (loading failed: {type(e).__name__}: {e})") from None
        if not hasattr(model, "predict"):
            raise FerSearchError(f"{not_ours} (it holds a {type(model).__name__}, not a model)")
        return model

    def log(self, model, example, register: str | None, family):
        """MLflow's scikit-learn flavour in skops format; the model takes (N, 48, 48) faces."""
        import mlflow.sklearn
        import skops.io as sio

        import trainables

        trainables_dir = str(Path(trainables.__file__).resolve().parent)  # the feature steps' code travels with it
        trusted = [t for t in sio.get_untrusted_types(data=sio.dumps(model)) if t.startswith(trusted_prefixes())]
        return mlflow.sklearn.log_model(model, name="model", serialization_format="skops", skops_trusted_types=trusted,
                                        code_paths=[trainables_dir], input_example=example, registered_model_name=register,
                                        pip_requirements=pinned_requirements(*REQUIREMENTS["skops"], *family.requirements))


def recorded_checkpoint(result):
    """The trial's best checkpoint by val as Ray Tune's state recorded them, else its
    latest; None where it recorded none (Ray raises then)."""
    try:
        return result.get_best_checkpoint(metric="val_accuracy", mode="max") or result.checkpoint
    except RuntimeError:
        return result.checkpoint


def newest_checkpoint_on_disk(trial_path: str):
    """The newest checkpoint folder a trial wrote, for a trial whose last checkpoint the
    experiment's state missed (a process killed between a report and its save's record).
    A trial in a bucket has none found here."""
    from ray.tune import Checkpoint

    folders = sorted(Path(trial_path).glob("checkpoint_*"), key=lambda f: f.name) if Path(trial_path).is_dir() else []
    return Checkpoint.from_directory(str(folders[-1])) if folders else None


class KerasFormat:
    suffix = ".keras"
    end_modules = ("trainables.deep", "keras")
    logged_modules = ("mlflow.keras", "mlflow.models")

    def from_trial(self, result) -> TrialModel:
        """A network's best epoch, read back from the experiment storage (fetched from a
        bucket when it lives in one), in float32 (``as_float32``)."""
        from trainables import deep

        from .. import stopping

        checkpoint = recorded_checkpoint(result) or newest_checkpoint_on_disk(result.path)
        if checkpoint is None:
            raise RuntimeError(f"trial {result.path} left no checkpoint to export")
        local = Path(tempfile.mkdtemp(prefix="fer-best-")) / deep.CHECKPOINT_MODEL
        with checkpoint.as_directory() as folder:
            shutil.copy(Path(folder) / deep.CHECKPOINT_MODEL, local)
        loaded = deep.load(local)
        stopping.CURRENT.reinstall()  # TensorFlow's absl has just taken SIGTERM over
        return TrialModel(as_float32(loaded.model, result.config, local), local)

    def remove_from_trials(self, results) -> None:
        """A network keeps its best few checkpoints (a resumed trial needs them)."""

    def save(self, trial_model: TrialModel, path: Path) -> None:
        atomic_write(path, lambda tmp: shutil.copyfile(trial_model.file, tmp))

    def load(self, path: Path):
        """A network, in Keras' safe mode (no code from the file runs), checked for our
        input and output: (48, 48, 1) faces in, 7 probabilities out."""
        from trainables import deep

        try:
            model = deep.load(path)
        except Exception as e:
            raise FerSearchError(f"{path}: not a fer-search model (Keras could not load it safely: {type(e).__name__})") from None
        inputs, outputs = model.model.inputs, model.model.outputs
        if len(inputs) != 1 or tuple(inputs[0].shape[1:]) != (48, 48, 1) or len(outputs) != 1 or outputs[0].shape[-1] != 7:
            raise FerSearchError(f"{path}: not a fer-search model (it does not take 48x48x1 faces to 7 emotions)")
        return model

    def log(self, model, example, register: str | None, family):
        """MLflow's Keras flavour; the model takes (N, 48, 48, 1) uint8 faces. Its
        requirements name the backend it was trained under (TensorFlow or JAX)."""
        import keras
        import mlflow.keras
        from mlflow.models import infer_signature

        return mlflow.keras.log_model(model.model, name="model", registered_model_name=register,
                                      signature=infer_signature(example[..., None], model.predict_proba(example)),
                                      pip_requirements=pinned_requirements(*REQUIREMENTS["keras"], keras.backend.backend(),
                                                                           *family.requirements))


def as_float32(model, config: dict, file: Path):
    """A network trained under mixed_bfloat16 (a CPU with bf16) or mixed_float16 (a GPU)
    keeps that policy in its file, and predicts slowly on a CPU without bf16. Exported, it
    is the same network built under float32 with the trial's weights (mixed precision
    keeps its variables in float32: nothing is lost), written over ``file`` without the
    optimiser's state. Scores are then taken from this float32 copy."""
    import keras

    from trainables import deep, networks

    if all(layer.dtype_policy.name == "float32" for layer in model.layers):
        return deep.KerasClassifier(model)
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        exported = networks.build(config)  # no weights to fetch: all of them come from the trial
    finally:
        keras.mixed_precision.set_global_policy(previous)
    exported.set_weights(model.get_weights())
    exported.save(file)
    return deep.KerasClassifier(exported)


FORMATS: dict[str, ModelFormat] = {"skops": SkopsFormat(), "keras": KerasFormat()}


def export_path(models_dir, family) -> Path:
    """Where a family's best model is exported: ``models/<family>_best<suffix>``."""
    return Path(models_dir) / f"{family.name}_best{FORMATS[family.model_format].suffix}"


def sha256_of(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def save(trial_model: TrialModel, path: Path, card: dict) -> str:
    """The model, then its card with the model file's sha256 (returned): a card never
    names a model file that is not there yet."""
    format_for(path).save(trial_model, path)
    digest = sha256_of(path)
    write_card(path, {**card, "sha256": digest})
    return digest


def check_against_card(path: Path) -> None:
    """A FerSearchError unless ``path`` has a card whose sha256 is the file's."""
    trust = "pass --trust to load it anyway, if you know where the file comes from"
    card = read_card(path)
    if card is None:
        raise FerSearchError(f"{path}: no model card beside it ({card_path(path).name}): a model file is code, and only "
                             "files whose card vouches for them are loaded", hint=trust)
    if not card.get("sha256"):
        raise FerSearchError(f"{path}: its card {card_path(path).name} carries no sha256 (exported by an older fer-search)",
                             hint=trust)
    if card["sha256"] != sha256_of(path):
        raise FerSearchError(f"{path}: the file does not match its card {card_path(path).name} (sha256 differs): "
                             "it was changed or replaced after the export", hint=trust)


def format_for(path: Path):
    path = Path(path)
    for model_format in FORMATS.values():
        if path.suffix == model_format.suffix:
            return model_format
    raise FerSearchError(f"{path}: not a fer-search model",
                         hint=f"exported models are models/<family>_best{' or '.join(f.suffix for f in FORMATS.values())}")


def load(path: Path, trust: bool = False):
    """The model at ``path``; a FerSearchError when it is missing, not one of ours, or
    (unless ``trust``) not the file its card describes. (A model or an ensemble's
    manifest alike: ``loader.load``.)"""
    path = Path(path)
    if not path.is_file():
        raise FerSearchError(f"{path}: no such model file")
    if path.suffix == ".json":
        raise FerSearchError(f"{path}: a model card or other JSON, not a model or an ensemble manifest",
                             hint=f"pass the model file the card describes, e.g. {path.with_suffix('.skops').name}")
    model_format = format_for(path)
    if not trust:
        check_against_card(path)
    return model_format.load(path)
