"""HOG: shape, caching, and agreement with scikit-image's reference implementation."""

import numpy as np
import pytest

from trainables import demo, features


@pytest.mark.parametrize("orientations, cell, block", [(9, 8, 2), (6, 6, 3), (12, 12, 1), (9, 6, 2)])
def test_hog_shape(orientations, cell, block):
    images = demo.generate(80, seed=4).images[:5]
    h = features.hog(images, orientations, cell, block)
    assert h.shape == (5, features.hog_size(orientations, cell, block)) and h.dtype == np.float32
    assert features.hog_size(9, 8, 2) == 900  # the classic 48x48 setting


def test_hog_agrees_with_scikit_image():
    """Same cells, blocks and bins as skimage.feature.hog (L2-Hys); OpenCV interpolates
    votes across neighbouring cells and weights blocks with a Gaussian, skimage does
    neither, so the two correlate strongly without being equal."""
    from skimage.feature import hog as reference

    images = demo.generate(80, seed=3).images[:6]
    ours = features.hog(images, 9, 8, 2)
    for img, mine in zip(images, ours):
        ref = reference(img, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2),
                        block_norm="L2-Hys", feature_vector=False)  # (block row, block col, cell row, cell col, bin)
        ref = ref.transpose(1, 0, 3, 2, 4).ravel()  # OpenCV walks blocks and cells column by column
        assert np.corrcoef(mine, ref)[0, 1] > 0.6


def test_hog_dominant_orientation_of_a_ramp():
    """A horizontal ramp has vertical-axis-free gradients: every block votes in bin 0 (0-20 degrees)
    in both implementations."""
    from skimage.feature import hog as reference

    ramp = np.tile(np.arange(48, dtype=np.uint8) * 5, (48, 1))[None]
    mine = features.hog(ramp, 9, 8, 2).reshape(-1, 9)
    ref = reference(ramp[0], orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2), block_norm="L2-Hys").reshape(-1, 9)
    assert (mine.argmax(1) == 0).all() and (ref.argmax(1) == 0).all()


def test_transformers_take_raw_pixels_in_both_shapes():
    images = demo.generate(80, seed=5).images[:4]
    step = features.HogFeatures(9, 8, 2)
    assert np.array_equal(step.transform(images), step.transform(images.reshape(4, -1)))
    assert features.PixelFeatures().transform(images).shape == (4, 2304)
    with pytest.raises(ValueError, match="expected images of shape"):
        step.transform(np.zeros((3, 32, 32)))


def test_cached_hog_is_computed_once(tmp_path):
    images = demo.generate(90, seed=6).images
    a = features.cached_hog(images, "fp", tmp_path, 9, 8, 2)
    path = tmp_path / "features" / "fp" / "hog-o9-c8-b2.npy"
    stamp = path.stat().st_mtime_ns
    b = features.cached_hog(images, "fp", tmp_path, 9, 8, 2)
    assert path.stat().st_mtime_ns == stamp and np.array_equal(a, b)
    assert np.array_equal(a, features.hog(images, 9, 8, 2))
