"""The benefit rate (MUC_HUONG) of a visit and its rows' amounts, worked by hand from the rules
claims.benefit cites: Luật BHYT Art. 22 (2014 text), NĐ 146/2018 Art. 14, Law 51/2024 (from
01/07/2025), NĐ 188/2025 (from 01/07/2026 for outpatient care), and the row formulas of the QĐ
130/4750 appendix (XML2 #20-#30, XML3 #19-#30). A card DN4... is benefit level 4 (80 %).

The base salaries: 1,490,000 to 30/06/2023, 1,800,000 to 30/06/2024, 2,340,000 since; so the
15 % threshold is 223,500, then 270,000, then 351,000.
"""

from dataclasses import astuple, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from songkhoe.claims.benefit import (
    Amounts,
    arrival_kind,
    base_salary,
    visit_amounts,
)
from songkhoe.claims.check import _check_row_amounts, _Report
from songkhoe.claims.codes import ARRIVAL_CATEGORIES
from songkhoe.claims.visit import (
    CardInForce,
    CareLevel,
    Diagnosis,
    DrugLine,
    Facility,
    Person,
    Purpose,
    ServiceLine,
    Visit,
)

from .claim_examples import FOLLOW_UP, FOLLOW_UP_AMOUNTS, REFERRED, REFERRED_AMOUNTS

D = Decimal
REGISTERED = "01005"  # the card's MA_DKBD: a district hospital of Hà Nội (province 01)
DISTRICT = Facility(REGISTERED, "Bệnh viện huyện Đông Anh", CareLevel.DISTRICT, "01")
COMMUNE = Facility("01101", "Trạm Y tế xã Uy Nỗ", CareLevel.COMMUNE, "01")
PROVINCIAL = Facility("01801", "Bệnh viện Đa khoa Xanh Pôn", CareLevel.PROVINCIAL, "01")
CENTRAL = Facility("01901", "Bệnh viện Bạch Mai", CareLevel.CENTRAL, "01")
OTHER_DISTRICT = Facility("79005", "Bệnh viện huyện Củ Chi", CareLevel.DISTRICT, "79")
OTHER_COMMUNE = Facility("79101", "Trạm Y tế xã Tân Thông Hội", CareLevel.COMMUNE, "79")


def drug(quantity: str, price: str, payment_rate: str = "100") -> DrugLine:
    return DrugLine(
        code="40.677", name="Amlodipin 5mg", unit="Viên", strength="5mg", route="1.01",
        form="Viên nén", dose="1 viên/ngày", directions="Uống", registration="VD-1",
        tender="1/QĐ-SYT;G1;N4;2024", cost_group="4", scope="1", quantity=D(quantity),
        unit_price=D(price), payment_rate=D(payment_rate), ordered=datetime(2024, 1, 1, 8),
        dispensed=datetime(2024, 1, 1, 9), prescriber="BS1",
    )  # fmt: skip


def service(
    quantity: str, hospital: str, insured: str, service_rate: str = "100", payment_rate: str = "100"
) -> ServiceLine:
    return ServiceLine(
        code="02.1896", supply_code="", cost_group="13", name="Khám Nội", unit="Lần",
        quantity=D(quantity), hospital_price=D(hospital), insurance_price=D(insured),
        service_rate=D(service_rate), payment_rate=D(payment_rate), tender="",
        ordered=datetime(2024, 1, 1, 8), performed=None, result=None, doctor="BS1",
        performer="BS1",
    )  # fmt: skip


def card(number: str = "DN4010123456789", exempt: date | None = None) -> CardInForce:
    return CardInForce(
        number=number, initial_facility=REGISTERED, valid_from=date(2019, 1, 1),
        valid_to=date(2030, 12, 31), five_years_from=None, copay_exempt_from=exempt,
    )  # fmt: skip


