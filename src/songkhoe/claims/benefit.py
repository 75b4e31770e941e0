"""The legal arithmetic of one BHYT claim: the benefit rate of a visit (MUC_HUONG) and the
amounts of each XML2/XML3 row, by the date of the visit (the day of ``visit.arrived``).

Sources, and how each was read:
- Luật BHYT 25/2008/QH12 as amended by 46/2014/QH13, Art. 22 (mức hưởng), and Nghị định
  146/2018/NĐ-CP Art. 14 as amended by NĐ 75/2023/NĐ-CP: read in the consolidated text of the
  Pháp điển (articles "2.2.LQ.22" and "2.2.NĐ.3.14", as republished in the public repository
  diepxuan/diepxuan.github.io, van-ban/bao-hiem/bao-hiem-y-te.md).
- Law 51/2024/QH15 (27/11/2024, in force 01/07/2025): its new Art. 22 was NOT read. What it
  changed is as the Ministry of Health's implementation conference (cocc.edu.vn) and Lao Động
  (12/06/2025) report it: the card's full level at any cấp ban đầu facility nationwide, for
  inpatient care at any cấp cơ bản facility nationwide, and at any cấp cơ bản or chuyên sâu
  facility that was tuyến huyện before 01/01/2025; the MA_DOITUONG_KCB codes of QĐ 3276/QĐ-BYT
  (``claims.codes``) agree (1.2, 1.15, 3.3; 3.1 and 3.6 for cấp chuyên sâu).
- Nghị định 188/2025/NĐ-CP (01/07/2025, in force 15/08/2025) details the amended law and, as
  news reports say, replaces NĐ 146/2018 (not read in the decree). As Lao Động (2025, 2026) and
  Asia Insurance Review report it: from 01/07/2026 self-referred outpatient care at a cấp cơ
  bản facility that was tuyến tỉnh or trung ương, and at a cấp chuyên sâu facility that was
  tuyến tỉnh, is paid at 50 % of the card's level (before: nothing). The 100 % cases of a visit
  under 15 % of the base salary and of care at cấp ban đầu stay (Kênh 14, 17/01/2026: "15% mức
  lương cơ sở (hiện là 351.000 đồng)").
- MUC_HUONG and the row formulas: the QĐ 130/4750 appendix (XML2 #20-#30, XML3 #19-#30).

The facility's ``CareLevel`` is the tuyến of the 2014 law. After 01/07/2025 it is read as the
cấp of Luật KBCB 15/2023/QH15 it became: COMMUNE → cấp ban đầu; DISTRICT → a facility that was
tuyến huyện (cấp ban đầu, cơ bản or chuyên sâu: the same benefit whatever it became); PROVINCIAL →
cấp cơ bản or chuyên sâu that was tuyến tỉnh (the benefit is the same for both: 100 % inpatient,
50 % outpatient from 01/07/2026); CENTRAL → cấp chuyên sâu that was tuyến trung ương. A basic-level
facility's score (under 50 or 50-70 points, NĐ 02/2025 and 188/2025) is not known here, so a
former district facility is always paid in full and a former provincial one by the rule above.

Not represented: registration at a facility of a bordering province (NĐ 146 Art. 14.4); the 62
diseases that may go straight to cấp chuyên sâu (TT 01/2025/TT-BYT); poor households (HN) and
residents of hardship areas (DK) under Art. 22.5, whose residence the card does not say (only
DT and XD cards, which say it, are); a referral after a self-referred visit (NĐ 146 Art. 14.3).
A stay that crosses a date below is paid by the rule of its first day.
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from songkhoe.claims.card import parse_card
from songkhoe.claims.codes import (
    CARE_KINDS,
    DAY_TREATMENT,
    EMERGENCY,
    FACILITY_STAY,
    INPATIENT,
    INPATIENT_UNDER_4_HOURS,
    NOT_INSURED,
    PRIMARY_CARE_FACILITY,
    REFERRED_IN,
    REGISTERED_FACILITY,
)
from songkhoe.claims.visit import CardInForce, CareLevel, DrugLine, ServiceLine, Visit

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class BaseSalary:
    """One mức lương cơ sở, in force from ``since`` until the next one."""

    since: date
    amount: Decimal
    decree: str


BASE_SALARIES: tuple[BaseSalary, ...] = (
    BaseSalary(date(2019, 7, 1), Decimal(1_490_000), "Nghị định 38/2019/NĐ-CP"),
    BaseSalary(date(2023, 7, 1), Decimal(1_800_000), "Nghị định 24/2023/NĐ-CP"),
    BaseSalary(date(2024, 7, 1), Decimal(2_340_000), "Nghị định 73/2024/NĐ-CP"),
)
"""The base salary by date. 1,490,000 from 01/07/2019 (NĐ 38/2019, as Lao Động lists the
changes since 2013); 1,800,000 from 01/07/2023 (NĐ 24/2023 of 14/05/2023, read in its
LuatVietnam summary); 2,340,000 from 01/07/2024 (NĐ 73/2024 of 30/06/2024, Mondaq 05/07/2024),
kept through 2025 (Nghị quyết 159/2024/QH15) and into 2026. An 8 % rise to 2,530,000 from
01/07/2026 was announced (Báo Chính phủ, 09/03/2026) but no decree making it was found: if one
was issued, add it here. Law 51/2024 names a "mức tham chiếu" for BHYT, which is still this
amount (Kênh 14, 17/01/2026)."""

LEVEL_RATES: dict[int, Decimal] = {
    1: HUNDRED,
    2: HUNDRED,
    3: Decimal(95),
    4: Decimal(80),
    5: HUNDRED,
}
"""The card's benefit level (3rd character, QĐ 1351/QĐ-BHXH Điều 2, ``card.BENEFIT_LEVELS``) →
the insured share of covered costs, percent: Luật BHYT Art. 22.1 points a, d, đ."""

LOW_COST_SHARE = Decimal("0.15")
"""A visit whose covered costs are under 15 % of the base salary is paid in full: Art. 22.1.b
("thấp hơn mức do Chính phủ quy định"), NĐ 146/2018 Art. 14.1.d ("thấp hơn 15% mức lương cơ
sở"); "thấp hơn" is strictly under. The appendix tests it on "tổng chi phí trong phạm vi được
hưởng" (XML2 #27 MUC_HUONG), i.e. the visit's total THANH_TIEN_BH."""

PROVINCIAL_INPATIENT_FULL = date(2021, 1, 1)  # Art. 22.3.b and 22.6: 60 % → 100 %
LAW_51_IN_FORCE = date(2025, 7, 1)
OUTPATIENT_HALF = date(2026, 7, 1)  # NĐ 188/2025, as reported
ND_188_IN_FORCE = date(2025, 8, 15)

INPATIENT_KINDS = frozenset({INPATIENT, DAY_TREATMENT, FACILITY_STAY, INPATIENT_UNDER_4_HOURS})
"""The MA_LOAI_KCB of inpatient care ("chi phí điều trị nội trú", Art. 22.3): 03, 04 and 06 are
those XML8 is sent for (its note), 09 ("nội trú dưới 4 giờ") is named with them by XML5's."""

DISADVANTAGED_GROUPS = frozenset({"DT", "XD"})
"""Card groups of Art. 22.5 (ethnic minorities in hardship areas, island residents): paid at the
card's level out of network at district hospitals and for inpatient care at any level."""

# MA_DOITUONG_KCB codes of QĐ 3276/QĐ-BYT (claims.codes.ARRIVAL_CATEGORIES) that codes.py does not
# name: self-referred care at a former provincial facility (outpatient, inpatient), at a former
# central one, at a former district one, and Art. 22.5's inpatient care at cấp chuyên sâu.
FORMER_PROVINCIAL_OUTPATIENT = "1.14"
BASIC_LEVEL_INPATIENT = "1.15"
FORMER_CENTRAL = "3.1"
FORMER_DISTRICT = "3.3"
DISADVANTAGED_SPECIALISED_INPATIENT = "3.6"


@dataclass(frozen=True)
class Amounts:
    """One XML2/XML3 row's amounts in đồng, each rounded to 2 decimals ROUND_HALF_UP ("làm tròn
    số đến 2 chữ số thập phân", XML2 #20-#30), with no other source (T_NGUONKHAC = 0)."""

    hospital: Decimal  # THANH_TIEN_BV
    insured: Decimal  # THANH_TIEN_BH
    rate: Decimal  # MUC_HUONG (percent, the rate actually applied)
    insurer: Decimal  # T_BHTT
    copay: Decimal  # T_BNCCT
    patient: Decimal  # T_BNTT


@dataclass(frozen=True)
class VisitAmounts:
    rate: Decimal  # MUC_HUONG applied to the visit
    why: str  # one line: which rule gave the rate, with its legal source
    drugs: tuple[Amounts, ...]  # in the order of visit.drugs
    services: tuple[Amounts, ...]  # in the order of visit.services


@dataclass(frozen=True)
class _Route:
    """How the person came, as the law pays it: ``share`` None is in network (the card's level
    and the 100 % cases), otherwise the out-of-network share of the card's level, percent."""

    code: str  # MA_DOITUONG_KCB
    share: Decimal | None
    rule: str


def base_salary(on: date) -> Decimal:
    """The mức lương cơ sở in force on a day (``BASE_SALARIES``); ValueError before the first."""
    return _base_salary(on).amount


def _base_salary(on: date) -> BaseSalary:
    for salary in reversed(BASE_SALARIES):
        if on >= salary.since:
            return salary
    raise ValueError(
        f"no base salary known before {BASE_SALARIES[0].since.isoformat()}: {on.isoformat()}"
    )


def arrival_kind(visit: Visit) -> str:
    """MA_DOITUONG_KCB from the visit's facts, in the order of QĐ 3276's list (claims.codes):
    9 without a card; 1.2 at cấp ban đầu (COMMUNE), which 1.1 excludes; 1.1 registered here; 1.3
    referred in; 2 emergency (put before the self-referral codes, which would pay less: an
    emergency is in network anywhere, TT 30/2020/TT-BYT Art. 6.3); then the self-referral code
    of the facility's former tuyến (module docstring). Today's list is the only one verified, so
    a visit before 01/07/2025 gets its code too (QĐ 824's may differ)."""
    if visit.card is None:
        return NOT_INSURED
    return _route(visit, _card_group(visit)).code


def visit_amounts(visit: Visit) -> VisitAmounts:
    """The rate of the visit and every row's amounts. ValueError naming the fault for a visit
    with no card, a card that is not well formed (a benefit level not 1-5 among them), an
    unknown MA_LOAI_KCB, a date before the first base salary, or a row that cannot be priced."""
    group, level = _card_parts(visit)
    drugs = [_drug_costs(line) for line in visit.drugs]
    services = [_service_costs(line) for line in visit.services]
    insured_total = sum((_cents(insured) for _, insured in drugs + services), Decimal(0))
    rate, why = _rate(visit, level, _route(visit, group), insured_total)
    return VisitAmounts(
        rate=rate,
        why=why,
        drugs=tuple(_row(hospital, insured, rate) for hospital, insured in drugs),
        services=tuple(_row(hospital, insured, rate) for hospital, insured in services),
    )


def _card(visit: Visit) -> CardInForce:
    if visit.card is None:
        raise ValueError(
            f"visit {visit.encounter_id}: no BHYT card in force, so no benefit to compute"
        )
    return visit.card


def _card_parts(visit: Visit) -> tuple[str, int]:
    """The card's benefit group and level; ValueError naming the card and its fault."""
    number = _card(visit).number
    try:
        card = parse_card(number)
    except ValueError as exc:
        raise ValueError(f"visit {visit.encounter_id}: BHYT card {number!r}: {exc}") from None
    return card.group, card.level


def _card_group(visit: Visit) -> str:
    return _card_parts(visit)[0]


def _inpatient(visit: Visit) -> bool:
    if visit.kind not in CARE_KINDS:
        raise ValueError(f"visit {visit.encounter_id}: MA_LOAI_KCB {visit.kind!r} is unknown")
    return visit.kind in INPATIENT_KINDS


def _route(visit: Visit, group: str) -> _Route:
    """In network or not, and the MA_DOITUONG_KCB that says so. In network: registered here
    (MA_DKBD = MA_CSKCB); referred in (MA_NOI_DI given; Art. 22.1 via Art. 26-28, TT 30/2020
    Art. 6.4); an emergency (Art. 28, TT 30/2020 Art. 6.3); and by law: before 01/07/2025 a
    commune station or district hospital of the province of the card's MA_DKBD (Art. 22.4,
    thông tuyến huyện; a BHYT facility code begins with its province's 2 digits, as XML1 #17's
    "01000" for Hà Nội shows), from 01/07/2025 any cấp ban đầu, any former district facility
    and inpatient care at cấp cơ bản (Law 51/2024); Art. 22.5's DT and XD cards."""
    card = _card(visit)
    facility = visit.facility
    on = visit.arrived.date()
    inpatient = _inpatient(visit)
    law_51 = on >= LAW_51_IN_FORCE
    same_province = card.initial_facility[:2] == facility.province_code
    commune = facility.level is CareLevel.COMMUNE
    if card.initial_facility == facility.code:
        code = PRIMARY_CARE_FACILITY if commune else REGISTERED_FACILITY
        return _Route(code, None, "registered here (MA_DKBD = MA_CSKCB; Luật BHYT Art. 26)")
    if commune and (law_51 or same_province):
        rule = "cấp ban đầu, nationwide (Law 51/2024)" if law_51 else "Art. 22.4 (same province)"
        return _Route(PRIMARY_CARE_FACILITY, None, f"commune station in network by {rule}")
    if visit.referred_from:
        return _Route(REFERRED_IN, None, f"referred in from {visit.referred_from} (Art. 26)")
    if visit.emergency:
        return _Route(EMERGENCY, None, "emergency (Art. 28; TT 30/2020/TT-BYT Art. 6.3)")
    district = facility.level is CareLevel.DISTRICT
    if district and (law_51 or same_province):
        rule = "former tuyến huyện, nationwide (Law 51/2024)" if law_51 else "Art. 22.4"
        return _Route(FORMER_DISTRICT, None, f"district hospital in network by {rule}")
    if group in DISADVANTAGED_GROUPS and (district or (inpatient and not commune)):
        code = {
            CareLevel.DISTRICT: FORMER_DISTRICT,
            CareLevel.PROVINCIAL: BASIC_LEVEL_INPATIENT,
            CareLevel.CENTRAL: DISADVANTAGED_SPECIALISED_INPATIENT,
        }[facility.level]
        return _Route(code, None, f"{group} card in network by Art. 22.5")
    if law_51 and inpatient and facility.level is CareLevel.PROVINCIAL:
        return _Route(
            BASIC_LEVEL_INPATIENT, None, "inpatient at cấp cơ bản, nationwide (Law 51/2024)"
        )
    return _out_of_network(facility.level, inpatient, on)


def _out_of_network(level: CareLevel, inpatient: bool, on: date) -> _Route:
    """Self-referred (tự đi không đúng tuyến) shares of Art. 22.3: central 40 % inpatient (kept for
    cấp chuyên sâu that was tuyến trung ương after Law 51, as QĐ 3276's codes 3.1/3.6 and Lao
    Động's summary of NĐ 188/2025 read); provincial 60 % inpatient to 31/12/2020, 100 % from
    01/01/2021; district 100 % (70 % before 2016, earlier than any base salary here); outpatient
    care at provincial and central level is not named, so 0 %, until NĐ 188/2025's 50 % at former
    provincial facilities from 01/07/2026 (a former central one is not named: 0 %). Art. 22.3
    names no share for a commune station of another province: it is taken as 100 %, like the
    district hospitals above it (an assumption, not read in any text)."""
    if level is CareLevel.COMMUNE:
        return _Route(PRIMARY_CARE_FACILITY, HUNDRED, "commune station of another province")
    if level is CareLevel.DISTRICT:
        return _Route(FORMER_DISTRICT, HUNDRED, "district hospital (Art. 22.3.c)")
    if level is CareLevel.PROVINCIAL and inpatient:
        share = HUNDRED if on >= PROVINCIAL_INPATIENT_FULL else Decimal(60)
        return _Route(BASIC_LEVEL_INPATIENT, share, "provincial inpatient (Art. 22.3.b, 22.6)")
    if level is CareLevel.PROVINCIAL:
        if on >= OUTPATIENT_HALF:
            rule = "former provincial outpatient (NĐ 188/2025, from 01/07/2026)"
            return _Route(FORMER_PROVINCIAL_OUTPATIENT, Decimal(50), rule)
        rule = "provincial outpatient: not paid (Art. 22.3 names inpatient care only)"
        return _Route(FORMER_PROVINCIAL_OUTPATIENT, Decimal(0), rule)
    if inpatient:
        return _Route(FORMER_CENTRAL, Decimal(40), "central inpatient (Art. 22.3.a)")
    return _Route(FORMER_CENTRAL, Decimal(0), "central outpatient: not paid (Art. 22.3)")


def _rate(visit: Visit, level: int, route: _Route, insured_total: Decimal) -> tuple[Decimal, str]:
    """MUC_HUONG and why. Out of network: the card's rate × the share (XML2 #27: "80 % ... 40 %
    ghi mức hưởng là 32"), with none of the 100 % cases ("trái tuyến, có tổng chi phí dưới 15%
    ... ghi mức trái tuyến"; NĐ 146 Art. 14.1 applies them to Art. 26-28 and 22.4-22.5 only). In
    network, 100 % at a commune station (Art. 22.1.b, NĐ 146 Art. 14.1.c; cấp ban đầu after Law
    51), under 15 % of the base salary (``LOW_COST_SHARE``), or from NGAY_MIEN_CCT to the end of
    that year (5 years' participation and co-payments over 6 months' base salary, Art. 22.1.c,
    NĐ 146 Art. 14.1.đ "trong năm"). Drugs prescribed above and given at a commune station
    (referred in there: MA_NOI_DI, XML1 #31) get the card's level, except under 15 % (XML2 #27;
    NĐ 146 Art. 14.1.h also keeps point đ, the five years)."""
    full = LEVEL_RATES[level]
    card_rule = f"card level {level}: {full} % (Luật BHYT Art. 22.1)"
    if route.share is not None:
        rate = full * route.share / HUNDRED
        return rate, f"{rate} % = {card_rule} × {route.share} % out of network, {route.rule}"
    if full == HUNDRED:
        return full, f"100 %: {card_rule}; {route.rule}"
    on = visit.arrived.date()
    commune = visit.facility.level is CareLevel.COMMUNE
    if commune and not visit.referred_from:
        return HUNDRED, f"100 % at a commune station ({_decree(on)}); {route.rule}"
    salary = _base_salary(on)
    threshold = _cents(salary.amount * LOW_COST_SHARE)
    if insured_total < threshold:
        return HUNDRED, (
            f"100 %: covered costs {insured_total} under 15 % of the base salary {salary.amount} "
            f"({salary.decree}) = {threshold} ({_decree(on)}); {route.rule}"
        )
    exempt = _card(visit).copay_exempt_from
    if exempt is not None and exempt <= on and exempt.year == on.year:
        return HUNDRED, (
            f"100 %: co-payment exempt from {exempt.isoformat()} (NGAY_MIEN_CCT; Art. 22.1.c, "
            f"{_decree(on)}); {route.rule}"
        )
    if commune:
        return full, f"{card_rule}: drugs prescribed above, given at the commune (XML2 #27)"
    return full, f"{card_rule}; {route.rule}"


def _decree(on: date) -> str:
    """The decree that lists the 100 % cases on a day: NĐ 146/2018 Art. 14.1 (as amended by NĐ
    75/2023 and 02/2025), then NĐ 188/2025 from 15/08/2025 (its Art. 15, as Lao Động reports)."""
    if on >= ND_188_IN_FORCE:
        return "NĐ 188/2025/NĐ-CP Art. 15"
    return "NĐ 146/2018/NĐ-CP Art. 14.1"


def _check_line(what: str, amounts: dict[str, Decimal], percents: dict[str, Decimal]) -> None:
    for name, value in amounts.items():
        if value < 0:
            raise ValueError(f"{what}: {name} {value} is negative")
    for name, value in percents.items():
        if not 0 <= value <= HUNDRED:
            raise ValueError(f"{what}: {name} {value} is not a percentage from 0 to 100")


def _drug_costs(line: DrugLine) -> tuple[Decimal, Decimal]:
    """THANH_TIEN_BV = SO_LUONG × DON_GIA (XML2 #20); THANH_TIEN_BH = SO_LUONG × DON_GIA ×
    TYLE_TT_BH/100 (XML2 #21); unrounded."""
    what = f"drug {line.code!r}"
    _check_line(
        what,
        {"SO_LUONG": line.quantity, "DON_GIA": line.unit_price},
        {"TYLE_TT_BH": line.payment_rate},
    )
    cost = line.quantity * line.unit_price
    return cost, cost * line.payment_rate / HUNDRED


def _service_costs(line: ServiceLine) -> tuple[Decimal, Decimal]:
    """THANH_TIEN_BV = SO_LUONG × DON_GIA_BV × TYLE_TT_DV/100 (XML3 #19 as QĐ 4750 corrects it,
    TYLE_TT_DV being a percentage, #17); THANH_TIEN_BH = SO_LUONG × DON_GIA_BH × TYLE_TT_DV/100 ×
    TYLE_TT_BH/100 (#20); unrounded. The fund's price above the hospital's is refused: it would
    make T_BNTT negative."""
    what = f"service {line.code or line.supply_code!r}"
    _check_line(
        what,
        {
            "SO_LUONG": line.quantity,
            "DON_GIA_BV": line.hospital_price,
            "DON_GIA_BH": line.insurance_price,
        },
        {"TYLE_TT_DV": line.service_rate, "TYLE_TT_BH": line.payment_rate},
    )
    if line.insurance_price > line.hospital_price:
        raise ValueError(
            f"{what}: DON_GIA_BH {line.insurance_price} above DON_GIA_BV {line.hospital_price}"
        )
    share = line.quantity * line.service_rate / HUNDRED
    return share * line.hospital_price, share * line.insurance_price * line.payment_rate / HUNDRED


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _row(hospital: Decimal, insured: Decimal, rate: Decimal) -> Amounts:
    """Step 1 of XML2 #28-#30 with T_NGUONKHAC = 0, on the rounded amounts: T_BNTT = BV − BH,
    T_BHTT = BH × MUC_HUONG/100, T_BNCCT = BH − T_BHTT."""
    bv, bh = _cents(hospital), _cents(insured)
    insurer = _cents(bh * rate / HUNDRED)
    return Amounts(
        hospital=bv, insured=bh, rate=rate, insurer=insurer, copay=bh - insurer, patient=bv - bh
    )
