"""Loaders of the three formats, on generated fixtures, including broken ones."""

import zipfile

import numpy as np
import pytest

from tests.conftest import png, tree_files, write_csv, write_tree, write_zip
from trainables import data as fer
from trainables import sources
from trainables.errors import FerSearchError
from trainables.labels import EMOTIONS, label_of_folder


def test_label_indices_are_the_challenges():
    assert EMOTIONS == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert [label_of_folder(n) for n in ("Angry", "DISGUST", " fear ", "happy", "Sad", "surprise", "Neutral")] == list(range(7))
    assert label_of_folder("contempt") is None


@pytest.mark.parametrize("fixture", ["tree", "fer_zip", "fer_csv"])
def test_every_format_gives_the_same_faces(request, faces, fixture, cache_dir):
    d = fer.load(request.getfixturevalue(fixture), cache_dir)
    tr_x, tr_y, te_x, te_y = faces
    train = d.usage == "Training"
    assert d.images.dtype == np.uint8 and d.images.shape[1:] == (48, 48)
    assert train.sum() == len(tr_x) and (~train).sum() == len(te_x)
    # Each format keeps its own order; compare as multisets of (label, pixels).
    def key(x, y):
        return sorted((int(l), im.tobytes()) for im, l in zip(x, y))
    assert key(d.images[train], d.labels[train]) == key(tr_x, tr_y)
    assert key(d.images[~train], d.labels[~train]) == key(te_x, te_y)


def test_folder_case_and_order_do_not_change_labels(tmp_path, faces, cache_dir):
    upper = fer.load(write_tree(tmp_path / "upper", tree_files(faces, folder_case=str.upper)), cache_dir)
    lower = fer.load(write_tree(tmp_path / "lower", tree_files(faces)), cache_dir)
    assert np.bincount(upper.labels).tolist() == np.bincount(lower.labels).tolist() == [13] * 7
    happy = faces[0][faces[1] == 3][0]
    assert upper.labels[[np.array_equal(im, happy) for im in upper.images].index(True)] == 3


def test_zip_with_a_top_folder_and_macos_litter(tmp_path, faces, cache_dir):
    path = write_zip(tmp_path / "archive.zip", tree_files(faces), prefix="fer2013/")
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("__MACOSX/fer2013/train/happy/._Training_1.png", b"junk")
        zf.writestr("fer2013/README.txt", b"hello")
    d = fer.load(path, cache_dir)
    assert len(d.labels) == 91 and not d.skipped


def test_jpeg_images_decode(tmp_path, faces, cache_dir):
    import cv2

    img = faces[0][0]
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    files = {f"train/{EMOTIONS[faces[1][0]]}/Training_0.jpg": buf.tobytes(),
             "test/happy/PublicTest_1.jpg": buf.tobytes()}
    d = fer.load(write_zip(tmp_path / "j.zip", files), cache_dir)
    assert d.images.shape == (2, 48, 48)
    assert np.abs(d.images[0].astype(int) - img).mean() < 3


def test_test_folder_usage_comes_from_file_names(tmp_path, faces, cache_dir):
    files = tree_files(faces)
    files.update({k.replace("PublicTest", "PrivateTest").replace(".png", "b.png"): v
                  for k, v in files.items() if k.startswith("test/")})
    files["test/happy/face.png"] = files["test/happy/PublicTest_9.png"]
    d = fer.load(write_zip(tmp_path / "both.zip", files), cache_dir)
    usage, counts = np.unique(d.usage.astype(str), return_counts=True)
    assert dict(zip(usage, counts)) == {"Training": 70, "PublicTest": 21, "PrivateTest": 21, "Test": 1}
    assert len(fer.split_index(d)["test"]) == 43  # the whole test folder, whatever its halves


def test_a_few_corrupt_images_are_skipped_and_counted(tmp_path, cache_dir):
    from trainables import demo

    d = demo.generate(300, seed=1)
    files = {f"train/{EMOTIONS[y]}/Training_{i}.png": png(x) for i, (x, y) in enumerate(zip(d.images, d.labels))}
    files["train/happy/Training_broken.png"] = b"\x89PNG not really"
    loaded = fer.load(write_zip(tmp_path / "one-bad.zip", files), cache_dir)
    assert len(loaded.labels) == 300
    assert loaded.skipped == ["train/happy/Training_broken.png: not a readable image"]


