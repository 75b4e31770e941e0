"""Reading films: DICOM written here with pydicom (MONOCHROME1, windows, VOI LUT sequences,
compressed transfer syntaxes), PNG and JPEG; refusals with their reason; de-identification."""

import io

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.uid import JPEG2000Lossless, RLELossless

from songkhoe.imaging.deid import deidentify
from songkhoe.imaging.ingest import InvalidImage, read_film

FILM = np.clip(np.random.default_rng(3).normal(0.5, 0.2, (96, 120)), 0, 1)


def unit(film) -> np.ndarray:
    return film.pixels / film.maxval


def test_monochrome2_twelve_bit_is_read_as_stored(make_dicom):
    film = read_film(make_dicom(FILM, bits=12), "a.dcm")
    assert film.maxval == 4095 and film.content_type == "application/dicom"
    np.testing.assert_allclose(unit(film), FILM, atol=1 / 4095)
    assert film.view == "PA" and film.pixel_spacing_mm == (0.2, 0.2) and film.sop_uid


def test_monochrome1_is_inverted_so_dense_is_bright(make_dicom):
    film = read_film(make_dicom(FILM, photometric="MONOCHROME1", bits=12), "m1.dcm")
    np.testing.assert_allclose(unit(film), FILM, atol=1 / 4095)


def test_monochrome1_with_a_window_gives_the_film_back(make_dicom):
    data = make_dicom(FILM, photometric="MONOCHROME1", bits=14, window=(6000.0, 3000.0))
    ds = pydicom.dcmread(io.BytesIO(data))
    raw = ds.pixel_array
    assert 4500 <= raw.min() and raw.max() <= 7500, "only the window holds the values"
    film = read_film(data, "window.dcm")
    assert film.maxval == 2**14 - 1
    np.testing.assert_allclose(unit(film), FILM, atol=2e-3)


def test_a_voi_lut_sequence_is_applied(make_dicom):
    data = make_dicom(FILM, bits=12)
    ds = pydicom.dcmread(io.BytesIO(data))
    lut = Dataset()
    lut.LUTDescriptor = [4096, 0, 8]
    lut.add_new(0x00283006, "US", (np.arange(4096) // 16).tolist())  # LUTData: 12 to 8 bits
    ds.VOILUTSequence = [lut]
    out = io.BytesIO()
    ds.save_as(out)
    film = read_film(out.getvalue(), "lut.dcm")
    assert film.maxval == 255
    np.testing.assert_allclose(unit(film), np.floor(np.round(FILM * 4095) / 16) / 255, atol=1e-6)


@pytest.mark.parametrize("syntax", [RLELossless, JPEG2000Lossless])
def test_compressed_transfer_syntaxes_decode_to_the_same_pixels(make_dicom, syntax):
    plain = read_film(make_dicom(FILM, bits=12), "plain.dcm")
    packed = make_dicom(FILM, bits=12, compress=syntax)
    assert pydicom.dcmread(io.BytesIO(packed)).file_meta.TransferSyntaxUID == syntax
    np.testing.assert_array_equal(read_film(packed, "packed.dcm").pixels, plain.pixels)


def test_png_jpeg_and_sixteen_bit_png(make_png):
    eight = read_film(make_png(FILM), "a.png")
    assert eight.maxval == 255 and eight.content_type == "image/png"
    np.testing.assert_allclose(unit(eight), FILM, atol=1 / 255)
    sixteen = read_film(make_png(FILM, bits=16), "b.png")
    assert sixteen.maxval == 65535
    np.testing.assert_allclose(unit(sixteen), FILM, atol=1 / 65535)
    rgb = Image.fromarray(np.repeat(np.round(FILM * 255).astype(np.uint8)[..., None], 3, 2))
    out = io.BytesIO()
    rgb.save(out, format="JPEG", quality=95)
    jpeg = read_film(out.getvalue(), "c.jpg")
    assert jpeg.content_type == "image/jpeg" and jpeg.pixels.shape == FILM.shape
    assert np.abs(unit(jpeg) - FILM).mean() < 0.02


def test_refusals_say_why(make_dicom, make_png):
    cases = {
        b"": "empty",
        b"name,age\nLan,60\n": "not a DICOM, PNG or JPEG",
        make_png(FILM)[:200]: "not a readable PNG",
        make_dicom(FILM, view="LL"): "view LL is not frontal",
        make_dicom(FILM, modality="CT"): "modality CT is not a radiograph",
        make_png(FILM[:20, :20]): "too small",
    }
    for data, reason in cases.items():
        with pytest.raises(InvalidImage, match=reason) as refused:
            read_film(data, "upload.bin")
        assert str(refused.value).startswith("upload.bin: ")
    ds = pydicom.dcmread(io.BytesIO(make_dicom(FILM)))
    del ds.PixelData
    out = io.BytesIO()
    ds.save_as(out)
    with pytest.raises(InvalidImage, match="no pixel data"):
        read_film(out.getvalue(), "header-only.dcm")


def test_deidentified_export_keeps_pixels_and_drops_the_person(make_dicom):
    data = make_dicom(FILM, photometric="MONOCHROME1", window=(2000.0, 1500.0))
    before = pydicom.dcmread(io.BytesIO(data))
    after = pydicom.dcmread(io.BytesIO(deidentify(data, pseudonym="cxr-1")))
    assert str(after.PatientName) == "cxr-1" and after.PatientID == "cxr-1"
    assert after.PatientBirthDate == "" and "InstitutionName" not in after
    assert after.StudyDate == "" and after.PatientIdentityRemoved == "YES"
    assert (0x0011, 0x1001) not in after, "private tags are removed"
    for uid in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        assert getattr(after, uid) != getattr(before, uid)
    assert after.file_meta.MediaStorageSOPInstanceUID == after.SOPInstanceUID
    np.testing.assert_array_equal(
        read_film(deidentify(data, pseudonym="x")).pixels, read_film(data).pixels
    )
    assert b"Nguy" not in deidentify(data, pseudonym="x") and b"02716" not in deidentify(
        data, pseudonym="x"
    )
