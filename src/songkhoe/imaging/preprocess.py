"""TorchXRayVision's input pipeline, in NumPy and SciPy (no torch, no scikit-image at run time).

Follows torchxrayvision 1.x: `xrv.utils.normalize(img, maxval)` scales to [-1024, 1024];
`xrv.datasets.XRayCenterCrop` crops the central square; `xrv.datasets.XRayResizer(size)` with
its default skimage engine calls `skimage.transform.resize(img, (1, size, size),
mode="constant", preserve_range=True)`, which for a downscale is a Gaussian anti-aliasing filter
(sigma = (factor - 1) / 2) then `scipy.ndimage.zoom(order=1, grid_mode=True)` and a clip to the
input's range (scikit-image 0.19+, skimage/transform/_warps.py). The tests check this against
scikit-image itself.
"""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

XRV_RANGE = 1024.0


def normalize(img: np.ndarray, maxval: float) -> np.ndarray:
    """`xrv.utils.normalize`: [0, maxval] to [-1024, 1024], float32."""
    if img.max() > maxval:
        raise ValueError(f"max image value ({img.max()}) higher than expected bound ({maxval})")
    return (2 * (img.astype(np.float32) / maxval) - 1.0) * XRV_RANGE


@dataclass(frozen=True, slots=True)
class Crop:
    """Where the model's square input came from in the film: the central square's top-left
    corner and side, in film pixels, and the side it was resized to."""

    top: int
    left: int
    side: int
    size: int


def center_crop(img: np.ndarray) -> tuple[np.ndarray, Crop]:
    """`XRayCenterCrop` on a 2-D image: the central square of side min(height, width)."""
    height, width = img.shape
    side = min(height, width)
    top, left = height // 2 - side // 2, width // 2 - side // 2
    return img[top : top + side, left : left + side], Crop(top, left, side, side)


def resize(img: np.ndarray, size: int) -> np.ndarray:
    """`skimage.transform.resize(img, (size, size), mode="constant", preserve_range=True)`
    for a float32 2-D image (`XRayResizer`), float32."""
    img = img.astype(np.float32, copy=False)
    factors = np.divide(img.shape, (size, size))
    filtered = img
    if np.any(factors > 1):  # scikit-image anti-aliases only when downsampling
        sigma = np.maximum(0, (factors - 1) / 2)
        filtered = ndimage.gaussian_filter(img, sigma, cval=0.0, mode="constant")
    out = ndimage.zoom(
        filtered, 1 / factors, order=1, mode="grid-constant", cval=0.0, grid_mode=True
    )
    low, high = float(img.min()), float(img.max())
    if not low <= 0.0 <= high and out.min() <= 0.0 <= out.max():  # the padding value counts
        low, high = min(low, 0.0), max(high, 0.0)
    return np.clip(out, low, high).astype(np.float32, copy=False)


def model_input(img: np.ndarray, maxval: float, size: int) -> tuple[np.ndarray, Crop]:
    """A film (2-D, 0..maxval, bright = dense) as the model's (1, size, size) input and the crop
    it came from."""
    square, crop = center_crop(normalize(img, maxval))
    return resize(square, size)[None], Crop(crop.top, crop.left, crop.side, size)
