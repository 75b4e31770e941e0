"""Reading films: DICOM written here with pydicom (MONOCHROME1, windows, VOI LUT sequences,
compressed transfer syntaxes), PNG and JPEG; refusals with their reason; de-identification."""

import copy
import io
import struct
import zlib

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.tag import Tag
from pydicom.uid import JPEG2000Lossless, RLELossless

from songkhoe.imaging.deid import ExportRefused, deidentify
from songkhoe.imaging.ingest import InvalidImage, read_film

from .conftest import dicom_bytes

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


IDENTIFYING = {  # a value per attribute that PS3.15 Table E.1-1 removes, empties or replaces
    "ProtocolName": "Ngực thẳng - Nguyễn Văn A",
    "RequestedProcedureDescription": "XQ ngực cho Nguyễn Văn A",
    "PerformedStationName": "PHONG-XQ-2",
    "CurrentPatientLocation": "Khoa Nội, giường 12",
    "PatientState": "thở oxy",
    "ReasonForTheRequestedProcedure": "ho kéo dài, nghi lao",
    "AdmittingDiagnosesDescription": "Viêm phổi",
    "DerivationDescription": "xuất từ PACS bệnh viện huyện",
    "DeviceUID": "1.2.40.0.13.1.424242",
    "InstitutionName": "Bệnh viện đa khoa huyện",
    "OperatorsName": "Lê^Thị B",
    "AccessionNumber": "ACC-0001",
    "StudyID": "S-77",
    "StudyDate": "20260301",
    "ContentDate": "20260301",
    "PatientBirthDate": "19600501",
    "PatientAddress": "Thôn Đông, xã Tiên Du",
}


def identified_film(make_dicom, **extra) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(make_dicom(FILM, photometric="MONOCHROME1")))
    for keyword, value in {**IDENTIFYING, **extra}.items():
        setattr(ds, keyword, value)
    ds.PatientSex, ds.PatientAge = "M", "065Y"
    referenced = Dataset()
    referenced.ReferencedSOPClassUID = ds.SOPClassUID
    referenced.ReferencedSOPInstanceUID = "1.2.40.0.13.1.999999"
    referenced.add_new(0x00091001, "LO", "private, nested")
    referenced.ContentCreatorName = "Phạm^Văn C"  # a person named inside a sequence
    ds.ReferencedInstanceSequence = [referenced]  # not in Table E.1-1: its items are cleaned
    ds.ReferencedImageSequence = [copy.deepcopy(referenced)]  # X/Z/U*: removed
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def test_deidentified_export_applies_the_basic_profile_at_every_level(make_dicom):
    data = identified_film(make_dicom)
    before = pydicom.dcmread(io.BytesIO(data))
    exported = deidentify(data, pseudonym="cxr-1")
    after = pydicom.dcmread(io.BytesIO(exported))
    assert str(after.PatientName) == "cxr-1" and after.PatientID == "cxr-1"
    assert after.PatientIdentityRemoved == "YES" and "Basic Profile" in after.DeidentificationMethod
    for keyword, value in IDENTIFYING.items():
        if keyword == "DeviceUID":  # action U: a new UID
            assert after.DeviceUID != value and after.DeviceUID.is_valid
        else:
            assert after.get(keyword) in (None, "", "ANONYMIZED", "19000101"), keyword
        assert value.encode() not in exported, keyword
    assert (0x0011, 0x1001) not in after, "private tags are removed"
    assert "ReferencedImageSequence" not in after
    nested = after.ReferencedInstanceSequence[0]
    assert (0x0009, 0x1001) not in nested, "private tags are removed inside sequences too"
    assert nested.ReferencedSOPInstanceUID != "1.2.40.0.13.1.999999"
    assert nested.ReferencedSOPClassUID == before.SOPClassUID, "class UIDs are kept"
    assert str(nested.get("ContentCreatorName", "")) in ("", "ANONYMOUS")
    assert b"1.2.40.0.13.1.999999" not in exported
    assert "Phạm".encode() not in exported
    for uid in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        assert getattr(after, uid) != getattr(before, uid)
    assert after.file_meta.MediaStorageSOPInstanceUID == after.SOPInstanceUID
    assert after.PatientSex == "M" and after.PatientAge == "065Y", "patient characteristics kept"
    assert after.PixelSpacing == before.PixelSpacing and after.ViewPosition == "PA"
    np.testing.assert_array_equal(read_film(exported).pixels, read_film(data).pixels)
    for text in (b"Nguy", b"027160000001", b"Ti\xc3\xaan Du"):
        assert text not in exported


