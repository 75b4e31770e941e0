"""`songkhoe bhyt check`: a correct claim passes; each broken one is found on its own line.

The claim is one outpatient visit (MA_LOAI_KCB 01) built here with amounts worked by hand from
the formulas of the QĐ 130/4750 appendix (XML2 #20-#30, XML3 #19-#30, XML1 #44-#52).
"""

import base64

import pytest

from songkhoe.claims.fields import field_tables
from songkhoe.claims.signing import sign_envelope
from songkhoe.cli import main

from .conftest import FACILITY_SUBJECT

MA_LK = "LK20241105001"

SUMMARY = {
    "MA_LK": MA_LK, "STT": "1", "MA_BN": "BN0001", "HO_TEN": "Nguyễn Văn A",
    "NGAY_SINH": "196503120000", "GIOI_TINH": "1", "MA_THE_BHYT": "HT3010123456789",
    "MA_DKBD": "01001", "GT_THE_TU": "20240101", "GT_THE_DEN": "20241231",
    "MA_BENH_CHINH": "I10", "MA_DOITUONG_KCB": "1.1", "NGAY_VAO": "202411050800",
    "NGAY_RA": "202411050830", "SO_NGAY_DTRI": "0", "KET_QUA_DTRI": "2", "MA_LOAI_RV": "1",
    "MA_LOAI_KCB": "01", "MA_CSKCB": "01001",
    # 10515 + 10000; 2501 (the syringes); + 38700; BH 10515 + 5000 + 38700 + 2501
    "T_THUOC": "20515.00", "T_VTYT": "2501.00", "T_TONGCHI_BV": "61716.00",
    "T_TONGCHI_BH": "56716.00", "T_BNTT": "5000.00", "T_BNCCT": "11343.20",
    "T_BHTT": "45372.80", "T_NGUONKHAC": "0", "T_BHTT_GDV": "45372.80",
    "NAM_QT": "2024", "THANG_QT": "11",
}  # fmt: skip

DRUGS = [
    # 30 × 350.5 = 10515.00, all covered, MUC_HUONG 80: BHTT 8412.00, BNCCT 2103.00
    {"MA_LK": MA_LK, "STT": "1", "MA_THUOC": "40.677", "TEN_THUOC": "Amlodipin 5mg",
     "SO_LUONG": "30", "DON_GIA": "350.5", "TYLE_TT_BH": "100", "THANH_TIEN_BV": "10515.00",
     "THANH_TIEN_BH": "10515.00", "MUC_HUONG": "80", "T_BNTT": "0", "T_BNCCT": "2103.00",
     "T_BHTT": "8412.00", "T_NGUONKHAC": "0", "MA_PTTT": "1", "NGAY_YL": "202411050815"},
    # 10 × 1000 = 10000.00 at a 50 % payment rate: BH 5000, BNTT 5000, BHTT 4000, BNCCT 1000
    {"MA_LK": MA_LK, "STT": "2", "MA_THUOC": "40.1", "TEN_THUOC": "Thuốc B",
     "SO_LUONG": "10", "DON_GIA": "1000", "TYLE_TT_BH": "50", "THANH_TIEN_BV": "10000.00",
     "THANH_TIEN_BH": "5000.00", "MUC_HUONG": "80", "T_BNTT": "5000.00", "T_BNCCT": "1000.00",
     "T_BHTT": "4000.00", "T_NGUONKHAC": "0", "MA_PTTT": "1", "NGAY_YL": "202411050815"},
]  # fmt: skip