def visit(day: date, facility: Facility = DISTRICT, **changes: Any) -> Visit:
    """An outpatient visit (MA_LOAI_KCB 01) on `day`, at `facility`, on a DN4 card registered at
    REGISTERED, with one drug of 100 × 4,000 = 400,000 (above every 15 % threshold)."""
    base = Visit(
        encounter_id="enc-1", facility=facility, department="K01",
        person=Person("p-1", "Nguyễn Văn A", date(1970, 1, 1), "male", None, "Hà Nội", "01",
                      None, None),
        card=card(), purpose=Purpose.TREATMENT, kind="01", arrival_kind="", emergency=False,
        referred_from="", arrived=datetime.combine(day, datetime.min.time()).replace(hour=8),
        left=datetime.combine(day, datetime.min.time()).replace(hour=10),
        main_diagnosis=Diagnosis("I10", "Tăng huyết áp"), other_diagnoses=(), outcome="2",
        doctor="BS1", weight_kg=None, drugs=(drug("100", "4000"),),
    )  # fmt: skip
    return replace(base, **changes)


def rate(v: Visit) -> Decimal:
    return visit_amounts(v).rate


def test_base_salary_is_versioned_by_decree() -> None:
    assert base_salary(date(2019, 7, 1)) == 1_490_000  # NĐ 38/2019
    assert base_salary(date(2023, 6, 30)) == 1_490_000
    assert base_salary(date(2023, 7, 1)) == 1_800_000  # NĐ 24/2023
    assert base_salary(date(2024, 6, 30)) == 1_800_000
    assert base_salary(date(2024, 7, 1)) == 2_340_000  # NĐ 73/2024
    assert base_salary(date(2026, 12, 8)) == 2_340_000
    with pytest.raises(ValueError, match="no base salary known before 2019-07-01"):
        base_salary(date(2019, 6, 30))


def test_level4_district_outpatient_2024_pays_80_percent() -> None:
    # Registered here, 05/03/2024: drug 100 × 3,000 = 300,000 and a consultation 34,500;
    # covered 334,500 ≥ 270,000 (15 % × 1,800,000), so the card's 80 %:
    #   drug: BHTT 300,000 × 80 % = 240,000, BNCCT 60,000, BNTT 0
    #   consultation: BHTT 34,500 × 80 % = 27,600, BNCCT 6,900, BNTT 0
    v = visit(
        date(2024, 3, 5), drugs=(drug("100", "3000"),), services=(service("1", "34500", "34500"),)
    )
    amounts = visit_amounts(v)
    assert amounts.rate == 80
    assert "card level 4" in amounts.why and "Art. 22.1" in amounts.why
    assert amounts.drugs == (Amounts(D(300000), D(300000), D(80), D(240000), D(60000), D(0)),)
    assert amounts.services == (Amounts(D(34500), D(34500), D(80), D(27600), D(6900), D(0)),)
    assert arrival_kind(v) == "1.1"


def test_commune_visit_is_100_percent() -> None:
    # A commune station of the card's province (Art. 22.4), 400,000 covered (above 270,000):
    # still 100 % (NĐ 146/2018 Art. 14.1.c): BHTT 400,000, BNCCT 0.
    amounts = visit_amounts(visit(date(2024, 3, 5), COMMUNE))
    assert amounts.rate == 100
    assert "commune" in amounts.why and "NĐ 146/2018/NĐ-CP Art. 14.1" in amounts.why
    assert amounts.drugs[0].insurer == 400000 and amounts.drugs[0].copay == 0
    assert arrival_kind(visit(date(2024, 3, 5), COMMUNE)) == "1.2"


def test_under_15_percent_of_base_salary_2024_vs_2023_salary() -> None:
    # 300,000 covered. On 30/06/2024 the 2023 salary 1,800,000 holds: 15 % = 270,000, not under,
    # 80 %. From 01/07/2024, 2,340,000: 15 % = 351,000 > 300,000, so 100 %.
    cheap = (drug("100", "3000"),)
    assert rate(visit(date(2024, 6, 30), drugs=cheap)) == 80
    amounts = visit_amounts(visit(date(2024, 7, 1), drugs=cheap))
    assert amounts.rate == 100
    assert "under 15 % of the base salary 2340000" in amounts.why
    assert "Nghị định 73/2024/NĐ-CP" in amounts.why


def test_exactly_15_percent_is_not_under() -> None:
    # 117 × 3,000 = 351,000 = 15 % × 2,340,000: "thấp hơn" is strictly under, so 80 %.
    assert rate(visit(date(2024, 9, 2), drugs=(drug("117", "3000"),))) == 80


