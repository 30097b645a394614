"""``python -m search predict``: faces found in generated photos, their probabilities, the
JSON and annotated copies, and the per-file errors that never stop the batch.

The photo with a face is scikit-image's bundled astronaut portrait (no download) pasted
at a known place into a larger colour image: OpenCV's Haar cascade finds her face at
(177, 66, 95, 95) in the portrait itself.
"""

import json

import numpy as np
import pytest

from tests.conftest import png, run_cli

pytestmark = pytest.mark.slow

ASTRONAUT_FACE = (177, 66, 95, 95)
OFFSET = (300, 200)  # where the portrait's top-left corner lands in the photo (x, y)


@pytest.fixture
def svm_model(exported_pair):
    return exported_pair / "models" / "svm_best.skops"


@pytest.fixture
def photos(tmp_path):
    """A folder: a colour photo with one face, a 48x48 face, a photo of noise, a file that
    is not an image."""
    import cv2
    import skimage.data

    from trainables import demo

    folder = tmp_path / "photos"
    folder.mkdir()
    portrait = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    photo = np.full((900, 1300, 3), (40, 90, 160), np.uint8)
    x, y = OFFSET
    photo[y:y + portrait.shape[0], x:x + portrait.shape[1]] = portrait
    cv2.imwrite(str(folder / "astronaut.jpg"), photo)
    (folder / "face48.png").write_bytes(png(demo.generate(20, seed=1).images[0]))
    cv2.imwrite(str(folder / "noise.png"), np.random.default_rng(0).integers(0, 256, (600, 800, 3), dtype=np.uint8))
    (folder / "broken.jpg").write_bytes(b"not a picture at all")
    return folder


def test_predict_finds_faces_and_gives_seven_probabilities(svm_model, photos, tmp_path):
    import cv2

    out, annotated = tmp_path / "faces.json", tmp_path / "annotated"
    result = run_cli("predict", svm_model, photos, "--json", out, "--annotate", annotated)
    assert result.code == 0, result.err
    assert "broken.jpg: skipped, not an image" in result.err  # said, and the batch went on
    assert "noise.png: no face found" in result.out
    found = json.loads(out.read_text())
    assert set(found) == {str(photos / n) for n in ("astronaut.jpg", "face48.png", "noise.png")}
    assert found[str(photos / "noise.png")] == []

    [face] = found[str(photos / "astronaut.jpg")]
    expected = np.array(ASTRONAUT_FACE) + [*OFFSET, 0, 0]
    assert np.abs(np.array(face["box"]) - expected).max() <= 12, face["box"]  # in the photo's own pixels
    [small] = found[str(photos / "face48.png")]
    assert small["box"] == [0, 0, 48, 48]  # already a FER face: classified as it is
    for f in (face, small):
        assert set(f) == {"box", "emotion", "probabilities"}
        probs = f["probabilities"]
        assert list(probs) == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
        assert sum(probs.values()) == pytest.approx(1.0) and min(probs.values()) >= 0
        assert f["emotion"] == max(probs, key=probs.get)

    # an annotated copy of each readable photo, at the photo's size
    for name in ("astronaut", "face48", "noise"):
        original = cv2.imread(str(photos / f"{name}.{'jpg' if name == 'astronaut' else 'png'}"))
        copy = cv2.imread(str(annotated / f"{name}.png"))
        assert copy is not None and copy.shape == original.shape
    assert not (annotated / "broken.png").exists()


def test_an_svm_exports_calibrated_probabilities(svm_model):
    from search.ensembling import probabilities
    from search.stores import models
    from trainables import demo

    card = models.read_card(svm_model)
    entry = card["probability"]
    assert entry["method"].startswith("temperature scaling") and entry["beta"] > 0
    assert entry["top_matches_predict_on_val"] >= 0.9
    model = models.load(svm_model)
    faces = demo.generate(50, seed=2).images
    proba = probabilities.probabilities(model, card, faces)
    assert proba.shape == (50, 7) and np.allclose(proba.sum(axis=1), 1.0)
    # one temperature keeps the decision function's ranking
    assert (proba.argmax(axis=1) == np.asarray(model.decision_function(faces)).argmax(axis=1)).all()


def test_predict_refuses_what_it_cannot_use(svm_model, tmp_path):
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\x00\x01")
    result = run_cli("predict", svm_model, junk)
    assert result.code == 2 and "could be read as an image" in result.err

    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("predict", svm_model, empty)
    assert result.code == 2 and "no image files" in result.err

    # a model whose card has no calibration (an older export): one line, not a traceback
    import shutil

    from trainables import demo

    old = tmp_path / "old"
    old.mkdir()
    shutil.copy(svm_model, old / svm_model.name)
    card = json.loads(svm_model.with_suffix(".json").read_text())
    card.pop("probability")
    (old / "svm_best.json").write_text(json.dumps(card))
    face = tmp_path / "face.png"
    face.write_bytes(png(demo.generate(5, seed=3).images[0]))
    result = run_cli("predict", old / svm_model.name, face)
    assert result.code == 2 and "no probabilities" in result.err and "Traceback" not in result.err
