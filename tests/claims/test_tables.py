"""A hand-built visit gives exactly the expected rows, field by field (claim_examples.py works
out each row's amounts; the totals of XML1 are worked below)."""

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from songkhoe.claims.benefit import visit_amounts
from songkhoe.claims.fields import field_tables
from songkhoe.claims.tables import ClaimError, claim_rows
from songkhoe.claims.visit import Diagnosis

from .claim_examples import (
    DOCTOR,
    FOLLOW_UP,
    FOLLOW_UP_AMOUNTS,
    REFERRED,
    REFERRED_AMOUNTS,
)

ZERO = "0.00"
NO_OTHER_SOURCE = {
    "T_NGUONKHAC_NSNN": ZERO, "T_NGUONKHAC_VTNN": ZERO, "T_NGUONKHAC_VTTN": ZERO,
    "T_NGUONKHAC_CL": ZERO, "T_NGUONKHAC": ZERO,
}  # fmt: skip


def full(table: str, values: dict[str, str]) -> dict[str, str]:
    """The row as written: every field of the table in the appendix's order, others empty."""
    assert set(values) <= set(field_tables()[table]), set(values) - set(field_tables()[table])
    return {name: values.get(name, "") for name in field_tables()[table]}


def test_the_hand_worked_amounts_are_those_of_the_benefit_rules() -> None:
    """claims.benefit agrees with the amounts worked by hand in claim_examples (the rate and
    every row); its `why` is not compared."""
    for visit, by_hand in ((FOLLOW_UP, FOLLOW_UP_AMOUNTS), (REFERRED, REFERRED_AMOUNTS)):
        computed = visit_amounts(visit)
        assert (computed.rate, computed.drugs, computed.services) == (
            by_hand.rate, by_hand.drugs, by_hand.services,
        )  # fmt: skip


def test_the_follow_up_summary_row() -> None:
    """XML1 totals (#44-#52) from the rows of claim_examples:
    T_THUOC = 10515.00 + 396900.00 = 407415.00; T_VTYT = 1250.50 (the needle);
    T_TONGCHI_BV = 407415.00 + 38700.00 + 21500.00 + 1250.50 = 468865.50;
    T_TONGCHI_BH = 468865.50 − 625.25 (the needle's 50 % not covered) = 468240.25;
    T_BNTT = 625.25; T_BNCCT = 2103.00 + 79380.00 + 7740.00 + 4300.00 + 125.05 = 93648.05;
    T_BHTT = T_TONGCHI_BH − T_BNCCT = 468240.25 − 93648.05 = 374592.20
           (= 8412.00 + 317520.00 + 30960.00 + 17200.00 + 500.20, the rows' T_BHTT);
    T_BHTT_GDV = 374592.20 (every row fee for service)."""
    tables = claim_rows(FOLLOW_UP, FOLLOW_UP_AMOUNTS)
    assert list(tables) == ["XML1", "XML2", "XML3", "XML4", "XML14"]  # no XML5 for 01
    assert tables["XML1"] == [full("XML1", {
        "MA_LK": "enc-0001", "STT": "1", "MA_BN": "p-0001", "HO_TEN": "Nguyễn Văn An",
        "SO_CCCD": "024061000123", "NGAY_SINH": "196103120000", "GIOI_TINH": "1",
        "DIA_CHI": "Thôn Đông, xã Tân Liễu, tỉnh Bắc Ninh", "MATINH_CU_TRU": "24",
        "MAXA_CU_TRU": "07456", "DIEN_THOAI": "0912345678", "MA_THE_BHYT": "DN4240123456789",
        "MA_DKBD": "24003", "GT_THE_TU": "20260101", "GT_THE_DEN": "20261231",
        "CHAN_DOAN_VAO": "Bệnh lý tăng huyết áp vô căn (nguyên phát)",
        "CHAN_DOAN_RV": "Bệnh lý tăng huyết áp vô căn (nguyên phát); "
        "Bệnh đái tháo đường type 2 không có biến chứng",
        "MA_BENH_CHINH": "I10", "MA_BENH_KT": "E11.9", "MA_DOITUONG_KCB": "1.1",
        "NGAY_VAO": "202611050740", "NGAY_RA": "202611050910", "SO_NGAY_DTRI": "0",
        "KET_QUA_DTRI": "2", "MA_LOAI_RV": "1", "GHI_CHU": "Tái khám sau 30 ngày; Ăn nhạt",
        "NGAY_TTOAN": "202611050910", "T_THUOC": "407415.00", "T_VTYT": "1250.50",
        "T_TONGCHI_BV": "468865.50", "T_TONGCHI_BH": "468240.25", "T_BNTT": "625.25",
        "T_BNCCT": "93648.05", "T_BHTT": "374592.20", "T_NGUONKHAC": ZERO,
        "T_BHTT_GDV": "374592.20", "NAM_QT": "2026", "THANG_QT": "11", "MA_LOAI_KCB": "01",
        "MA_KHOA": "K01", "MA_CSKCB": "24003", "CAN_NANG": "62.50",
        "NAM_NAM_LIEN_TUC": "20190501", "NGAY_TAI_KHAM": "20261205", "MA_HSBA": "enc-0001",
    })]  # fmt: skip


