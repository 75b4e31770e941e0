"""TorchXRayVision's preprocessing, checked against scikit-image itself (the resize
TorchXRayVision's XRayResizer calls) and against its published formulas."""

import numpy as np
import pytest
from skimage.transform import resize as skimage_resize

from songkhoe.imaging.inference import op_norm
from songkhoe.imaging.preprocess import center_crop, model_input, normalize, resize


@pytest.mark.parametrize("shape", [(517, 517), (300, 260), (224, 224), (100, 100), (1024, 1024)])
def test_resize_is_scikit_images(shape):
    rng = np.random.default_rng(sum(shape))
    img = rng.uniform(-1024, 1024, shape).astype(np.float32)
    img[:20] = 900.0  # flat areas and edges, where clipping and padding show
    expected = skimage_resize(
        img[None], (1, 224, 224), mode="constant", preserve_range=True
    ).astype(np.float32)[0]
    np.testing.assert_allclose(resize(img, 224), expected, rtol=0, atol=2e-3)


def test_resize_of_an_all_positive_image_keeps_scikit_images_clip():
    img = np.random.default_rng(1).uniform(10, 20, (301, 301)).astype(np.float32)
    expected = skimage_resize(img[None], (1, 64, 64), mode="constant", preserve_range=True)[0]
    np.testing.assert_allclose(resize(img, 64), expected, atol=1e-4)


def test_normalize_and_centre_crop_follow_torchxrayvision():
    img = np.arange(0, 256, dtype=np.uint8).reshape(16, 16)
    out = normalize(img, 255)
    assert out.dtype == np.float32 and out.min() == -1024 and out.max() == 1024
    np.testing.assert_allclose(out, (2 * (img / 255) - 1) * 1024, rtol=0, atol=1e-3)
    with pytest.raises(ValueError, match="higher than expected"):
        normalize(img, 200)
    wide = np.zeros((10, 17))
    square, crop = center_crop(wide)
    assert square.shape == (10, 10) and (crop.top, crop.left, crop.side) == (0, 3, 10)  # 17//2-5


def test_model_input_shape_and_range():
    film = np.random.default_rng(0).uniform(0, 4095, (300, 400)).astype(np.float32)
    x, crop = model_input(film, 4095, 224)
    assert x.shape == (1, 224, 224) and x.dtype == np.float32
    assert -1024 <= x.min() and x.max() <= 1024
    assert (crop.top, crop.left, crop.side, crop.size) == (0, 50, 300, 224)


def test_op_norm_is_torchxrayvisions():
    p = np.array([[0.01, 0.2, 0.9, 0.5]])
    t = np.array([0.1, 0.2, 0.3, np.nan])
    expected = [0.01 / 0.2, 1 - 0.8 / 1.6, 1 - 0.1 / 1.4, 0.5]  # models.op_norm, by hand
    np.testing.assert_allclose(op_norm(p, t)[0], expected)
