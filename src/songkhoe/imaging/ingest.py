"""Reading a chest film from the bytes of an upload: DICOM (pydicom; compressed transfer syntaxes
through pylibjpeg's JPEG, JPEG-LS and JPEG 2000 decoders; RLE natively), PNG or
JPEG (Pillow). Anything else, a corrupt file, a lateral view or another modality is refused with
the reason.

A film's pixels come out as TorchXRayVision reads them (torchxrayvision 1.x,
`utils.read_xray_dcm`): the values the file stores, MONOCHROME1 inverted (`maxval - data`) so
that dense tissue is bright, on a scale of 0..maxval with maxval = 2**BitsStored - 1. Where the
file carries a VOI LUT or a window (DICOM PS3.3 C.11.2), that is applied first, after the
modality LUT (pydicom's `apply_modality_lut` and `apply_windowing`; the VOI LUT here), and the
scale is its output range.
"""

import io
import warnings
from dataclasses import dataclass

import numpy as np
import pydicom
from PIL import Image, UnidentifiedImageError
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_modality_lut, apply_windowing

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
MIN_SIDE = 32
FRONTAL_VIEWS = frozenset({"PA", "AP", ""})
RADIOGRAPHY = frozenset({"CR", "DX", "DR", "RG", "OT", ""})


class InvalidImage(ValueError):
    """The upload is not a chest film that can be read; the message says why."""


@dataclass(frozen=True, slots=True)
class Film:
    """One frontal chest film: 2-D float32 pixels on 0..maxval, bright = dense."""

    pixels: np.ndarray
    maxval: float
    content_type: str  # of the original file
    view: str | None = None  # DICOM ViewPosition (PA, AP) when known
    modality: str | None = None
    pixel_spacing_mm: tuple[float, float] | None = None  # (row, column)
    study_uid: str | None = None
    series_uid: str | None = None
    sop_uid: str | None = None
    sop_class_uid: str | None = None

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    def display(self) -> np.ndarray:
        """The film as 8-bit grey levels for the screen."""
        return np.round(self.pixels * (255.0 / self.maxval)).astype(np.uint8)


def read_film(data: bytes, filename: str = "upload") -> Film:
    """The film in an uploaded file, or InvalidImage naming the file and the reason."""
    if not data:
        raise InvalidImage(f"{filename}: the file is empty")
    try:
        if data.startswith(PNG_MAGIC) or data.startswith(JPEG_MAGIC):
            film = _read_raster(data)
        else:
            film = _read_dicom(data)
    except InvalidImage as exc:
        raise InvalidImage(f"{filename}: {exc}") from None
    if min(film.pixels.shape) < MIN_SIDE:
        raise InvalidImage(
            f"{filename}: the image is {film.width}×{film.height} pixels, too small for a "
            f"chest film (at least {MIN_SIDE} pixels a side)"
        )
    return film


def _read_raster(data: bytes) -> Film:
    content_type = "image/png" if data.startswith(PNG_MAGIC) else "image/jpeg"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Warning) as exc:
        raise InvalidImage(f"not a readable {content_type.split('/')[1].upper()} ({exc})") from None
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        pixels, maxval = np.asarray(image, dtype=np.float32), 65535.0
    elif image.mode == "L":
        pixels, maxval = np.asarray(image, dtype=np.float32), 255.0
    else:  # colour or palette: the mean of R, G, B (TorchXRayVision's README: img.mean(2))
        rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
        pixels, maxval = rgb.mean(axis=2, dtype=np.float32), 255.0
    return Film(np.ascontiguousarray(pixels), maxval, content_type)