def test_many_bad_images_are_an_error_naming_the_file(tmp_path, faces, cache_dir):
    import cv2

    files = tree_files(faces)
    for i in range(5):
        files[f"train/sad/big_{i}.png"] = png(cv2.resize(faces[0][0], (64, 64)))
    with pytest.raises(FerSearchError, match=r"bad\.zip: 5 of 96 images are unusable \(first: train/sad/big_0\.png: 64x64, not 48x48\)"):
        fer.load(write_zip(tmp_path / "bad.zip", files), cache_dir)


@pytest.mark.parametrize("files, message", [
    ({"readme.txt": b"x"}, "no FER2013 images found"),
    ({"train/contempt/a.png": b"x"}, "'contempt' is not an emotion folder"),
])
def test_zip_without_the_layout(tmp_path, files, message, cache_dir):
    with pytest.raises(FerSearchError, match=message):
        fer.load(write_zip(tmp_path / "x.zip", files), cache_dir)


def test_folder_without_the_layout(tmp_path, cache_dir):
    (tmp_path / "empty" / "images").mkdir(parents=True)
    (tmp_path / "empty" / "other").mkdir()
    with pytest.raises(FerSearchError, match="no train/ or test/ folder"):
        fer.load(tmp_path / "empty", cache_dir)


def test_missing_and_unknown_paths(tmp_path, cache_dir):
    with pytest.raises(FerSearchError, match="nowhere.zip: no such file or folder"):
        fer.load(tmp_path / "nowhere.zip", cache_dir)
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(FerSearchError, match="not a zip, a CSV or a folder"):
        fer.load(tmp_path / "notes.txt", cache_dir)
    (tmp_path / "fake.zip").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(FerSearchError, match="fake.zip"):
        fer.load(tmp_path / "fake.zip", cache_dir)


def test_csv_usage_column_is_optional(tmp_path, faces, cache_dir):
    d = fer.load(write_csv(tmp_path / "train.csv", faces, with_usage=False), cache_dir)
    assert set(d.usage) == {"Training"} and len(d.labels) == 91


def test_csv_missing_columns(tmp_path, cache_dir):
    path = tmp_path / "bad.csv"
    path.write_text("label,Usage\n1,Training\n")
    with pytest.raises(FerSearchError, match="bad.csv: missing columns emotion, pixels"):
        fer.load(path, cache_dir)


def test_csv_malformed_rows_are_errors_when_many(tmp_path, faces, cache_dir):
    path = write_csv(tmp_path / "bad.csv", faces)
    lines = path.read_text().splitlines()
    lines[3] = "3," + " ".join(["7"] * 2000) + ",Training"
    lines[5] = "2," + " ".join(["x"] * 2304) + ",Training"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(FerSearchError, match=r"bad.csv: 2 of 91 rows are unusable \(first: line 4: 2000 pixel values, not 2304\)"):
        fer.load(path, cache_dir)


def test_csv_one_bad_row_in_a_hundred_is_skipped(tmp_path, cache_dir):
    from trainables import demo

    d = demo.generate(200, seed=2)
    rows = ["emotion,pixels,Usage"] + [f"{y},{' '.join(map(str, x.ravel()))},Training" for x, y in zip(d.images, d.labels)]
    rows[10] = "9," + rows[10].split(",", 1)[1]
    rows[20] = rows[20].replace(" 1", " 300", 1) if " 1" in rows[20] else rows[20].replace(" ", " 300 ", 1)
    path = tmp_path / "ok.csv"
    path.write_text("\n".join(rows) + "\n")
    loaded = fer.load(path, cache_dir)
    assert len(loaded.labels) == 198
    assert loaded.skipped[0] == "line 11: emotion '9' is not 0-6"
    assert "line 21" in loaded.skipped[1]


def test_detect_format(tree, fer_zip, fer_csv):
    assert [sources.detect_format(p) for p in (tree, fer_zip, fer_csv)] == ["folder", "zip", "csv"]