def test_the_follow_up_drug_rows() -> None:
    drugs = claim_rows(FOLLOW_UP, FOLLOW_UP_AMOUNTS)["XML2"]
    common = {
        "MA_LK": "enc-0001", "MA_NHOM": "4", "TT_THAU": "123/QĐ-SYT;G1;N4;2025", "PHAM_VI": "1",
        "TYLE_TT_BH": "100", "MUC_HUONG": "80", "T_BNTT": ZERO, **NO_OTHER_SOURCE,
        "MA_KHOA": "K01", "MA_BAC_SI": DOCTOR, "NGAY_YL": "202611050815",
        "NGAY_TH_YL": "202611050840", "MA_PTTT": "1", "NGUON_CTRA": "1",
    }  # fmt: skip
    assert drugs == [
        full("XML2", common | {
            "STT": "1", "MA_THUOC": "40.677", "TEN_THUOC": "Amlodipin 5mg",
            "DON_VI_TINH": "Viên", "HAM_LUONG": "5mg", "DUONG_DUNG": "1.01",
            "DANG_BAO_CHE": "Viên nén",
            "LIEU_DUNG": "1 viên/lần * 1 lần/ngày * 30 ngày [1 viên/ngày]",
            "CACH_DUNG": "Uống sau ăn sáng", "SO_DANG_KY": "VD-12345-10",
            # 30 × 350.5 = 10515.00; × 80 % = 8412.00; 10515.00 − 8412.00 = 2103.00
            "SO_LUONG": "30", "DON_GIA": "350.5", "THANH_TIEN_BV": "10515.00",
            "THANH_TIEN_BH": "10515.00", "T_BHTT": "8412.00", "T_BNCCT": "2103.00",
        }),
        full("XML2", common | {
            "STT": "2", "MA_THUOC": "40.512", "TEN_THUOC": "Insulin glargine",
            "DON_VI_TINH": "Bút", "HAM_LUONG": "100UI/ml x 3ml", "DUONG_DUNG": "2.15",
            "DANG_BAO_CHE": "Dung dịch tiêm",
            "LIEU_DUNG": "20 UI/lần * 1 lần/ngày * 30 ngày [20 UI/ngày]",
            "CACH_DUNG": "Tiêm dưới da buổi tối", "SO_DANG_KY": "QLSP-0123-13",
            # 2 × 198450 = 396900.00; × 80 % = 317520.00; 396900.00 − 317520.00 = 79380.00
            "SO_LUONG": "2", "DON_GIA": "198450", "THANH_TIEN_BV": "396900.00",
            "THANH_TIEN_BH": "396900.00", "T_BHTT": "317520.00", "T_BNCCT": "79380.00",
        }),
    ]  # fmt: skip


