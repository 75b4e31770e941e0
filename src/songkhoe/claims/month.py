"""A facility's month of BHYT claims as its accountant sees them: each Claim of the month
(`claims.submissions`: meta.tag `MONTH_TAG` = the settlement month, `provider` = the facility's
Organization), where it stands (`submissions.standing` over its ClaimResponses) and the person
it is for.

Everything is read through the caller (`Caller.search`): the access policy filters it and each
page of claims, and each batch of people, is one AuditEvent (purpose HPAYMT for the accountant,
`auth.audit.default_purpose`). Claims the caller may not see (people outside their place) are
counted, never shown: `Month.hidden`.

Amounts come back from the store as JSON numbers; each is read as the decimal it was written
from (`Decimal(repr(x))`, exact for amounts in đồng with 2 decimals up to 10^13) and rounded to
the đồng's 2 decimals.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from songkhoe.auth.caller import Caller
from songkhoe.auth.models import Place
from songkhoe.claims.submissions import (
    COST_GROUP,
    EXT_TOTALS,
    MONTH_TAG,
    Standing,
    standing,
)
from songkhoe.fhir import search as fhir_search
from songkhoe.fhir.names import full_name
from songkhoe.places.facilities import commune_station_id

CENT = Decimal("0.01")
PAGE = fhir_search.MAX_COUNT
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def parse_month(text: str) -> str:
    """A settlement month as the claims tag it ("YYYY-MM"); ValueError naming the fault."""
    if not _MONTH.fullmatch(text):
        raise ValueError(f"month must be YYYY-MM (e.g. 2026-11), got {text!r}")
    return text


def last_complete_month(today: date) -> str:
    """The month before `today`'s: the one whose claims are settled now."""
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def facility_of(place: Place) -> str | None:
    """The facility (Organization id) whose claims an accountant of `place` keeps: the facility
    itself, or the station of a commune; None for a wider place."""
    if place.kind == "facility":
        return place.code
    if place.kind == "commune" and place.code:
        return commune_station_id(place.code)
    return None


def amount(value: float | int | str) -> Decimal:
    """A JSON amount as the decimal in đồng it was written from (see the module's docstring)."""
    return Decimal(repr(value) if isinstance(value, float) else str(value)).quantize(CENT)


@dataclass(frozen=True)
class ClaimLine:
    """One claim of the month, as the page and the summary need it."""

    key: str  # MA_LK
    patient_id: str
    name: str  # "" when the person's record cannot be read
    birth_year: str
    gender: str  # FHIR administrative gender ("" unknown)
    card: str  # MA_THE_BHYT ("" without a card)
    diagnosis: str  # the main ICD-10 code ("" without one)
    arrived: date
    left: date
    facility_code: str  # MA_CSKCB (the provider's BHYT identifier)
    totals: Mapping[str, Decimal]  # XML1's totals by field name; empty without rows
    groups: Mapping[str, Decimal]  # MA_NHOM → Σ THANH_TIEN_BV
    standing: Standing


def _patient_id(claim: dict) -> str:
    return str(claim["patient"]["reference"]).removeprefix("Patient/")


def claim_line(claim: dict, responses: Sequence[dict], patient: dict | None) -> ClaimLine:
    """The line of one Claim, given its ClaimResponses and its Patient (None: not readable)."""
    period = claim["billablePeriod"]
    coverage = claim["insurance"][0]["coverage"]
    diagnoses = claim.get("diagnosis", ())
    parts = (e["extension"] for e in claim.get("extension", ()) if e["url"] == EXT_TOTALS)
    totals: list[dict] = next(parts, [])
    groups: dict[str, Decimal] = {}
    for item in claim.get("item", ()):
        code = next(c["code"] for c in item["productOrService"]["coding"]
                    if c["system"] == COST_GROUP)  # fmt: skip
        groups[code] = groups.get(code, Decimal(0)) + amount(item["net"]["value"])
    return ClaimLine(
        key=claim["identifier"][0]["value"],
        patient_id=_patient_id(claim),
        name=(full_name(patient) or "") if patient else "",
        birth_year=(patient or {}).get("birthDate", "")[:4],
        gender=(patient or {}).get("gender", ""),
        card=coverage.get("identifier", {}).get("value", ""),
        diagnosis=diagnoses[0]["diagnosisCodeableConcept"]["coding"][0]["code"]
        if diagnoses
        else "",
        arrived=date.fromisoformat(period["start"][:10]),
        left=date.fromisoformat(period["end"][:10]),
        facility_code=claim["provider"].get("identifier", {}).get("value", ""),
        totals={part["url"]: amount(part["valueDecimal"]) for part in totals},
        groups=groups,
        standing=standing(claim, responses),
    )


@dataclass(frozen=True)
class Month:
    """The claims of one facility's settlement month that the caller may see."""

    facility: str  # Organization id
    month: str  # YYYY-MM
    lines: tuple[ClaimLine, ...]
    hidden: int  # claims of that month the caller may not see


def _criteria(facility: str, month: str) -> list[tuple[str, str]]:
    return [("_tag", f"{MONTH_TAG}|{month}"), ("provider", f"Organization/{facility}")]


def read_month(caller: Caller, facility: str, month: str) -> Month:
    """The facility's claims of `month` that `caller` may see, by MA_LK (audited)."""
    criteria = _criteria(facility, parse_month(month))
    claims: list[dict] = []
    responses: dict[str, list[dict]] = {}
    while True:
        paging = [("_sort", "_id"), ("_count", str(PAGE)), ("_offset", str(len(claims)))]
        found = caller.search("Claim", [*criteria, ("_revinclude", "ClaimResponse:request"),
                                        *paging])  # fmt: skip
        page = [r for r in found if r["resourceType"] == "Claim"]
        claims += page
        for response in found:
            if response["resourceType"] == "ClaimResponse":
                claim_id = response["request"]["reference"].removeprefix("Claim/")
                responses.setdefault(claim_id, []).append(response)
        if len(page) < PAGE:
            break
    with caller.store.engine.connect() as conn:  # a count, naming nobody
        everything = fhir_search.count(conn, "Claim", fhir_search.parse_query("Claim", criteria))
    people = _patients(caller, sorted({_patient_id(c) for c in claims}))
    lines = [claim_line(c, responses.get(c["id"], []), people.get(_patient_id(c))) for c in claims]
    return Month(facility, month, tuple(sorted(lines, key=lambda x: x.key)),
                 everything - len(claims))  # fmt: skip


def _patients(caller: Caller, ids: list[str]) -> dict[str, dict]:
    """The Patients of these ids that the caller may see, a search (one AuditEvent) per page."""
    found: dict[str, dict] = {}
    for start in range(0, len(ids), PAGE):
        query = [("_id", ",".join(ids[start : start + PAGE])), ("_count", str(PAGE))]
        found |= {p["id"]: p for p in caller.search("Patient", query)}
    return found
