"""Heatmaps from class activation maps: the map of one finding brought back onto the film
(through the model's centre crop), its bounding region, and the overlay shown to the doctor.
Pure NumPy/SciPy/Pillow."""

import io

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from songkhoe.imaging.preprocess import Crop

DISPLAY_SIDE = 1024  # the longest side of the films and overlays kept for the screen
REGION_THRESHOLD = 0.5  # of the map's peak (Zhou et al. 2016 used 20% for boxes; 50% is tighter)


def film_heat(cam: np.ndarray, crop: Crop, shape: tuple[int, int]) -> np.ndarray:
    """One class activation map (h, w) as a film-sized map in 0..1 (0 outside the crop):
    ReLU, bilinear upsampling to the crop, scaled by its peak."""
    heat = np.zeros(shape, np.float32)
    positive = np.maximum(cam, 0).astype(np.float32)
    if positive.max() <= 0:
        return heat
    square = Image.fromarray(positive).resize((crop.side, crop.side), Image.Resampling.BILINEAR)
    up = np.asarray(square, dtype=np.float32)
    heat[crop.top : crop.top + crop.side, crop.left : crop.left + crop.side] = up / up.max()
    return heat


def peak(heat: np.ndarray) -> tuple[int, int]:
    """(row, column) of the map's maximum."""
    row, col = np.unravel_index(int(np.argmax(heat)), heat.shape)
    return int(row), int(col)


def region(heat: np.ndarray, threshold: float = REGION_THRESHOLD) -> tuple[int, int, int, int]:
    """The bounding box (x, y, width, height) in film pixels of the part of the map above
    `threshold` of its peak that holds the peak."""
    labelled, _ = ndimage.label(heat >= threshold * heat.max())
    rows, cols = np.nonzero(labelled == labelled[peak(heat)])
    return (
        int(cols.min()),
        int(rows.min()),
        int(cols.max() - cols.min() + 1),
        int(rows.max() - rows.min() + 1),
    )


def _colours(heat: np.ndarray) -> np.ndarray:
    """A blue-cyan-yellow-red colour scale (like matplotlib's jet), uint8 RGB."""
    scaled = 4 * heat[..., None] - np.array([3.0, 2.0, 1.0])
    return (np.clip(1.5 - np.abs(scaled), 0, 1) * 255).astype(np.uint8)


def _display_scale(shape: tuple[int, int]) -> float:
    return min(1.0, DISPLAY_SIDE / max(shape))


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def film_png(grey: np.ndarray) -> bytes:
    """The film (uint8 grey levels) as the PNG shown on screen, at most DISPLAY_SIDE a side."""
    image = Image.fromarray(grey)
    scale = _display_scale(grey.shape)
    if scale < 1:
        size = (round(grey.shape[1] * scale), round(grey.shape[0] * scale))
        image = image.resize(size, Image.Resampling.LANCZOS)
    return _png(image)


def overlay_png(grey: np.ndarray, heat: np.ndarray, box: tuple[int, int, int, int]) -> bytes:
    """The film with the heatmap blended over it (transparent where the map is below 15% of
    its peak) and the region outlined, at the size of `film_png`."""
    scale = _display_scale(grey.shape)
    size = (round(grey.shape[1] * scale), round(grey.shape[0] * scale))
    film = Image.fromarray(grey).resize(size, Image.Resampling.LANCZOS).convert("RGB")
    small = np.asarray(Image.fromarray(heat).resize(size, Image.Resampling.BILINEAR))
    alpha = np.where(small >= 0.15, 0.25 + 0.4 * small, 0.0)[..., None]
    blended = np.asarray(film, np.float32) * (1 - alpha) + _colours(small) * alpha
    image = Image.fromarray(blended.round().astype(np.uint8))
    x, y, w, h = (v * scale for v in box)
    ImageDraw.Draw(image).rectangle([x, y, x + w - 1, y + h - 1], outline=(255, 255, 255), width=2)
    return _png(image)
