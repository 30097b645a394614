"""A corpus of broken data sources: each is skipped and counted, or refused in one line,
and nothing in it makes a load read more than a face's worth of bytes per image."""

import tracemalloc
import zipfile

import numpy as np
import pytest

from tests.conftest import png, tree_files, write_tree, write_zip
from trainables import data as fer
from trainables.errors import FerSearchError


def jpeg(img: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return buf.tobytes()


def broken_images() -> dict[str, bytes]:
    """One of each broken image, under train/happy/ (name: bytes)."""
    import cv2

    face = np.random.default_rng(0).integers(0, 256, (48, 48), dtype=np.uint8)
    ok, rgba = cv2.imencode(".png", np.dstack([face, face, face, np.full_like(face, 255)]))
    ok, deep = cv2.imencode(".png", face.astype(np.uint16) * 257)
    return {
        "truncated.jpg": jpeg(face)[:200],
        "text.jpg": b"this is not an image",
        "empty.png": b"",
        "large.png": png(np.zeros((96, 96), np.uint8)),  # wrong size
        "html.png": b"<html><body>404</body></html>",
        # kept: colour, alpha and 16-bit faces become 8-bit gray faces
        "colour.png": png(np.dstack([face, face, face])),
        "rgba.png": rgba.tobytes(),
        "sixteen.png": deep.tobytes(),
    }


KEPT = {"colour.png", "rgba.png", "sixteen.png"}


@pytest.fixture
def big_tree(faces):
    """The tiny data set's files, repeated so that the corpus stays under 1% of it."""
    files = tree_files(faces)
    more = {}
    for k in range(60):
        for name, data in files.items():
            head, tail = name.rsplit("/", 1)
            more[f"{head}/{k}_{tail}"] = data
    return more


@pytest.mark.parametrize("container", ["zip", "folder"])
def test_broken_images_are_skipped_and_named(tmp_path, big_tree, container, cache_dir):
    files = {**big_tree, **{f"train/happy/{name}": data for name, data in broken_images().items()}}
    source = write_zip(tmp_path / "fer.zip", files) if container == "zip" else write_tree(tmp_path / "fer", files)
    d = fer.load(source, cache_dir)
    skipped = {s.split(": ")[0].rsplit("/", 1)[-1]: s for s in d.skipped}
    assert set(skipped) == set(broken_images()) - KEPT
    assert "96x96, not 48x48" in skipped["large.png"]
    assert len(d.images) == len(files) - len(skipped)
    assert d.images.dtype == np.uint8 and d.images.shape[1:] == (48, 48)


def test_a_zip_bomb_is_refused_without_inflating(tmp_path, big_tree, cache_dir):
    path = tmp_path / "bomb.zip"
    write_zip(path, big_tree)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("train/happy/bomb.png", "w") as member:  # 200 MB of zeros: about 200 KB deflated
            chunk = bytes(1 << 20)
            for _ in range(200):
                member.write(chunk)
    tracemalloc.start()
    d = fer.load(path, cache_dir)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert any(s.startswith("train/happy/bomb.png: 209,715,200 bytes") and "not read" in s for s in d.skipped)
    assert peak < 50 * 2**20  # the 200 MB were never inflated


def test_a_symlink_to_a_device_is_not_read(tmp_path, big_tree, cache_dir):
    root = write_tree(tmp_path / "fer", big_tree)
    (root / "train" / "happy" / "zero.png").symlink_to("/dev/zero")
    d = fer.load(root, cache_dir)
    assert any(s.endswith("zero.png: not a regular file") for s in d.skipped)


def test_member_names_that_climb_out_are_never_faces(tmp_path, big_tree, cache_dir):
    # nothing is ever extracted; a name is only read for its split and emotion
    files = {**big_tree, "../../train/happy/x.png": png(np.zeros((48, 48), np.uint8)),
             "train/happy/../../etc/passwd.png": b"root:x:0:0"}
    d = fer.load(write_zip(tmp_path / "fer.zip", files), cache_dir)
    # a name with a ".." part is passed over, as hidden names are: neither a face nor an error
    assert len(d.images) == len(big_tree) and not d.skipped


@pytest.mark.parametrize("layout, message", [
    ({"train/happy/a.png": None, "train/joy/b.png": None}, "'joy' is not an emotion folder"),
    ({"readme.txt": b"hello"}, "no FER2013 images found"),
])
def test_layout_errors_are_one_line(tmp_path, layout, message, cache_dir):
    face = png(np.zeros((48, 48), np.uint8))
    files = {k: (v if v is not None else face) for k, v in layout.items()}
    with pytest.raises(FerSearchError, match=message):
        fer.load(write_zip(tmp_path / "fer.zip", files), cache_dir)


def test_an_empty_emotion_folder_is_a_class_with_no_faces(tmp_path, big_tree, cache_dir):
    without_neutral = {path: data for path, data in big_tree.items() if not path.startswith("train/neutral/")}
    assert len(without_neutral) < len(big_tree)
    root = write_tree(tmp_path / "fer", without_neutral)
    (root / "train" / "neutral").mkdir()  # an emotion's folder with no image in it
    (root / "train" / "empty_but_named").mkdir()  # not an emotion, but holds no image: harmless
    d = fer.load(root, cache_dir)
    assert len(d.images) == len(without_neutral)
    neutral = 6
    assert not np.any((d.labels == neutral) & (d.usage == "Training"))  # a class with no faces in train...
    assert np.any((d.labels == neutral) & (d.usage != "Training"))  # ...that test still has


@pytest.mark.parametrize("row, why", [
    ("9,{pixels},Training", "emotion '9' is not 0-6"),
    ("-1,{pixels},Training", "emotion '-1' is not 0-6"),
    ("3,{short},Training", "2303 pixel values, not 2304"),
    ("3,{high},Training", "pixel values outside 0-255"),
    ("3,{pixels},Validation", "Usage 'Validation' is not"),
])
def test_csv_rows_out_of_range_are_skipped_and_named(tmp_path, row, why, cache_dir):
    rng = np.random.default_rng(1)
    good = [f"{rng.integers(0, 7)},{' '.join(map(str, rng.integers(0, 256, 2304)))},Training" for _ in range(150)]
    pixels = " ".join(["7"] * 2304)
    bad = row.format(pixels=pixels, short=" ".join(["7"] * 2303), high=" ".join(["7"] * 2303 + ["256"]))
    path = tmp_path / "fer.csv"
    path.write_text("emotion,pixels,Usage\n" + "\n".join(good[:70] + [bad] + good[70:]) + "\n")
    d = fer.load(path, cache_dir)
    assert len(d.images) == 150 and len(d.skipped) == 1
    assert d.skipped[0].startswith("line 72: ") and why in d.skipped[0]
