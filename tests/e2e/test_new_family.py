"""A classical family added the way docs/development.md describes (a space module, a
trainable module built on ``trainables.classical.trainable_of``, and one registry entry
naming its trusted types and requirements) searches, exports, loads, evaluates and logs
to MLflow like the built-in ones, with nothing else in the project changed."""

from __future__ import annotations

import json

import mlflow
import pytest
from mlflow import MlflowClient

from search import registry
from search.stores import models
from tests.conftest import run_cli
from tests.fakes import knn_trainable
from trainables.errors import FerSearchError

ENTRY = {"trusted_types": ("tests.fakes.knn_trainable.",), "requirements": ("cv2", "joblib")}


def test_a_classical_family_added_the_documented_way_searches_exports_loads_and_logs(ray_local, tiny, test_family, monkeypatch):
    name = test_family("knn", "tests.fakes.knn_space", "tests.fakes.knn_trainable", **ENTRY)
    result = tiny.search(name, "--trials", 3, "--seed", 0, "--name", "new-knn")
    assert result.code == 0, result.err
    assert "warning" not in result.out  # MLflow took the model, with the family's requirements

    model_file = tiny.models / "knn_best.skops"
    card = json.loads(models.card_path(model_file).read_text())
    assert card["family"] == "knn"
    assert card["metrics"]["val"]["accuracy"] > 0.3  # it learns: the demo set's majority class is a quarter
    model = models.load(model_file)
    assert isinstance(model.named_steps["unit"], knn_trainable.UnitLength)

    evaluated = run_cli("evaluate", model_file, "--json", tiny.results / "eval.json")
    assert evaluated.code == 0, evaluated.err
    scores = json.loads((tiny.results / "eval.json").read_text())
    assert scores["accuracy"] == pytest.approx(card["metrics"]["test"]["accuracy"])  # test, by default

    client = MlflowClient(f"sqlite:///{tiny.results / 'mlflow.db'}")
    [version] = client.search_model_versions("name = 'fer-knn'")
    logged = client.get_logged_model(version.source.removeprefix("models:/"))
    requirements = mlflow.artifacts.download_artifacts(artifact_uri=f"{logged.artifact_location}/requirements.txt",
                                                       tracking_uri=client.tracking_uri, dst_path=str(tiny.results / "logged"))
    pinned = {line.split("==")[0] for line in open(requirements).read().splitlines()}
    assert {"scikit-learn", "skops", "joblib"} <= pinned and ({"opencv-python", "opencv-python-headless"} & pinned)

    # the registry entry's trusted types are what lets its model load: without them, not ours
    monkeypatch.setitem(registry.FAMILIES, name, registry.Family(name, "untrusting", "tests.fakes.knn_space",
                                                                 "tests.fakes.knn_trainable", requirements=ENTRY["requirements"]))
    with pytest.raises(FerSearchError, match="not a fer-search model .*knn_trainable.UnitLength"):
        models.load(model_file)
