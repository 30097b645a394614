"""Splits, the Arrow cache and fingerprints."""

import math

import numpy as np
import pytest

from tests.conftest import tree_files, write_zip
from trainables import data as fer
from trainables.errors import FerSearchError


def test_folder_splits_are_stratified_and_seeded(cache_dir):
    d = fer.load("demo:2000", cache_dir)
    index = fer.split_index(d, val_fraction=0.2)
    n_train_folder = (d.usage == "Training").sum()
    assert len(index["val"]) == math.ceil(0.2 * n_train_folder)  # scikit-learn rounds the held-out side up
    assert len(index["train"]) + len(index["val"]) == n_train_folder
    assert len(index["test"]) == (d.usage == "Test").sum()
    assert not set(index["train"]) & set(index["val"])
    share = lambda idx: np.bincount(d.labels[idx], minlength=7) / len(idx)
    assert np.abs(share(index["train"]) - share(index["val"])).max() < 0.01
    again = fer.split_index(fer.load("demo:2000", cache_dir), val_fraction=0.2)
    assert all(np.array_equal(index[s], again[s]) for s in fer.SPLITS)


def test_csv_splits_follow_usage(fer_csv, cache_dir):
    d = fer.load(fer_csv, cache_dir)
    index = fer.split_index(d, val_fraction=0.5)  # ignored for the CSV: it names its splits
    assert {s: len(i) for s, i in index.items()} == {"train": 70, "val": 7, "test": 14}
    assert set(d.usage[index["val"]]) == {"PublicTest"} and set(d.usage[index["test"]]) == {"PrivateTest"}


def test_train_limit_keeps_a_stratified_subset(cache_dir):
    d = fer.load("demo:3000", cache_dir)
    full = fer.split_index(d)
    limited = fer.split_index(d, train_limit=500)
    assert len(limited["train"]) == 500 and set(limited["train"]) <= set(full["train"])
    assert np.array_equal(limited["val"], full["val"]) and np.array_equal(limited["test"], full["test"])


def test_only_a_test_folder_serves_evaluation_not_search(tmp_path, faces, cache_dir):
    files = {k: v for k, v in tree_files(faces).items() if k.startswith("test/")}
    d = fer.load(write_zip(tmp_path / "test-only.zip", files), cache_dir)
    splits = fer.make_splits(d, need=("test",), cache_dir=cache_dir)
    assert splits.sizes() == {"train": 0, "val": 0, "test": 21}
    with pytest.raises(FerSearchError, match="holds no 'train' images"):
        fer.make_splits(d, cache_dir=cache_dir)


def test_second_load_comes_from_the_cache(fer_zip, cache_dir):
    first = fer.load(fer_zip, cache_dir)
    second = fer.load(fer_zip, cache_dir)
    assert not first.from_cache and second.from_cache
    assert second.cache_file.parent == cache_dir / "datasets" and second.cache_file.suffix == ".arrow"
    assert np.array_equal(first.images, second.images) and np.array_equal(first.labels, second.labels)
    assert list(first.usage) == list(second.usage)


def test_a_damaged_cache_is_rebuilt(fer_zip, cache_dir):
    first = fer.load(fer_zip, cache_dir)
    first.cache_file.write_bytes(b"garbage")
    again = fer.load(fer_zip, cache_dir)
    assert not again.from_cache and np.array_equal(first.images, again.images)


def test_fingerprint_follows_content(tmp_path, faces, cache_dir):
    files = tree_files(faces)
    a = fer.load(write_zip(tmp_path / "a.zip", files), cache_dir).fingerprint
    same = fer.load(write_zip(tmp_path / "same-content.zip", files), cache_dir).fingerprint
    first, second = list(files)[:2]
    files[first] = files[second]  # same names, one image's content changed
    b = fer.load(write_zip(tmp_path / "b.zip", files), cache_dir).fingerprint
    assert a == same and a != b


def test_cache_dir_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("FER_SEARCH_CACHE", str(tmp_path / "here"))
    assert fer.default_cache_dir() == tmp_path / "here"
    monkeypatch.delenv("FER_SEARCH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert fer.default_cache_dir() == tmp_path / "xdg" / "fer-search"


def test_demo_spec(cache_dir):
    assert fer.parse_demo_spec("demo") == 10_000 and fer.parse_demo_spec("demo:700") == 700
    assert fer.parse_demo_spec("data/fer.zip") is None
    with pytest.raises(FerSearchError, match="demo size"):
        fer.parse_demo_spec("demo:ten")