def _read_dicom(data: bytes) -> Film:
    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=data[128:132] != b"DICM")
    except (InvalidDicomError, EOFError, ValueError, TypeError, OSError) as exc:
        raise InvalidImage(f"not a DICOM, PNG or JPEG image ({exc})") from None
    if "PixelData" not in ds:
        raise InvalidImage("not a DICOM, PNG or JPEG image (no pixel data)")
    _check_chest_film(ds)
    try:
        stored = ds.pixel_array
    except Exception as exc:  # each decoder raises its own errors
        syntax = getattr(ds.file_meta, "TransferSyntaxUID", None)
        name = syntax.name if syntax is not None else "unknown transfer syntax"
        raise InvalidImage(f"the DICOM pixel data cannot be decoded ({name}: {exc})") from None
    values = apply_modality_lut(stored, ds)
    low, high = _modality_range(ds)
    if ds.get("VOILUTSequence"):
        values, low, high = _voi_lut(values, ds.VOILUTSequence[0])
    elif "WindowCenter" in ds and "WindowWidth" in ds:
        values = apply_windowing(values, ds, index=0)
    maxval = high - low
    pixels = np.clip(np.asarray(values, dtype=np.float64), low, high) - low
    if ds.PhotometricInterpretation == "MONOCHROME1":
        pixels = maxval - pixels
    spacing = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing")
    return Film(
        pixels.astype(np.float32),
        maxval,
        "application/dicom",
        view=str(ds.get("ViewPosition", "")) or None,
        modality=str(ds.get("Modality", "")) or None,
        pixel_spacing_mm=(float(spacing[0]), float(spacing[1])) if spacing else None,
        study_uid=str(ds.get("StudyInstanceUID", "")) or None,
        series_uid=str(ds.get("SeriesInstanceUID", "")) or None,
        sop_uid=str(ds.get("SOPInstanceUID", "")) or None,
        sop_class_uid=str(ds.get("SOPClassUID", "")) or None,
    )


def _check_chest_film(ds: Dataset) -> None:
    modality = str(ds.get("Modality", "")).upper()
    if modality not in RADIOGRAPHY:
        raise InvalidImage(f"modality {modality} is not a radiograph (CR or DX expected)")
    view = str(ds.get("ViewPosition", "")).upper()
    if view not in FRONTAL_VIEWS:
        raise InvalidImage(f"view {view} is not frontal: only PA or AP chest films are read")
    photometric = str(ds.get("PhotometricInterpretation", ""))
    if photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise InvalidImage(
            f"photometric interpretation {photometric or 'missing'}: a chest film "
            "is MONOCHROME1 or MONOCHROME2"
        )
    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        raise InvalidImage("a multi-frame DICOM is not a single chest film")


def _modality_range(ds: Dataset) -> tuple[float, float]:
    """The range of values after the modality LUT, as pydicom's apply_windowing takes it."""
    bits = int(ds.BitsStored)
    if ds.get("ModalityLUTSequence"):
        return 0.0, float(2 ** int(ds.ModalityLUTSequence[0].LUTDescriptor[2]) - 1)
    if int(ds.PixelRepresentation) == 0:
        low, high = 0.0, float(2**bits - 1)
    else:
        low, high = float(-(2 ** (bits - 1))), float(2 ** (bits - 1) - 1)
    slope, intercept = ds.get("RescaleSlope"), ds.get("RescaleIntercept")
    if slope is not None and intercept is not None:
        low, high = sorted(
            (low * float(slope) + float(intercept), high * float(slope) + float(intercept))
        )
    return low, high


def _voi_lut(values: np.ndarray, item: Dataset) -> tuple[np.ndarray, float, float]:
    """A VOI LUT (PS3.3 C.11.2.1.1): values below the first mapped one take the first entry,
    above the last the last; the output range is 0..2**bits - 1. (pydicom 3.0's apply_voi
    indexes an 8-bit LUT through uint8 indices, which wraps past 255 entries.)"""
    entries, first, bits = (int(v) for v in item.LUTDescriptor)
    entries = entries or 65536
    if item["LUTData"].VR == "OW":
        table = np.frombuffer(item.LUTData, dtype="<u2")[:entries]
    else:
        table = np.asarray(item.LUTData, dtype=np.int64)
    index = np.clip(np.asarray(values, dtype=np.int64) - first, 0, entries - 1)
    return table[index].astype(np.float64), 0.0, float(2**bits - 1)