def test_central_inpatient_out_of_network_32_percent() -> None:
    # Self-referred inpatient stay (MA_LOAI_KCB 03) at a central hospital, 10/09/2024: the
    # appendix's own example, 80 % × 40 % (Art. 22.3.a) = 32.
    #   beds: 5 × 650,000 = 3,250,000 (BV); 5 × 500,000 = 2,500,000 (BH);
    #         BHTT 2,500,000 × 32 % = 800,000; BNCCT 1,700,000; BNTT 750,000
    #   drug: 10 × 12,345.67 = 123,456.70; at 50 %: BH 61,728.35;
    #         BHTT 61,728.35 × 32 % = 19,753.072 → 19,753.07; BNCCT 41,975.28; BNTT 61,728.35
    v = visit(
        date(2024, 9, 10), CENTRAL, kind="03", drugs=(drug("10", "12345.67", "50"),),
        services=(service("5", "650000", "500000"),),
    )  # fmt: skip
    amounts = visit_amounts(v)
    assert amounts.rate == 32
    assert "out of network" in amounts.why and "22.3.a" in amounts.why
    assert amounts.services == (
        Amounts(D(3250000), D(2500000), D(32), D(800000), D(1700000), D(750000)),
    )
    assert amounts.drugs == (
        Amounts(D("123456.70"), D("61728.35"), D(32), D("19753.07"), D("41975.28"),
                D("61728.35")),
    )  # fmt: skip
    assert arrival_kind(v) == "3.1"


def test_out_of_network_under_15_percent_keeps_the_out_of_network_rate() -> None:
    # XML2 #27: "trái tuyến, có tổng chi phí dưới 15% ... ghi mức trái tuyến": 100,000 covered
    # (under 351,000) at a central hospital, inpatient: still 80 % × 40 % = 32.
    v = visit(date(2024, 9, 10), CENTRAL, kind="03", drugs=(drug("25", "4000"),))
    assert rate(v) == 32


def test_provincial_inpatient_out_of_network_60_percent_in_2020_then_100_from_2021() -> None:
    # Art. 22.3.b: 60 % to 31/12/2020, 100 % from 01/01/2021: 80 × 60 % = 48, then 80.
    assert rate(visit(date(2020, 12, 31), PROVINCIAL, kind="03")) == 48
    assert rate(visit(date(2021, 1, 1), PROVINCIAL, kind="03")) == 80
    assert arrival_kind(visit(date(2021, 1, 1), PROVINCIAL, kind="03")) == "1.15"


def test_provincial_outpatient_out_of_network_pays_nothing_before_2026_07_01() -> None:
    # Art. 22.3 names inpatient care only: 80 × 0 % = 0; the whole 400,000 is the patient's
    # co-payment (BNCCT), the fund's share (BHTT) is 0.
    amounts = visit_amounts(visit(date(2026, 6, 30), PROVINCIAL))
    assert amounts.rate == 0
    assert amounts.drugs == (Amounts(D(400000), D(400000), D(0), D(0), D(400000), D(0)),)
    assert rate(visit(date(2026, 6, 30), CENTRAL)) == 0
    assert arrival_kind(visit(date(2026, 6, 30), PROVINCIAL)) == "1.14"


def test_nd_188_2025_former_provincial_outpatient_50_percent_from_2026_07_01() -> None:
    # From 01/07/2026, 50 % of the card's level: level 4 → 80 × 50 % = 40; level 3 → 95 × 50 %
    # = 47.5, on 100 × 3,000 = 300,000: BHTT 300,000 × 47.5 % = 142,500, BNCCT 157,500.
    assert rate(visit(date(2026, 7, 1), PROVINCIAL)) == 40
    level3 = visit(
        date(2026, 7, 1), PROVINCIAL, card=card("HT3010123456789"), drugs=(drug("100", "3000"),)
    )
    amounts = visit_amounts(level3)
    assert amounts.rate == D("47.5")
    assert (amounts.drugs[0].insurer, amounts.drugs[0].copay) == (D(142500), D(157500))
    # a former central hospital is not named by the sources read: still 0 % outpatient
    assert rate(visit(date(2026, 7, 1), CENTRAL)) == 0


