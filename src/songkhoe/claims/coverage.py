"""A BHYT card as a FHIR R4 Coverage (http://hl7.org/fhir/R4/coverage.html).

What the claims XML takes from the card (QĐ 130/QĐ-BYT, XML1 and the check-in table):
`MA_THE_BHYT` (the 15-character number) is `subscriberId` and an identifier of system
`songkhoe.fhir.systems.BHYT`; `GT_THE_TU` / `GT_THE_DEN` (first and last day the card is valid,
yyyymmdd) are `period.start` / `period.end`; `MA_DKBD` (the initial registration facility, "gồm
có 05 ký tự"), `NAM_NAM_LIEN_TUC` (the date five years of continuous participation are
reached, yyyymmdd) and `NGAY_MIEN_CCT` (the day the holder is exempt from co-payment for the
rest of that year, from the exemption paper, XML1 #21) are extensions. The benefit group and
level are `class` entries (types `group` and `class` of
http://terminology.hl7.org/CodeSystem/coverage-class). The payor is Vietnam Social
Security (BHXH), named by display.
"""

import re
from datetime import date

from songkhoe.claims.card import BENEFIT_GROUPS, BENEFIT_LEVELS, Card, card_problem, parse_card
from songkhoe.fhir.systems import BASE, BHYT

# The BHYT code of a health facility (mã cơ sở KBCB, 5 characters), not the project's facility
# codes of songkhoe.fhir.systems.FACILITY_CODE ("TYT" + commune code, ...).
BHYT_FACILITY = f"{BASE}/sid/bhyt-facility-code"
EXT_INITIAL_FACILITY = f"{BASE}/StructureDefinition/bhyt-initial-registration-facility"
EXT_FIVE_YEARS = f"{BASE}/StructureDefinition/bhyt-five-years-continuous"
EXT_COPAY_EXEMPT = f"{BASE}/StructureDefinition/bhyt-copay-exempt-from"
COVERAGE_CLASS = "http://terminology.hl7.org/CodeSystem/coverage-class"
PAYOR = "Bảo hiểm xã hội Việt Nam"
FACILITY_PATTERN = re.compile(r"[0-9A-Za-z]{5}")  # MA_DKBD: 5 characters (QĐ 130, XML1 no. 17)


def _class(kind: str, value: str, name: str) -> dict:
    coding = {"system": COVERAGE_CLASS, "code": kind}
    return {"type": {"coding": [coding]}, "value": value, "name": name}


def coverage_resource(
    patient_id: str,
    card_number: str,
    valid_from: date,
    valid_to: date,
    initial_facility: str,
    five_years_from: date | None = None,
    copay_exempt_from: date | None = None,
) -> dict:
    """The Coverage of a card; ValueError naming the fault for a malformed card number, an
    initial facility that is not 5 characters, or a validity that ends before it starts."""
    card = parse_card(card_number)
    if not FACILITY_PATTERN.fullmatch(initial_facility):
        raise ValueError(
            f"initial registration facility must be 5 characters: {initial_facility!r}"
        )
    if valid_to < valid_from:
        raise ValueError(
            f"card validity ends before it starts: {_period_text(valid_from, valid_to)}"
        )
    extensions: list[dict] = [
        {
            "url": EXT_INITIAL_FACILITY,
            "valueIdentifier": {"system": BHYT_FACILITY, "value": initial_facility},
        }
    ]
    if five_years_from is not None:
        extensions.append({"url": EXT_FIVE_YEARS, "valueDate": five_years_from.isoformat()})
    if copay_exempt_from is not None:
        extensions.append({"url": EXT_COPAY_EXEMPT, "valueDate": copay_exempt_from.isoformat()})
    return {
        "resourceType": "Coverage",
        "extension": extensions,
        "identifier": [{"system": BHYT, "value": card_number}],
        "status": "active",
        "subscriberId": card_number,
        "beneficiary": {"reference": f"Patient/{patient_id}"},
        "period": {"start": valid_from.isoformat(), "end": valid_to.isoformat()},
        "payor": [{"display": PAYOR}],
        "class": [
            _class("group", card.group, BENEFIT_GROUPS[card.group]),
            _class("class", str(card.level), BENEFIT_LEVELS[card.level]),
        ],
    }


def coverage_card(coverage: dict) -> Card:
    """The card a Coverage holds (its `subscriberId`)."""
    return parse_card(coverage["subscriberId"])


def coverage_initial_facility(coverage: dict) -> str | None:
    """The MA_DKBD of a Coverage, None if it has none."""
    for extension in coverage.get("extension", ()):
        if extension["url"] == EXT_INITIAL_FACILITY:
            return str(extension["valueIdentifier"]["value"])
    return None


def _date_extension(coverage: dict, url: str) -> date | None:
    for extension in coverage.get("extension", ()):
        if extension["url"] == url:
            return date.fromisoformat(extension["valueDate"])
    return None


def coverage_five_years_from(coverage: dict) -> date | None:
    """The NAM_NAM_LIEN_TUC of a Coverage, None if it has none."""
    return _date_extension(coverage, EXT_FIVE_YEARS)


def coverage_copay_exempt_from(coverage: dict) -> date | None:
    """The NGAY_MIEN_CCT of a Coverage, None if it has none."""
    return _date_extension(coverage, EXT_COPAY_EXEMPT)


def _period(coverage: dict) -> tuple[date | None, date | None]:
    period = coverage.get("period", {})
    start, end = period.get("start"), period.get("end")
    return (
        date.fromisoformat(start[:10]) if start else None,
        date.fromisoformat(end[:10]) if end else None,
    )


def card_in_force(coverage: dict, on_date: date) -> bool:
    """Whether the card is valid on a day: both GT_THE_TU and GT_THE_DEN are valid days."""
    start, end = _period(coverage)
    return (start is None or start <= on_date) and (end is None or on_date <= end)


def _day(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else "…"


def _period_text(start: date | None, end: date | None) -> str:
    return f"{_day(start)}–{_day(end)}"


def coverage_problem(coverage: dict, visit_date: date) -> str | None:
    """What keeps the Coverage from paying for a visit on that day, in one line; None if
    nothing does."""
    if coverage.get("status") != "active":
        return f"coverage is {coverage.get('status')}, not active"
    problem = card_problem(str(coverage.get("subscriberId", "")))
    if problem is not None:
        return problem
    if not card_in_force(coverage, visit_date):
        validity = _period_text(*_period(coverage))
        return f"card out of validity: valid {validity}, visit {_day(visit_date)}"
    return None
