"""The GIAMDINHHS envelope: its shape, each table's XML read back to the rows written, every
envelope built passing `check` with no failure, signed or not; and claims broken one way each
(derived from a good one) found by `songkhoe bhyt check` on a line of their own naming the
field."""

import base64
from datetime import date
from xml.etree import ElementTree

import pytest

from songkhoe.claims.check import check_file
from songkhoe.claims.envelope import envelope, table_document
from songkhoe.claims.signing import Signer, verify_envelope
from songkhoe.claims.tables import claim_rows
from songkhoe.cli import main

from .claim_examples import FOLLOW_UP, FOLLOW_UP_AMOUNTS, REFERRED, REFERRED_AMOUNTS
from .conftest import FACILITY_SUBJECT

MADE_ON = date(2026, 12, 8)


def _good() -> dict:
    return claim_rows(FOLLOW_UP, FOLLOW_UP_AMOUNTS)


def _read_back(document: bytes) -> tuple[ElementTree.Element, list[dict[str, str]]]:
    """The root and the rows (elements whose children are all leaves), fields in order."""
    root = ElementTree.fromstring(document)
    rows = [
        {field.tag: field.text or "" for field in element}
        for element in root.iter()
        if len(element) and all(len(child) == 0 for child in element)
    ]
    return root, rows


def test_the_envelope_holds_each_table_as_base64_of_its_xml() -> None:
    tables = _good()
    content = envelope("24003", MADE_ON, [tables])
    assert content.startswith(b'<?xml version="1.0" encoding="utf-8"?><GIAMDINHHS>')
    root = ElementTree.fromstring(content)
    assert [child.tag for child in root] == ["THONGTINDONVI", "THONGTINHOSO", "CHUKYDONVI"]
    assert root.findtext("THONGTINDONVI/MACSKCB") == "24003"
    assert root.findtext("THONGTINHOSO/NGAYLAP") == "20261208"
    assert root.findtext("THONGTINHOSO/SOLUONGHOSO") == "1"
    files = root.findall("THONGTINHOSO/DANHSACHHOSO/HOSO/FILEHOSO")
    assert [f.findtext("LOAIHOSO") for f in files] == ["XML1", "XML2", "XML3", "XML4", "XML14"]
    names = {
        "XML1": ("TONG_HOP", "TONG_HOP"),
        "XML2": ("CHITIEU_CHITIET_THUOC", "CHI_TIET_THUOC"),
        "XML3": ("CHITIEU_CHITIET_DVKT_VTYT", "CHI_TIET_DVKT"),
        "XML4": ("CHITIEU_CHITIET_DICHVUCANLAMSANG", "CHI_TIET_CLS"),
        "XML14": ("CHI_TIEU_GIAYHEN_KHAMLAI", "CHI_TIEU_GIAYHEN_KHAMLAI"),
    }
    for item in files:
        table = item.findtext("LOAIHOSO") or ""
        document = base64.b64decode(item.findtext("NOIDUNGFILE") or "", validate=True)
        assert document == table_document(table, tables[table])
        assert document.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
        inner, rows = _read_back(document)
        assert (inner.tag, {e.tag for e in inner.iter() if len(e) and len(e[0]) == 0}) == (
            names[table][0],
            {names[table][1]},
        )
        assert all("}" not in e.tag for e in inner.iter())  # no namespace
        assert rows == tables[table]  # every field, in order, empty ones empty
    assert "Nguyễn Văn An".encode() in base64.b64decode(files[0].findtext("NOIDUNGFILE") or "")


def test_the_referral_paper_is_one_record_whose_root_is_the_row() -> None:
    tables = claim_rows(REFERRED, REFERRED_AMOUNTS)
    root, rows = _read_back(table_document("XML13", tables["XML13"]))
    assert root.tag == "CHI_TIEU_GIAYCHUYENTUYEN"
    assert rows == tables["XML13"]
    root, rows = _read_back(table_document("XML5", tables["XML5"]))
    assert [root.tag, root[0].tag, root[0][0].tag] == [
        "CHITIEU_CHITIET_DIENBIENLAMSANG", "DSACH_CHI_TIET_DIEN_BIEN_BENH",
        "CHI_TIET_DIEN_BIEN_BENH",
    ]  # fmt: skip
    assert rows == tables["XML5"]