def test_five_years_copay_exempt_from_ngay_mien_cct_to_the_end_of_that_year() -> None:
    # NGAY_MIEN_CCT 01/03/2024: 100 % from that day to 31/12/2024 (Art. 22.1.c, "trong năm");
    # 80 % before it and again in 2025 (400,000 covered, above every 15 % threshold).
    exempt = card(exempt=date(2024, 3, 1))
    assert rate(visit(date(2024, 2, 29), card=exempt)) == 80
    amounts = visit_amounts(visit(date(2024, 5, 2), card=exempt))
    assert amounts.rate == 100 and "NGAY_MIEN_CCT" in amounts.why
    assert rate(visit(date(2025, 1, 2), card=exempt)) == 80


def test_five_years_exemption_does_not_apply_out_of_network() -> None:
    # Art. 22.1.c: "trừ trường hợp tự đi khám bệnh, chữa bệnh không đúng tuyến": still 32.
    v = visit(date(2024, 5, 2), CENTRAL, kind="03", card=card(exempt=date(2024, 3, 1)))
    assert rate(v) == 32


def test_benefit_levels_3_and_5_out_of_network_at_central_level() -> None:
    # 95 × 40 % = 38; level 5 is 100 % of costs: 100 × 40 % = 40.
    level3 = visit(date(2024, 9, 10), CENTRAL, kind="03", card=card("HT3010123456789"))
    level5 = visit(date(2024, 9, 10), CENTRAL, kind="03", card=card("QN5010123456789"))
    assert (rate(level3), rate(level5)) == (38, 40)


def test_level_1_card_is_100_percent_in_network() -> None:
    amounts = visit_amounts(visit(date(2024, 9, 10), card=card("CC1010123456789")))
    assert amounts.rate == 100 and "card level 1" in amounts.why


def test_emergency_and_referral_are_in_network_anywhere() -> None:
    # A central hospital, outpatient, 400,000 covered: 80 % when it is an emergency or a referral,
    # where a self-referred visit would get 0 %.
    emergency = visit(date(2024, 9, 10), CENTRAL, emergency=True)
    referred = visit(date(2024, 9, 10), CENTRAL, referred_from="01801")
    assert (rate(emergency), rate(referred)) == (80, 80)
    assert (arrival_kind(emergency), arrival_kind(referred)) == ("2", "1.3")


def test_dt_card_inpatient_at_central_level_is_in_network_by_art_22_5() -> None:
    # An ethnic-minority card of a hardship area (DT, level 1): the card's 100 %, not 100 × 40 %.
    v = visit(date(2024, 9, 10), CENTRAL, kind="03", card=card("DT1010123456789"))
    assert rate(v) == 100
    assert arrival_kind(v) == "3.6"


def test_law_51_2024_district_of_another_province_is_in_network_from_2025_07_01() -> None:
    # A district hospital of Hồ Chí Minh City (79) on a Hà Nội card, 100,000 covered (under
    # 351,000). To 30/06/2025 it is out of network at 100 % (Art. 22.3.c): 80 × 100 % = 80, and
    # the 15 % rule does not apply out of network. From 01/07/2025 a former district facility is
    # in network nationwide (Law 51/2024), so the 15 % rule gives 100.
    small = (drug("25", "4000"),)
    before = visit_amounts(visit(date(2025, 6, 30), OTHER_DISTRICT, drugs=small))
    assert before.rate == 80 and "out of network" in before.why
    after = visit_amounts(visit(date(2025, 7, 1), OTHER_DISTRICT, drugs=small))
    assert after.rate == 100 and "Law 51/2024" in after.why
    assert arrival_kind(visit(date(2025, 7, 1), OTHER_DISTRICT)) == "3.3"