SERVICES = [
    # the consultation: 1 × 38700, BHTT 30960, BNCCT 7740
    {"MA_LK": MA_LK, "STT": "1", "MA_DICH_VU": "02.1896", "TEN_DICH_VU": "Khám nội",
     "SO_LUONG": "1", "DON_GIA_BV": "38700", "DON_GIA_BH": "38700", "TYLE_TT_DV": "100",
     "TYLE_TT_BH": "100", "THANH_TIEN_BV": "38700.00", "THANH_TIEN_BH": "38700.00",
     "MUC_HUONG": "80", "T_BNTT": "0", "T_BNCCT": "7740.00", "T_BHTT": "30960.00",
     "T_NGUONKHAC": "0", "MA_PTTT": "1", "NGAY_YL": "202411050805",
     "NGAY_TH_YL": "202411050806", "NGAY_KQ": "202411050820"},
    # a supply: 2 × 1250.5 = 2501.00, BHTT 2000.80, BNCCT 500.20
    {"MA_LK": MA_LK, "STT": "2", "MA_VAT_TU": "N03.02.070", "TEN_VAT_TU": "Bơm tiêm 5ml",
     "SO_LUONG": "2", "DON_GIA_BV": "1250.5", "DON_GIA_BH": "1250.5", "TYLE_TT_BH": "100",
     "THANH_TIEN_BV": "2501.00", "THANH_TIEN_BH": "2501.00", "MUC_HUONG": "80", "T_BNTT": "0",
     "T_BNCCT": "500.20", "T_BHTT": "2000.80", "T_NGUONKHAC": "0", "MA_PTTT": "1"},
]  # fmt: skip


def fields_xml(row: dict[str, str]) -> str:
    return "".join(f"<{k}>{v}</{k}>" for k, v in row.items())


def table_xml(table: str, rows: list[dict[str, str]]) -> str:
    if table == "XML1":
        return f"<TONG_HOP>{fields_xml(rows[0])}</TONG_HOP>"
    root, lst, item = {
        "XML2": ("CHITIEU_CHITIET_THUOC", "DSACH_CHI_TIET_THUOC", "CHI_TIET_THUOC"),
        "XML3": ("CHITIEU_CHITIET_DVKT_VTYT", "DSACH_CHI_TIET_DVKT", "CHI_TIET_DVKT"),
    }[table]
    body = "".join(f"<{item}>{fields_xml(r)}</{item}>" for r in rows)
    return f"<{root}><{lst}>{body}</{lst}></{root}>"


def envelope(summary=None, drugs=None, services=None, *, count="1", content=None) -> bytes:
    """The GIAMDINHHS envelope of one visit; `content` replaces a table's NOIDUNGFILE."""
    tables = {"XML1": [summary or SUMMARY], "XML2": drugs or DRUGS, "XML3": services or SERVICES}
    content = content or {}
    files = ""
    for name, rows in tables.items():
        encoded = base64.b64encode(
            ('<?xml version="1.0" encoding="utf-8"?>' + table_xml(name, rows)).encode()
        ).decode()
        body = content.get(name, encoded)
        files += f"<FILEHOSO><LOAIHOSO>{name}</LOAIHOSO><NOIDUNGFILE>{body}</NOIDUNGFILE>"
        files += "</FILEHOSO>"
    return (
        '<?xml version="1.0" encoding="utf-8"?><GIAMDINHHS>'
        "<THONGTINDONVI><MACSKCB>01001</MACSKCB></THONGTINDONVI>"
        f"<THONGTINHOSO><NGAYLAP>20241106</NGAYLAP><SOLUONGHOSO>{count}</SOLUONGHOSO>"
        f"<DANHSACHHOSO><HOSO>{files}</HOSO></DANHSACHHOSO></THONGTINHOSO></GIAMDINHHS>"
    ).encode()


def check(tmp_path, capsys, content: bytes, name: str = "claim.xml") -> tuple[int, list[str], str]:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SystemExit) as exit_:
        main(["bhyt", "check", str(path)])
    out, err = capsys.readouterr()
    failing = [line for line in out.splitlines() if ": note: " not in line]
    return exit_.value.code, failing, err


