"""Checks of the identity numbers typed when registering a person (`registration`), and the
lookups of duplicates.

CCCD (căn cước công dân, Thông tư 59/2021/TT-BCA, Điều 7; as `songkhoe.synth.demography`
generates them): 12 digits = 3-digit birth-province code (the 63 pre-2025 provinces,
`songkhoe.places.former_provinces`) + a century/sex digit (0/1 male/female born 1900-1999, 2/3
2000-2099, 4/5 2100-2199, ...) + the last 2 digits of the birth year + a 6-digit serial. BHYT
card (Quyết định 1351/QĐ-BHXH): 2 letters of the group + 1 digit of the benefit level + 2-digit
province code + 10-digit social insurance number. Mobile numbers: 10 digits starting with 0.

Duplicates are looked for in the whole store, not only among the people the user may see: a
CCCD or card number already registered is refused (without saying who holds it, unless the user
may see that person); the same name and date of birth asks the user to confirm.
"""

from datetime import date

from sqlalchemy import Connection

from songkhoe.fhir.indexing import normalize_string
from songkhoe.fhir.names import full_name
from songkhoe.fhir.search import page, parse_query
from songkhoe.fhir.systems import BHYT, CCCD
from songkhoe.places.former_provinces import CCCD_PROVINCE_CODES

CCCD_PATTERN = r"\d{12}"
BHYT_PATTERN = r"[A-Za-z]{2}\d{13}"
PHONE_PATTERN = r"0\d{9}"


def cccd_problem(number: str, sex: str | None, birth: date | None) -> str | None:
    """The message key of what is wrong with a CCCD number (format already checked: 12 digits),
    given the sex and birth date typed with it; None if it fits."""
    if number[:3] not in CCCD_PROVINCE_CODES:
        return "cccd_province"
    digit = int(number[3])
    if birth is not None:
        if digit // 2 != (birth.year - 1900) // 100:
            return "cccd_century"
        if int(number[4:6]) != birth.year % 100:
            return "cccd_year"
    if sex in ("male", "female") and digit % 2 != (sex == "female"):
        return "cccd_sex"
    return None


def _everyone(conn: Connection, items: list[tuple[str, str]]) -> list[dict]:
    """Live Patients matching a FHIR search, among everyone (not only whom the user sees)."""
    return [r for _, r in page(conn, "Patient", parse_query("Patient", [*items, ("_count", "20")]))]


def same_name_and_birth(conn: Connection, name: str, birth: date) -> list[str]:
    """Ids of the live Patients with the same name (diacritics, case and spacing folded) born
    that day."""
    wanted = normalize_string(name)
    words = [("name", word) for word in wanted.split()]
    found = _everyone(conn, [*words, ("birthdate", birth.isoformat())]) if words else []
    return sorted(r["id"] for r in found if normalize_string(full_name(r)) == wanted)


IDENTIFIER_SYSTEMS = {"cccd": CCCD, "bhyt": BHYT}