def test_law_51_2024_commune_of_another_province_is_100_percent_from_2025_07_01() -> None:
    # 400,000 covered at a commune station of another province: to 30/06/2025 out of network
    # (taken as 100 % of the card's 80), from 01/07/2025 cấp ban đầu nationwide: 100 %.
    assert rate(visit(date(2025, 6, 30), OTHER_COMMUNE)) == 80
    assert rate(visit(date(2025, 7, 1), OTHER_COMMUNE)) == 100
    # the decree that lists the 100 % cases: NĐ 146/2018 to 14/08/2025, NĐ 188/2025 from 15/08
    assert "NĐ 146/2018" in visit_amounts(visit(date(2025, 8, 14), OTHER_COMMUNE)).why
    assert "NĐ 188/2025" in visit_amounts(visit(date(2025, 8, 15), OTHER_COMMUNE)).why


def test_law_51_2024_provincial_inpatient_is_in_network_from_2025_07_01() -> None:
    # Inpatient at a former provincial hospital, 100,000 covered: out of network at 100 % to
    # 30/06/2025 (80, no 15 % rule); cấp cơ bản inpatient in network from 01/07/2025 (100).
    small = (drug("25", "4000"),)
    assert rate(visit(date(2025, 6, 30), PROVINCIAL, kind="03", drugs=small)) == 80
    assert rate(visit(date(2025, 7, 1), PROVINCIAL, kind="03", drugs=small)) == 100


def test_chronic_drugs_given_at_the_commune_pay_the_card_level() -> None:
    # Drugs prescribed above and given at the commune station (MA_NOI_DI 01801, MA_LOAI_KCB 07):
    # the card's 80 % (XML2 #27), not the commune's 100 %, unless under 15 %:
    # 400,000 ≥ 351,000 → 80; 300,000 < 351,000 → 100.
    chronic = visit(date(2024, 8, 1), COMMUNE, kind="07", referred_from="01801")
    assert rate(chronic) == 80
    assert rate(replace(chronic, drugs=(drug("100", "3000"),))) == 100


def test_rows_round_half_up_to_2_decimals() -> None:
    # 3 × 1,234.565 = 3,703.695 → 3,703.70; at 50 %: 1,851.8475 → 1,851.85;
    # BHTT 1,851.85 × 80 % = 1,481.48; BNCCT 370.37; BNTT 3,703.70 − 1,851.85 = 1,851.85.
    v = visit(date(2024, 3, 5), drugs=(drug("3", "1234.565", "50"), drug("100", "3000")))
    assert visit_amounts(v).drugs[0] == Amounts(
        D("3703.70"), D("1851.85"), D(80), D("1481.48"), D("370.37"), D("1851.85")
    )


def test_service_rows_apply_tyle_tt_dv_and_tyle_tt_bh() -> None:
    # A shared bed (TYLE_TT_DV 50), 4 × 300,000 × 50 % = 600,000 (BV), 4 × 250,000 × 50 % =
    # 500,000 (BH): BHTT 400,000, BNCCT 100,000, BNTT 100,000.
    # The appendix's example (XML2 #28): 7,000,000 at TYLE_TT_BH 50 = 3,500,000; BHTT 80 % =
    # 2,800,000; BNCCT 700,000; BNTT 3,500,000.
    v = visit(
        date(2024, 3, 5), kind="03",
        services=(service("4", "300000", "250000", service_rate="50"),
                  service("1", "7000000", "7000000", payment_rate="50")),
    )  # fmt: skip
    assert visit_amounts(v).services == (
        Amounts(D(600000), D(500000), D(80), D(400000), D(100000), D(100000)),
        Amounts(D(7000000), D(3500000), D(80), D(2800000), D(700000), D(3500000)),
    )


def test_the_hand_built_claim_examples() -> None:
    # tests/claims/claim_examples.py: a DN4 follow-up at 80 %, a referral under 15 % at 100 %.
    for example, expected in ((FOLLOW_UP, FOLLOW_UP_AMOUNTS), (REFERRED, REFERRED_AMOUNTS)):
        amounts = visit_amounts(example)
        assert [astuple(a) for a in amounts.drugs] == [astuple(s) for s in expected.drugs]
        assert [astuple(a) for a in amounts.services] == [astuple(s) for s in expected.services]