def test_a_correct_claim_passes_and_says_it_is_unsigned(tmp_path, capsys):
    path = tmp_path / "claim.xml"
    path.write_bytes(envelope())
    with pytest.raises(SystemExit) as exit_:
        main(["bhyt", "check", str(path)])
    out, err = capsys.readouterr()
    assert exit_.value.code == 0, out
    assert out.splitlines() == [f"{path}, -, -, CHUKYDONVI: note: unsigned"]
    assert "0 problem(s)" in err


def test_a_repeat_consultation_rate_and_another_source_pass(tmp_path, capsys):
    """XML3 #17: a second consultation is paid at TYLE_TT_DV 30 (1 × 38700 × 30 % = 11610.00,
    BHTT 9288.00, BNCCT 2322.00); XML2 #26 case (a): the state budget pays the drug's co-payment
    (2103.00), deducted from T_BNCCT. XML1's totals follow (#46-#52)."""
    services = [
        {**SERVICES[0], "TYLE_TT_DV": "30", "THANH_TIEN_BV": "11610.00",
         "THANH_TIEN_BH": "11610.00", "T_BNCCT": "2322.00", "T_BHTT": "9288.00"},
        SERVICES[1],
    ]  # fmt: skip
    drugs = [
        {**DRUGS[0], "T_NGUONKHAC_NSNN": "2103.00", "T_NGUONKHAC": "2103.00", "T_BNCCT": "0"},
        DRUGS[1],
    ]
    summary = {
        **SUMMARY, "T_TONGCHI_BV": "34626.00", "T_TONGCHI_BH": "29626.00",
        "T_BNCCT": "3822.20", "T_NGUONKHAC": "2103.00", "T_BHTT": "23700.80",
        "T_BHTT_GDV": "23700.80",
    }  # fmt: skip
    code, lines, _ = check(tmp_path, capsys, envelope(summary, drugs, services))
    assert (code, lines) == (0, [])
    broken = [{**drugs[0], "T_BHTT": "8000.00"}, DRUGS[1]]
    code, lines, _ = check(tmp_path, capsys, envelope(summary, broken, services))
    assert code == 1
    assert any("XML2, THANH_TIEN_BV: 10515.00 but T_BHTT + T_BNCCT" in line for line in lines)


def test_a_wrong_total_is_the_one_line_naming_it(tmp_path, capsys):
    code, lines, _ = check(tmp_path, capsys, envelope({**SUMMARY, "T_TONGCHI_BV": "61717.00"}))
    assert code == 1
    assert len(lines) == 1
    assert lines[0].startswith(
        f"{tmp_path / 'claim.xml'}, {MA_LK}, XML1, T_TONGCHI_BV: 61717.00 but"
    )
    assert "61716.00" in lines[0]


def test_a_13_character_time(tmp_path, capsys):
    code, lines, _ = check(tmp_path, capsys, envelope({**SUMMARY, "NGAY_VAO": "2024110508000"}))
    assert code == 1
    assert lines == [f"{tmp_path / 'claim.xml'}, {MA_LK}, XML1, NGAY_VAO: "
                     "'2024110508000' is 13 characters, not yyyyMMddHHmm"]  # fmt: skip


def test_an_unknown_field(tmp_path, capsys):
    drugs = [{**DRUGS[0], "MA_BENH_PHU": "E11"}, DRUGS[1]]
    code, lines, _ = check(tmp_path, capsys, envelope(drugs=drugs))
    assert code == 1
    assert lines == [f"{tmp_path / 'claim.xml'}, {MA_LK}, XML2, MA_BENH_PHU: "
                     "unknown field (not in table XML2 of QĐ 130/4750)"]  # fmt: skip


def test_a_missing_main_diagnosis(tmp_path, capsys):
    summary = {k: v for k, v in SUMMARY.items() if k != "MA_BENH_CHINH"}
    code, lines, _ = check(tmp_path, capsys, envelope(summary))
    assert code == 1
    assert len(lines) == 1 and f"{MA_LK}, XML1, MA_BENH_CHINH: missing" in lines[0]


