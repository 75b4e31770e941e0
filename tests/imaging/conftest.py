"""Phantom films, DICOM files written here with pydicom, and the demonstration model trained
once per test session (a few seconds) into a model directory of the session's own."""

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from songkhoe.imaging import phantom
from songkhoe.imaging.install import install
from songkhoe.imaging.registry import InstalledModel

DX = "1.2.840.10008.5.1.4.1.1.1.1"


def dicom_bytes(
    film: np.ndarray,
    *,
    photometric: str = "MONOCHROME2",
    bits: int = 12,
    window: tuple[float, float] | None = None,
    view: str = "PA",
    modality: str = "DX",
    name: str = "Nguyễn^Văn A",
    compress: str | None = None,
) -> bytes:
    """A DICOM file of a film in 0..1 (bright = dense). With `window` (centre, width) the stored
    values fill only that window, so only windowing gives the film back; MONOCHROME1 stores
    them inverted."""
    top = 2**bits - 1
    if window is None:
        stored = film * top
    else:
        centre, width = window
        stored = centre - width / 2 + film * width
        low, high = centre - width / 2, centre + width / 2
        if photometric == "MONOCHROME1":
            stored = high - (stored - low)
    if photometric == "MONOCHROME1" and window is None:
        stored = top - stored
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DX
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"  # UTF-8: Vietnamese names
    ds.SOPClassUID, ds.SOPInstanceUID = DX, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.ViewPosition, ds.BodyPartExamined = modality, view, "CHEST"
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = name, "027160000001", "19600501"
    ds.InstitutionName, ds.StudyDate = "Bệnh viện đa khoa huyện", "20260301"
    ds.add_new((0x0011, 0x0010), "LO", "ACME private")
    ds.add_new((0x0011, 0x1001), "LO", "secret")
    ds.Rows, ds.Columns = film.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, bits, bits - 1, 0
    ds.PixelSpacing = [0.2, 0.2]
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    ds.PixelData = np.round(stored).astype(np.uint16).tobytes()
    if compress:
        ds.compress(compress)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def png_bytes(film: np.ndarray, bits: int = 8) -> bytes:
    top = 2**bits - 1
    array = np.round(film * top).astype(np.uint8 if bits == 8 else np.uint16)
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def make_dicom() -> Callable[..., bytes]:
    return dicom_bytes


@pytest.fixture
def make_png() -> Callable[..., bytes]:
    return png_bytes


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def phantom_model(model_dir: Path) -> InstalledModel:
    """`songkhoe imaging install phantom-demo`, once per session."""
    return install("phantom-demo", model_dir=model_dir)


@pytest.fixture(scope="session")
def phantoms() -> phantom.Phantoms:
    """Held-out phantom films, wider than tall (the centre crop matters), other seed than
    training."""
    return phantom.draw(60, height=160, width=200, seed=2024)


@pytest.fixture
def imaging_env(monkeypatch, tmp_path: Path, model_dir: Path) -> Path:
    """Settings for the app and commands: media under tmp_path, the session's models."""
    media = tmp_path / "media"
    monkeypatch.setenv("SONGKHOE_MEDIA_DIR", str(media))
    monkeypatch.setenv("SONGKHOE_MODEL_DIR", str(model_dir))
    monkeypatch.setenv("SONGKHOE_IMAGING_MODEL", "phantom-demo")
    monkeypatch.setenv("SONGKHOE_IMAGING_WORKER", "off")
    return media