def test_the_follow_up_service_and_supply_rows() -> None:
    services = claim_rows(FOLLOW_UP, FOLLOW_UP_AMOUNTS)["XML3"]
    common = {
        "MA_LK": "enc-0001", "PHAM_VI": "1", "SO_LUONG": "1", "TYLE_TT_DV": "100",
        "TYLE_TT_BH": "100", "MUC_HUONG": "80", "T_BNTT": ZERO, **NO_OTHER_SOURCE,
        "MA_KHOA": "K01", "MA_BAC_SI": DOCTOR, "NGUOI_THUC_HIEN": DOCTOR,
        "NGAY_YL": "202611050750", "MA_PTTT": "1",
    }  # fmt: skip
    assert services == [
        full("XML3", common | {
            "STT": "1", "MA_DICH_VU": "02.1896", "MA_NHOM": "13", "TEN_DICH_VU": "Khám Nội",
            "DON_VI_TINH": "Lần", "DON_GIA_BV": "38700", "DON_GIA_BH": "38700",
            # 1 × 38700 = 38700.00; × 80 % = 30960.00; BNCCT 7740.00
            "THANH_TIEN_BV": "38700.00", "THANH_TIEN_BH": "38700.00", "T_BHTT": "30960.00",
            "T_BNCCT": "7740.00",
        }),
        full("XML3", common | {
            "STT": "2", "MA_DICH_VU": "23.0075.1494", "MA_NHOM": "1",
            "TEN_DICH_VU": "Định lượng Glucose [Máu]", "DON_VI_TINH": "Lần",
            "DON_GIA_BV": "21500", "DON_GIA_BH": "21500",
            # 1 × 21500 = 21500.00; × 80 % = 17200.00; BNCCT 4300.00
            "THANH_TIEN_BV": "21500.00", "THANH_TIEN_BH": "21500.00", "T_BHTT": "17200.00",
            "T_BNCCT": "4300.00", "NGAY_TH_YL": "202611050755", "NGAY_KQ": "202611050810",
        }),
        full("XML3", common | {
            "STT": "3", "MA_VAT_TU": "N03.02.070", "MA_NHOM": "10", "TEN_VAT_TU": "Kim lấy máu",
            "DON_VI_TINH": "Cái", "DON_GIA_BV": "1250.5", "DON_GIA_BH": "1250.5",
            "TT_THAU": "45/QĐ-SYT;G2;N1;2025", "TYLE_TT_BH": "50",
            # 1 × 1250.5 = 1250.50; at 50 %: BH 625.25, BNTT 625.25; BHTT 625.25 × 80 % = 500.20
            "THANH_TIEN_BV": "1250.50", "THANH_TIEN_BH": "625.25", "T_BNTT": "625.25",
            "T_BHTT": "500.20", "T_BNCCT": "125.05",
        }),
    ]  # fmt: skip


def test_the_follow_up_result_and_appointment() -> None:
    tables = claim_rows(FOLLOW_UP, FOLLOW_UP_AMOUNTS)
    assert tables["XML4"] == [full("XML4", {
        "MA_LK": "enc-0001", "STT": "1", "MA_DICH_VU": "23.0075.1494", "MA_CHI_SO": "2010",
        "TEN_CHI_SO": "Glucose", "GIA_TRI": "7.8", "DON_VI_DO": "mmol/L",
        "NGAY_KQ": "202611050810", "MA_BS_DOC_KQ": "000456/BG-CCHN",
    })]  # fmt: skip
    assert tables["XML14"] == [full("XML14", {
        "MA_LK": "enc-0001", "SO_GIAYHEN_KL": "GH-2026-0456", "MA_CSKCB": "24003",
        "HO_TEN": "Nguyễn Văn An", "NGAY_SINH": "196103120000", "GIOI_TINH": "1",
        "DIA_CHI": "Thôn Đông, xã Tân Liễu, tỉnh Bắc Ninh", "MA_THE_BHYT": "DN4240123456789",
        "GT_THE_DEN": "20261231", "NGAY_VAO": "202611050740", "NGAY_RA": "202611050910",
        "NGAY_HEN_KL": "202612050000",
        "CHAN_DOAN_RV": "Bệnh lý tăng huyết áp vô căn (nguyên phát); "
        "Bệnh đái tháo đường type 2 không có biến chứng",
        "MA_BENH_CHINH": "I10", "MA_BENH_KT": "E11.9", "MA_DOITUONG_KCB": "1.1",
        "MA_BAC_SI": DOCTOR, "NGAY_CT": "20261105",
    })]  # fmt: skip


