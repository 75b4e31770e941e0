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
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pydicom
from PIL import Image, UnidentifiedImageError
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.pixels import apply_modality_lut, apply_windowing

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
MIN_SIDE = 32
MAX_PIXELS = 40_000_000  # a 43 × 43 cm detector at 0.1 mm is 18.5 M pixels
BITS_ALLOCATED = frozenset({8, 16})
LUT_BITS = range(8, 17)  # LUTDescriptor's third value (PS3.3 C.11.1.1.1, C.11.2.1.1)
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
    kind = content_type.split("/")[1].upper()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # reads the header only
            _check_size(image.width, image.height, 1)
            image.load()
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        OSError,
        SyntaxError,
        ValueError,
        Warning,
    ) as exc:
        if isinstance(exc, InvalidImage):
            raise
        raise InvalidImage(f"not a readable {kind} ({exc})") from None
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
    _check_pixel_header(ds)
    spacing = _spacing(ds)
    low, high = _modality_range(ds)
    window = _window(ds)
    voi = _voi_item(ds)
    try:
        stored = ds.pixel_array
    except Exception as exc:  # each decoder raises its own errors
        syntax = getattr(ds.file_meta, "TransferSyntaxUID", None)
        name = syntax.name if syntax is not None else "unknown transfer syntax"
        raise InvalidImage(f"the DICOM pixel data cannot be decoded ({name}: {exc})") from None
    try:
        values = apply_modality_lut(stored, ds)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        raise InvalidImage(f"ModalityLUTSequence cannot be applied ({exc})") from None
    if voi is not None:
        values, low, high = _voi_lut(values, voi)
    elif window is not None:
        values = apply_windowing(values, ds, index=0)
    maxval = high - low
    if not maxval > 0:
        raise InvalidImage("the pixel values have no range (RescaleSlope, BitsStored or LUT)")
    pixels = np.asarray(values, dtype=np.float64)  # changed in place: nothing else reads it
    np.clip(pixels, low, high, out=pixels)
    pixels -= low
    if ds.PhotometricInterpretation == "MONOCHROME1":
        np.subtract(maxval, pixels, out=pixels)
    return Film(
        pixels.astype(np.float32),
        maxval,
        "application/dicom",
        view=str(ds.get("ViewPosition", "")) or None,
        modality=str(ds.get("Modality", "")) or None,
        pixel_spacing_mm=spacing,
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
    if _whole(ds, "NumberOfFrames", 1) != 1:
        raise InvalidImage("a multi-frame DICOM is not a single chest film (NumberOfFrames)")


def _check_size(width: int, height: int, samples: int) -> None:
    if width * height * samples > MAX_PIXELS:
        raise InvalidImage(
            f"the image is {width}×{height} pixels, more than a chest film has "
            f"(at most {MAX_PIXELS // 1_000_000} million pixels)"
        )


def _check_pixel_header(ds: Dataset) -> None:
    """What decoding would allocate, checked before decoding (a small compressed file can
    claim a huge image: a decompression bomb)."""
    rows, columns = _whole(ds, "Rows"), _whole(ds, "Columns")
    if rows < 1 or columns < 1:
        raise InvalidImage(f"Rows {rows} and Columns {columns} must be at least 1")
    samples = _whole(ds, "SamplesPerPixel", 1)
    if samples != 1:
        raise InvalidImage(f"SamplesPerPixel {samples}: a grey-scale film has 1")
    _check_size(columns, rows, samples)
    allocated, stored = _whole(ds, "BitsAllocated"), _whole(ds, "BitsStored")
    if allocated not in BITS_ALLOCATED:
        raise InvalidImage(f"BitsAllocated {allocated}: only 8 or 16 bits a pixel are read")
    if not 1 <= stored <= allocated:
        raise InvalidImage(f"BitsStored {stored} must be 1..BitsAllocated ({allocated})")
    if _whole(ds, "PixelRepresentation", 0) not in (0, 1):
        raise InvalidImage("PixelRepresentation must be 0 (unsigned) or 1 (signed)")


def _value(ds: Dataset, keyword: str, default: object = None) -> object:
    """A header value as pydicom reads it, or InvalidImage naming the attribute."""
    try:
        value = ds.get(keyword, default)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidImage(f"{keyword} cannot be read ({exc})") from None
    return default if value is None or value == "" else value


def _whole(ds: Dataset, keyword: str, default: int | None = None) -> int:
    value = _value(ds, keyword, default)
    if value is None:
        raise InvalidImage(f"{keyword} is missing")
    try:
        number = float(value)
    except (ValueError, TypeError):
        raise InvalidImage(f"{keyword} {value!r} is not a whole number") from None
    if not number.is_integer():
        raise InvalidImage(f"{keyword} {value!r} is not a whole number")
    return int(number)


def _numbers(ds: Dataset, keyword: str, count: int) -> list[float] | None:
    """The first `count` numbers of a (multi-valued) attribute; None when absent."""
    value = _value(ds, keyword)
    if value is None:
        return None
    values = list(value) if isinstance(value, MultiValue | list | tuple) else [value]
    try:
        numbers = [float(v) for v in values[:count]]
    except (ValueError, TypeError):
        raise InvalidImage(f"{keyword} {value!r} is not a number") from None
    if len(numbers) < count or not all(math.isfinite(n) for n in numbers):
        raise InvalidImage(f"{keyword} needs {count} finite numbers, got {value!r}")
    return numbers


def _spacing(ds: Dataset) -> tuple[float, float] | None:
    """(row, column) spacing in mm from PixelSpacing or ImagerPixelSpacing."""
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        spacing = _numbers(ds, keyword, 2)
        if spacing is not None:
            if min(spacing) <= 0:
                raise InvalidImage(f"{keyword} {spacing} must be positive")
            return spacing[0], spacing[1]
    return None


def _window(ds: Dataset) -> tuple[float, float] | None:
    """The first window (centre, width), checked as pydicom's apply_windowing needs it."""
    centre, width = _numbers(ds, "WindowCenter", 1), _numbers(ds, "WindowWidth", 1)
    if centre is None or width is None:
        return None
    if width[0] < 1:
        raise InvalidImage(f"WindowWidth {width[0]:g} must be at least 1 (PS3.3 C.11.2.1.2)")
    return centre[0], width[0]


def _lut_descriptor(item: Dataset, sequence: str) -> tuple[int, int, int]:
    descriptor = _numbers(item, "LUTDescriptor", 3)
    if descriptor is None or "LUTData" not in item:
        raise InvalidImage(f"{sequence} has no LUTDescriptor or LUTData")
    entries, first, bits = (int(v) for v in descriptor)
    if bits not in LUT_BITS or not 0 <= entries <= 65535:
        raise InvalidImage(f"{sequence} LUTDescriptor {descriptor} is not a LUT of 8..16 bits")
    return entries or 65536, first, bits


def _voi_item(ds: Dataset) -> Dataset | None:
    sequence = _value(ds, "VOILUTSequence")
    if not sequence:
        return None
    _lut_descriptor(sequence[0], "VOILUTSequence")
    return sequence[0]


def _modality_range(ds: Dataset) -> tuple[float, float]:
    """The range of values after the modality LUT, as pydicom's apply_windowing takes it."""
    bits = _whole(ds, "BitsStored")
    lut = _value(ds, "ModalityLUTSequence")
    if lut:
        return 0.0, float(2 ** _lut_descriptor(lut[0], "ModalityLUTSequence")[2] - 1)
    if _whole(ds, "PixelRepresentation", 0) == 0:
        low, high = 0.0, float(2**bits - 1)
    else:
        low, high = float(-(2 ** (bits - 1))), float(2 ** (bits - 1) - 1)
    slope, intercept = _numbers(ds, "RescaleSlope", 1), _numbers(ds, "RescaleIntercept", 1)
    if slope is not None and intercept is not None:
        low, high = sorted((low * slope[0] + intercept[0], high * slope[0] + intercept[0]))
    return low, high


def _voi_lut(values: np.ndarray, item: Dataset) -> tuple[np.ndarray, float, float]:
    """A VOI LUT (PS3.3 C.11.2.1.1): values below the first mapped one take the first entry,
    above the last the last; the output range is 0..2**bits - 1. (pydicom 3.0's apply_voi
    indexes an 8-bit LUT through uint8 indices, which wraps past 255 entries.)"""
    entries, first, bits = _lut_descriptor(item, "VOILUTSequence")
    if item["LUTData"].VR == "OW":
        table = np.frombuffer(item.LUTData, dtype="<u2")[:entries]
    else:
        table = np.asarray(item.LUTData, dtype=np.int64)
    if len(table) < entries:
        raise InvalidImage(f"VOILUTSequence LUTData has {len(table)} entries, not {entries}")
    index = np.clip(np.asarray(values, dtype=np.int64) - first, 0, entries - 1)
    return table[index].astype(np.float64), 0.0, float(2**bits - 1)