def test_a_film_with_burned_in_annotation_is_not_exported(make_dicom):
    with pytest.raises(ExportRefused, match="BurnedInAnnotation is YES"):
        deidentify(identified_film(make_dicom, BurnedInAnnotation="YES"), pseudonym="cxr-1")
    kept = deidentify(identified_film(make_dicom, BurnedInAnnotation="NO"), pseudonym="cxr-1")
    assert pydicom.dcmread(io.BytesIO(kept)).BurnedInAnnotation == "NO"


def changed(data: bytes, **raw: tuple[str, bytes]) -> bytes:
    """The DICOM file with attributes set to raw bytes as a sloppy writer would store them."""
    ds = pydicom.dcmread(io.BytesIO(data))
    for keyword, (vr, value) in raw.items():
        tag = Tag(keyword)
        ds[tag] = RawDataElement(tag, vr, len(value), value, 0, True, True)
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue()


@pytest.mark.filterwarnings("ignore:Invalid value for VR")
@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({"WindowCenter": ("DS", b"2048"), "WindowWidth": ("DS", b"0 ")}, "WindowWidth 0 must"),
        ({"PixelSpacing": ("DS", b"0.2 ")}, "PixelSpacing needs 2 finite numbers"),
        ({"NumberOfFrames": ("IS", b"abc ")}, "NumberOfFrames 'abc' is not a whole number"),
        ({"RescaleSlope": ("DS", b"x "), "RescaleIntercept": ("DS", b"0 ")}, "RescaleSlope"),
        ({"BitsStored": ("US", b"\x00\x00")}, "BitsStored 0 must be 1..BitsAllocated"),
        ({"RescaleSlope": ("DS", b"0 "), "RescaleIntercept": ("DS", b"0 ")}, "no range"),
    ],
)
def test_malformed_headers_are_refused_naming_the_attribute(make_dicom, raw, reason):
    with pytest.raises(InvalidImage, match=reason) as refused:
        read_film(changed(make_dicom(FILM), **raw), "bad.dcm")
    assert str(refused.value).startswith("bad.dcm: ")


def rle_bomb(side: int) -> bytes:
    """An 8-bit RLE Lossless DICOM of side × side black pixels: PackBits runs of 128 zeros
    (DICOM PS3.5 G.3), so a few hundred KB claim tens of millions of pixels."""
    ds = pydicom.dcmread(io.BytesIO(dicom_bytes_8bit()))
    ds.Rows = ds.Columns = side
    segment = b"\x81\x00" * -(-side * side // 128)
    header = (1).to_bytes(4, "little") + (64).to_bytes(4, "little") + bytes(56)
    ds.PixelData = encapsulate([header + segment])
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = RLELossless
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def dicom_bytes_8bit() -> bytes:
    ds = pydicom.dcmread(io.BytesIO(dicom_bytes(FILM, bits=8)))
    ds.BitsAllocated = 8
    ds.PixelData = np.round(FILM * 255).astype(np.uint8).tobytes()
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims width × height grey pixels (IHDR, PNG spec 11.2.2) and holds none."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
    chunk += struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return b"\x89PNG\r\n\x1a\n" + chunk + end


def test_decompression_bombs_are_refused_before_decoding():
    bomb = rle_bomb(6400)  # 41 M pixels in well under a megabyte
    assert len(bomb) < 700_000
    with pytest.raises(InvalidImage, match="6400×6400 pixels, more than a chest film has"):
        read_film(bomb, "bomb.dcm")
    np.testing.assert_array_equal(read_film(rle_bomb(64), "small.dcm").pixels, 0)
    with pytest.raises(InvalidImage, match="7000×7000 pixels, more than a chest film has"):
        read_film(png_header(7000, 7000), "bomb.png")  # under Pillow's own limit (89 M)
    with pytest.raises(InvalidImage, match="decompression bomb"):  # Pillow's error past 179 M
        read_film(png_header(20000, 10000), "bomb.png")