def test_a_row_amount_that_breaks_its_formula(tmp_path, capsys):
    services = [{**SERVICES[0], "T_BHTT": "30000.00"}, SERVICES[1]]
    code, lines, _ = check(tmp_path, capsys, envelope(services=services))
    assert code == 1
    assert (
        f"{MA_LK}, XML3, T_BHTT: 30000.00 but THANH_TIEN_BH × MUC_HUONG/100 = 30960.00" in lines[0]
    )


def test_times_out_of_order_and_a_number_with_a_comma(tmp_path, capsys):
    summary = {**SUMMARY, "NGAY_RA": "202411040830", "T_BNTT": "5000,00"}
    code, lines, _ = check(tmp_path, capsys, envelope(summary))
    assert code == 1
    text = "\n".join(lines)
    assert "XML1, NGAY_RA: 202411040830 is before NGAY_VAO 202411050800" in text
    assert "XML1, T_BNTT: '5000,00' is not a number" in text


def test_malformed_base64_is_one_problem_naming_the_file(tmp_path, capsys):
    code, lines, _ = check(tmp_path, capsys, envelope(content={"XML2": "!!not base64!!"}))
    assert code == 1
    assert lines == [f"{tmp_path / 'claim.xml'}, -, XML2, NOIDUNGFILE: not valid base64"]


def test_malformed_xml_is_one_line_not_a_traceback(tmp_path, capsys):
    code, lines, _ = check(tmp_path, capsys, b"<GIAMDINHHS><THONGTINHOSO>")
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith(
        f"{tmp_path / 'claim.xml'}, -, -, -: not readable XML"
    )


def test_a_dtd_is_refused(tmp_path, capsys):
    bomb = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xx">]><GIAMDINHHS>&x;</GIAMDINHHS>'
    code, lines, _ = check(tmp_path, capsys, bomb)
    assert code == 1
    assert lines == [
        f"{tmp_path / 'claim.xml'}, -, -, -: not readable XML (a DOCTYPE is not allowed in a claim)"
    ]


def test_soluonghoso_must_count_the_hoso(tmp_path, capsys):
    code, lines, _ = check(tmp_path, capsys, envelope(count="2"))
    assert code == 1
    assert lines == [f"{tmp_path / 'claim.xml'}, -, -, SOLUONGHOSO: says 2 but there are 1 HOSO"]


def test_a_missing_file_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["bhyt", "check", str(tmp_path / "absent.xml")])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.startswith("songkhoe: error: ")


def test_the_field_table_carries_the_4750_amendments():
    tables = field_tables()
    assert tables["XML3"]["MA_KHOA"].max_size == 50  # 20 in QĐ 130, raised by 4750
    assert tables["XML1"]["MA_LOAI_KCB"].type == "Chuỗi"  # Số in QĐ 130
    assert tables["XML2"]["THANH_TIEN_BV"].type == "Số"
    assert tables["XML1"]["NGAY_VAO"].time_lengths == {12}
    assert "NGAY_TH_YL" in tables["XML2"]  # a field without an order number in the appendix
    assert not any(name.startswith("Ghi") for t in tables.values() for name in t)


# The rules added with the code lists, the card and the signature: each one line, exactly.


def test_an_unknown_code_names_its_field_and_list(tmp_path, capsys):
    """KET_QUA_DTRI is listed by XML1 #40 itself (1-7, and 8 from QĐ 4750); MA_DOITUONG_KCB by
    QĐ 3276 Phụ lục 1 (1.1 … 10, no 3.4)."""
    summary = {**SUMMARY, "KET_QUA_DTRI": "9", "MA_DOITUONG_KCB": "3.4"}
    code, lines, _ = check(tmp_path, capsys, envelope(summary))
    assert code == 1
    path = tmp_path / "claim.xml"
    assert lines == [
        f"{path}, {MA_LK}, XML1, MA_DOITUONG_KCB: '3.4' is not a code of QĐ 3276/QĐ-BYT Phụ lục 1",
        f"{path}, {MA_LK}, XML1, KET_QUA_DTRI: "
        "'9' is not a code of the QĐ 130/4750 appendix, XML1 #40",
    ]


