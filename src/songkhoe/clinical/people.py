"""Finding people and reading who looked at a person's record, on behalf of a caller: searches
that return only what the caller may see (songkhoe.auth.caller)."""

import re

from songkhoe.auth.caller import Caller
from songkhoe.clinical.identity import BHYT_PATTERN
from songkhoe.fhir.systems import BHYT, CCCD

DIGITS = re.compile(r"\d{9,12}")
INSURANCE = re.compile(BHYT_PATTERN)


def person_query(text: str) -> list[tuple[str, str]]:
    """The FHIR search for what a health worker types: a CCCD or phone number (digits), an
    insurance card number (2 letters + 13 digits), else a name."""
    text = text.strip()
    compact = text.replace(" ", "")
    if INSURANCE.fullmatch(compact):
        return [("identifier", f"{BHYT}|{compact.upper()}")]
    if DIGITS.fullmatch(compact):
        return [("identifier", f"{CCCD}|{compact}") if len(compact) == 12 else ("phone", compact)]
    return [("name", word) for word in text.split()]


def find(caller: Caller, text: str) -> list[dict]:
    """The people matching what was typed (`person_query`) whom the caller may see, at most 50
    by family name; audited as one search."""
    return caller.search("Patient", [*person_query(text), ("_count", "50"), ("_sort", "family")])


def access_log(caller: Caller, patient_id: str) -> list[dict]:
    """The AuditEvents about a person that the caller may see, newest first (at most 200). Not
    audited itself: opening the person's record for it is."""
    items = [("patient", patient_id), ("_sort", "-date"), ("_count", "200")]
    return caller.visible("AuditEvent", items)