def test_a_referral_on_request_writes_xml5_and_xml13() -> None:
    """MA_LOAI_KCB 02 from 30/11 22:05 to 01/12 10:30: SO_NGAY_DTRI = 1 − 30 + 1 across the month,
    i.e. 2 calendar days; settled in December (NAM_QT 2026, THANG_QT 12). No drugs: T_THUOC 0."""
    tables = claim_rows(REFERRED, REFERRED_AMOUNTS)
    assert list(tables) == ["XML1", "XML3", "XML5", "XML13"]
    summary = tables["XML1"][0]
    assert {k: summary[k] for k in (
        "MA_NOI_DI", "MA_NOI_DEN", "MA_LOAI_RV", "SO_NGAY_DTRI", "NGAY_VAO", "NGAY_RA",
        "NAM_QT", "THANG_QT", "T_THUOC", "T_TONGCHI_BV", "T_BNCCT", "T_BHTT", "PP_DIEU_TRI",
        "MA_BENH_KT", "NGAY_TAI_KHAM", "CAN_NANG",
    )} == {
        "MA_NOI_DI": "24101", "MA_NOI_DEN": "24001", "MA_LOAI_RV": "5", "SO_NGAY_DTRI": "2",
        "NGAY_VAO": "202611302205", "NGAY_RA": "202612011030", "NAM_QT": "2026",
        "THANG_QT": "12", "T_THUOC": ZERO, "T_TONGCHI_BV": "38700.00", "T_BNCCT": ZERO,
        "T_BHTT": "38700.00", "PP_DIEU_TRI": "Nội khoa", "MA_BENH_KT": "",
        "NGAY_TAI_KHAM": "", "CAN_NANG": "",
    }  # fmt: skip
    assert tables["XML5"] == [
        full("XML5", {
            "MA_LK": "enc-0002", "STT": "1", "DIEN_BIEN_LS": "CSST<M96_HA190/110>",
            "THOI_DIEM_DBLS": "202611302210", "NGUOI_THUC_HIEN": DOCTOR,
        }),
        full("XML5", {
            "MA_LK": "enc-0002", "STT": "2", "DIEN_BIEN_LS": "HA không giảm sau điều trị",
            "THOI_DIEM_DBLS": "202612010900", "NGUOI_THUC_HIEN": "000789/BG-CCHN",
        }),
    ]  # fmt: skip
    assert tables["XML13"] == [full("XML13", {
        "MA_LK": "enc-0002", "SO_HOSO": "enc-0002", "SO_CHUYENTUYEN": "CT-2026-0089",
        "GIAY_CHUYEN_TUYEN": "CT-2026-0089", "MA_CSKCB": "24003", "MA_NOI_DI": "24101",
        "MA_NOI_DEN": "24001", "HO_TEN": "Nguyễn Văn An", "NGAY_SINH": "196103120000",
        "GIOI_TINH": "1", "DIA_CHI": "Thôn Đông, xã Tân Liễu, tỉnh Bắc Ninh",
        "MA_THE_BHYT": "DN4240123456789", "GT_THE_DEN": "20261231",
        "NGAY_VAO": "202611302205", "NGAY_RA": "202612011030",
        "DAU_HIEU_LS": "Đau đầu, HA 190/110 mmHg",
        "CHAN_DOAN_RV": "Bệnh lý tăng huyết áp vô căn (nguyên phát)",
        "QT_BENHLY": "Tăng huyết áp không kiểm soát", "TOMTAT_KQ": "Điện tim: dày thất trái",
        "PP_DIEUTRI": "Nội khoa", "MA_BENH_CHINH": "I10", "TEN_DICH_VU": "Khám Nội",
        "PP_DIEU_TRI": "Nội khoa", "MA_LOAI_RV": "5", "MA_LYDO_CT": "3",
        "HUONG_DIEU_TRI": "Điều trị tại tuyến trên", "PHUONGTIEN_VC": "Xe cứu thương",
        "MA_BAC_SI": DOCTOR,
    })]  # fmt: skip