def test_cost_group_19_is_for_services_only(tmp_path, capsys):
    """QĐ 4750 adds MA_NHOM 19 (other services: meals, travel, lodging) to XML3 #6, not XML2."""
    services = [{**SERVICES[0], "MA_NHOM": "19"}, SERVICES[1]]
    drugs = [{**DRUGS[0], "MA_NHOM": "19"}, {**DRUGS[1], "MA_NHOM": "4"}]
    code, lines, _ = check(tmp_path, capsys, envelope(drugs=drugs, services=services))
    assert code == 1
    assert lines == [
        f"{tmp_path / 'claim.xml'}, {MA_LK}, XML2, MA_NHOM: "
        "'19' is not a code of QĐ 5937/QĐ-BYT Phụ lục 3"
    ]


def test_each_card_number_is_checked(tmp_path, capsys):
    """Two cards during one treatment (XML1 #16, ";"): the second has no benefit group ZZ."""
    summary = {
        **SUMMARY, "MA_THE_BHYT": "HT3010123456789;ZZ3010123456789",
        "GT_THE_TU": "20240101;20241101", "GT_THE_DEN": "20241231;20251231",
    }  # fmt: skip
    code, lines, _ = check(tmp_path, capsys, envelope(summary))
    assert code == 1
    assert lines == [
        f"{tmp_path / 'claim.xml'}, {MA_LK}, XML1, MA_THE_BHYT: "
        "ZZ3010123456789: unknown benefit group 'ZZ'"
    ]


def test_a_card_that_ended_before_the_visit(tmp_path, capsys):
    """Valid 01/01/2024 to 31/10/2024, the visit on 05/11/2024 (NGAY_VAO 202411050800)."""
    summary = {**SUMMARY, "GT_THE_DEN": "20241031"}
    code, lines, _ = check(tmp_path, capsys, envelope(summary))
    assert code == 1
    assert lines == [
        f"{tmp_path / 'claim.xml'}, {MA_LK}, XML1, MA_THE_BHYT: "
        "card out of validity: valid 01/01/2024–31/10/2024, visit 05/11/2024"
    ]


def test_the_first_and_last_days_of_a_card_are_valid(tmp_path, capsys):
    for start, end in (("20241105", "20241231"), ("20240101", "20241105")):
        summary = {**SUMMARY, "GT_THE_TU": start, "GT_THE_DEN": end}
        code, lines, _ = check(tmp_path, capsys, envelope(summary))
        assert (code, lines) == (0, [])


def test_a_card_renewed_during_treatment_covers_the_arrival_with_the_first(tmp_path, capsys):
    """Arrival 30/10/2024 on the first card (to 31/10/2024); the renewed card, from 01/11/2024,
    is appended after ";" (XML1 #18, #19). Neither card covers 15/10/2023."""
    summary = {
        **SUMMARY, "NGAY_VAO": "202410300800", "MA_THE_BHYT": "HT3010123456789;HT3010123456789",
        "GT_THE_TU": "20231101;20241101", "GT_THE_DEN": "20241031;20251031",
    }  # fmt: skip
    code, lines, _ = check(tmp_path, capsys, envelope(summary))
    assert (code, lines) == (0, [])
    summary = {**summary, "NGAY_VAO": "202310150800"}
    code, lines, _ = check(tmp_path, capsys, envelope(summary))
    assert code == 1
    assert lines == [
        f"{tmp_path / 'claim.xml'}, {MA_LK}, XML1, MA_THE_BHYT: card out of validity: "
        "valid 01/11/2023–31/10/2024; 01/11/2024–31/10/2025, visit 15/10/2023"
    ]