def _row(line: DrugLine | ServiceLine, amounts: Amounts) -> dict[str, str]:
    prices = (
        {"DON_GIA": str(line.unit_price)}
        if isinstance(line, DrugLine)
        else {
            "DON_GIA_BV": str(line.hospital_price),
            "DON_GIA_BH": str(line.insurance_price),
            "TYLE_TT_DV": str(line.service_rate),
        }
    )
    return prices | {
        "MA_LK": "enc-1", "SO_LUONG": str(line.quantity), "TYLE_TT_BH": str(line.payment_rate),
        "THANH_TIEN_BV": str(amounts.hospital), "THANH_TIEN_BH": str(amounts.insured),
        "MUC_HUONG": str(amounts.rate), "T_BHTT": str(amounts.insurer),
        "T_BNCCT": str(amounts.copay), "T_BNTT": str(amounts.patient), "T_NGUONKHAC": "0",
    }  # fmt: skip


@pytest.mark.parametrize(
    "v",
    [
        visit(
            date(2024, 9, 10),
            CENTRAL,
            kind="03",
            drugs=(drug("10", "12345.67", "50"),),
            services=(service("5", "650000", "500000"),),
        ),
        visit(
            date(2024, 3, 5),
            drugs=(drug("3", "1234.565", "50"), drug("7", "0.333")),
            services=(service("0.33", "300000", "250000", "33", "50"),),
        ),
        visit(
            date(2026, 7, 1),
            PROVINCIAL,
            card=card("HT3010123456789"),
            drugs=(drug("3", "1234.565", "50"),),
        ),
    ],
    ids=["central-32", "rounding", "level3-47.5"],
)
def test_amounts_pass_the_checkers_row_formulas(v: Visit) -> None:
    amounts = visit_amounts(v)
    report = _Report("test")
    for line, row in zip(v.drugs, amounts.drugs, strict=True):
        _check_row_amounts(_row(line, row), "XML2", report)
    for service_line, row in zip(v.services, amounts.services, strict=True):
        _check_row_amounts(_row(service_line, row), "XML3", report)
    assert [p.line() for p in report.problems] == []


def test_arrival_kinds_are_codes_of_qd_3276() -> None:
    visits = [
        visit(date(2024, 3, 5)),
        visit(date(2024, 3, 5), COMMUNE),
        visit(date(2024, 3, 5), CENTRAL, referred_from="01801"),
        visit(date(2024, 3, 5), CENTRAL, emergency=True),
        visit(date(2025, 7, 1), OTHER_DISTRICT),
        visit(date(2025, 7, 1), PROVINCIAL),
        visit(date(2025, 7, 1), PROVINCIAL, kind="03"),
        visit(date(2025, 7, 1), CENTRAL),
        visit(date(2025, 7, 1), CENTRAL, kind="03", card=card("DT1010123456789")),
        visit(date(2025, 7, 1), card=None),
    ]
    codes = [arrival_kind(v) for v in visits]
    assert codes == ["1.1", "1.2", "1.3", "2", "3.3", "1.14", "1.15", "3.1", "3.6", "9"]
    assert set(codes) <= ARRIVAL_CATEGORIES.keys()


def test_a_card_level_not_1_to_5_is_a_value_error() -> None:
    bad = visit(date(2024, 3, 5), card=card("DN6010123456789"))
    with pytest.raises(ValueError, match="'DN6010123456789': benefit level must be 1 to 5"):
        visit_amounts(bad)
    with pytest.raises(ValueError, match="benefit level"):
        arrival_kind(bad)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"card": None}, "no BHYT card in force"),
        ({"kind": "99"}, "MA_LOAI_KCB '99' is unknown"),
        ({"arrived": datetime(2019, 6, 30, 8)}, "no base salary known before 2019-07-01"),
        ({"drugs": (drug("-1", "4000"),)}, "drug '40.677': SO_LUONG -1 is negative"),
        ({"drugs": (drug("1", "4000", "120"),)}, "TYLE_TT_BH 120 is not a percentage"),
        ({"services": (service("1", "100", "200"),)}, "DON_GIA_BH 200 above DON_GIA_BV 100"),
    ],
    ids=["no-card", "kind", "date", "quantity", "percent", "prices"],
)
def test_bad_input_is_a_value_error_naming_it(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        visit_amounts(visit(date(2024, 3, 5), **changes))