def test_markup_characters_are_escaped_and_impossible_ones_refused() -> None:
    tables = _good()
    tables["XML1"][0]["GHI_CHU"] = 'HA < 140/90 & "ăn nhạt" > 5g muối'
    _, rows = _read_back(table_document("XML1", tables["XML1"]))
    assert rows[0]["GHI_CHU"] == 'HA < 140/90 & "ăn nhạt" > 5g muối'
    tables["XML1"][0]["GHI_CHU"] = "bell\x07"
    with pytest.raises(
        ValueError, match=r"enc-0001, XML1, GHI_CHU: character U\+0007 cannot be written"
    ):
        table_document("XML1", tables["XML1"])


def test_every_envelope_built_passes_the_check() -> None:
    """One claim per envelope, and two in one (SOLUONGHOSO 2): no failure, only the note that
    it is unsigned."""
    both = [_good(), claim_rows(REFERRED, REFERRED_AMOUNTS)]
    for claims in ([both[0]], [both[1]], both):
        content = envelope("24003", MADE_ON, claims)
        problems = check_file("claim.xml", content)
        assert [p.line() for p in problems] == ["claim.xml, -, -, CHUKYDONVI: note: unsigned"]


def test_a_signed_envelope_passes_the_check_and_verifies(facility) -> None:
    signed = Signer(facility.key_pem, facility.cert_pem).sign(envelope("24003", MADE_ON, [_good()]))
    lines = [p.line() for p in check_file("claim.xml", signed, facility.cert_pem)]
    assert lines == [
        f"claim.xml, -, -, CHUKYDONVI: note: signed by {FACILITY_SUBJECT}; "
        "verified with the certificate given"
    ]
    verification = verify_envelope(signed, facility.cert_pem)
    assert verification.valid, verification.message


def _broken(change) -> bytes:
    tables = _good()
    change(tables)
    return envelope("24003", MADE_ON, [tables])


BROKEN = {
    "wrong_total": (
        lambda t: t["XML1"][0].update(T_TONGCHI_BV="468866.50"),
        "XML1, T_TONGCHI_BV: 468866.50 but Σ THANH_TIEN_BV of XML2 and XML3 = 468865.50",
    ),
    "time_13": (
        lambda t: t["XML2"][0].update(NGAY_YL="2026110508150"),
        "XML2, NGAY_YL: '2026110508150' is 13 characters, not yyyyMMddHHmm",
    ),
    "unknown_field": (
        lambda t: t["XML1"][0].update(TEN_CSKCB="Trung tâm Y tế huyện Yên Dũng"),
        "XML1, TEN_CSKCB: unknown field (not in table XML1 of QĐ 130/4750)",
    ),
    "no_main_diagnosis": (
        lambda t: t["XML1"][0].update(MA_BENH_CHINH=""),
        "XML1, MA_BENH_CHINH: missing: the main diagnosis (one ICD-10 code)",
    ),
    "card_out_of_validity": (
        lambda t: t["XML1"][0].update(GT_THE_TU="20250101", GT_THE_DEN="20251231"),
        "XML1, MA_THE_BHYT: card out of validity: valid 01/01/2025–31/12/2025, visit 05/11/2026",
    ),
}


def test_each_broken_claim_is_found_on_its_own_line(tmp_path, capsys) -> None:
    paths = []
    for name, (change, _) in BROKEN.items():
        path = tmp_path / f"{name}.xml"
        path.write_bytes(_broken(change))
        paths.append(str(path))
    with pytest.raises(SystemExit) as exit_:
        main(["bhyt", "check", *paths])
    out, err = capsys.readouterr()
    assert exit_.value.code == 1
    failing = [line for line in out.splitlines() if ": note: " not in line]
    assert failing == [
        f"{tmp_path / name}.xml, enc-0001, {expected}" for name, (_, expected) in BROKEN.items()
    ]
    assert f"{len(BROKEN)} tệp, {len(BROKEN)} lỗi" in err