def check_signed(tmp_path, capsys, content: bytes, *options: str) -> tuple[int, list[str]]:
    path = tmp_path / "claim.xml"
    path.write_bytes(content)
    with pytest.raises(SystemExit) as exit_:
        main(["bhyt", "check", *options, str(path)])
    return exit_.value.code, capsys.readouterr().out.splitlines()


def test_a_valid_signature_is_a_note_naming_the_signer(tmp_path, capsys, facility):
    (tmp_path / "cert.pem").write_bytes(facility.cert_pem)
    signed = sign_envelope(envelope(), facility.key_pem, facility.cert_pem)
    path = tmp_path / "claim.xml"
    code, lines = check_signed(tmp_path, capsys, signed, "--cert", str(tmp_path / "cert.pem"))
    assert (code, lines) == (
        0,
        [
            f"{path}, -, -, CHUKYDONVI: note: signed by {FACILITY_SUBJECT}; "
            "verified with the certificate given"
        ],
    )
    code, lines = check_signed(tmp_path, capsys, signed)
    assert (code, lines) == (
        0,
        [
            f"{path}, -, -, CHUKYDONVI: note: signed by {FACILITY_SUBJECT}; "
            "verified with its embedded certificate only (self-asserted)"
        ],
    )


def test_a_signature_that_does_not_verify_fails(tmp_path, capsys, facility, stranger):
    signed = sign_envelope(envelope(), facility.key_pem, facility.cert_pem)
    path = tmp_path / "claim.xml"
    changed = signed.replace(b"<NGAYLAP>20241106<", b"<NGAYLAP>20241107<")
    code, lines = check_signed(tmp_path, capsys, changed)
    assert (code, lines) == (
        1,
        [
            f"{path}, -, -, CHUKYDONVI: signature does not verify: "
            "the content changed after it was signed (the digest does not match)"
        ],
    )
    (tmp_path / "other.pem").write_bytes(stranger.cert_pem)
    code, lines = check_signed(tmp_path, capsys, signed, "--cert", str(tmp_path / "other.pem"))
    assert (code, lines) == (
        1,
        [
            f"{path}, -, -, CHUKYDONVI: signature does not verify: "
            "the signature value does not verify with the certificate's key"
        ],
    )


def test_chukydonvi_holding_something_else_fails(tmp_path, capsys):
    slot = b"<CHUKYDONVI>c2lnbmVk</CHUKYDONVI>"  # base64 of "signed", not a ds:Signature
    content = envelope().replace(b"</GIAMDINHHS>", slot + b"</GIAMDINHHS>")
    code, lines = check_signed(tmp_path, capsys, content)
    assert (code, lines) == (
        1,
        [
            f"{tmp_path / 'claim.xml'}, -, -, CHUKYDONVI: signature does not verify: "
            "CHUKYDONVI holds no XML signature (ds:Signature)"
        ],
    )


def test_a_cert_that_is_not_one_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "cert.pem").write_bytes(b"not a certificate")
    (tmp_path / "claim.xml").write_bytes(envelope())
    with pytest.raises(SystemExit) as exit_:
        main(["bhyt", "check", "--cert", str(tmp_path / "cert.pem"), str(tmp_path / "claim.xml")])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.startswith(
        f"songkhoe: error: --cert {tmp_path / 'cert.pem'}: not a PEM X.509 certificate"
    )


def test_a_value_of_the_wrong_form_is_not_also_an_unknown_code(tmp_path, capsys):
    code, lines, _ = check(tmp_path, capsys, envelope({**SUMMARY, "MA_LOAI_RV": "x"}))
    assert code == 1
    assert lines == [
        f"{tmp_path / 'claim.xml'}, {MA_LK}, XML1, MA_LOAI_RV: 'x' is not a number (Số; decimals "
        "after a '.')"
    ]