def test_a_professional_referral_and_an_inpatient_stay() -> None:
    """MA_LOAI_RV 2 for a referral not on request; an inpatient stay (03) writes
    NGAY_VAO_NOI_TRU and counts NGAY_RA − NGAY_VAO + 1 days; XML5 for 03; no XML13 without a
    referral."""
    referral = dataclasses.replace(REFERRED.referral, on_patient_request=False)
    professional = claim_rows(dataclasses.replace(REFERRED, referral=referral), REFERRED_AMOUNTS)
    assert professional["XML1"][0]["MA_LOAI_RV"] == "2"
    assert professional["XML13"][0]["MA_LOAI_RV"] == "2"
    stay = dataclasses.replace(REFERRED, kind="03", referral=None, left=datetime(2026, 12, 4, 9, 0))
    tables = claim_rows(stay, REFERRED_AMOUNTS)
    assert list(tables) == ["XML1", "XML3", "XML5"]
    assert tables["XML1"][0]["NGAY_VAO_NOI_TRU"] == "202611302205"
    assert tables["XML1"][0]["SO_NGAY_DTRI"] == "5"  # 30/11 … 04/12
    assert tables["XML1"][0]["MA_LOAI_RV"] == "1"


def test_times_with_a_zone_are_written_in_vietnam_time() -> None:
    """17:30 UTC on 4 November is 00:30 on 5 November in Vietnam (UTC+7)."""
    visit = dataclasses.replace(
        REFERRED, arrived=datetime(2026, 11, 4, 17, 30, tzinfo=UTC), kind="01"
    )
    summary = claim_rows(visit, REFERRED_AMOUNTS)["XML1"][0]
    assert summary["NGAY_VAO"] == "202611050030"


def test_what_cannot_be_written_is_refused_naming_the_field() -> None:
    long_name = dataclasses.replace(FOLLOW_UP.person, name="A" * 256)
    with pytest.raises(ClaimError, match=r"enc-0001, XML1, HO_TEN: 256 characters, more than"):
        claim_rows(dataclasses.replace(FOLLOW_UP, person=long_name), FOLLOW_UP_AMOUNTS)
    thirteen = tuple(Diagnosis(f"E{n:02}", "x") for n in range(13))
    with pytest.raises(ClaimError, match=r"XML1, MA_BENH_KT: 13 other diagnoses, at most 12"):
        claim_rows(dataclasses.replace(FOLLOW_UP, other_diagnoses=thirteen), FOLLOW_UP_AMOUNTS)
    price = dataclasses.replace(FOLLOW_UP.drugs[0], unit_price=Decimal("350.5004"))
    fine = dataclasses.replace(FOLLOW_UP, drugs=(price, FOLLOW_UP.drugs[1]))
    with pytest.raises(ClaimError, match=r"XML2, DON_GIA: 350.5004 is not a number of at most 3"):
        claim_rows(fine, FOLLOW_UP_AMOUNTS)
    with pytest.raises(ValueError, match="1 drug and 3 service amounts for 2 drugs"):
        claim_rows(
            FOLLOW_UP, dataclasses.replace(FOLLOW_UP_AMOUNTS, drugs=FOLLOW_UP_AMOUNTS.drugs[:1])
        )


def test_a_partial_rate_is_written_as_the_integer_percentage() -> None:
    """MUC_HUONG 32 (80 % × 40 %, the appendix's own example, XML2 #27) stays "32"."""
    shares = dataclasses.replace(FOLLOW_UP_AMOUNTS.drugs[0], rate=Decimal("32.0"))
    amounts = dataclasses.replace(FOLLOW_UP_AMOUNTS, drugs=(shares, FOLLOW_UP_AMOUNTS.drugs[1]))
    assert claim_rows(FOLLOW_UP, amounts)["XML2"][0]["MUC_HUONG"] == "32"
