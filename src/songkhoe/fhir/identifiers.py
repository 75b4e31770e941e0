"""The identifiers that one living person alone may hold, and the locks that keep them so.

A CCCD (căn cước công dân, the citizen identity number) names one person: a Patient written
through /fhir (create, update, an entry of a transaction or batch Bundle) may not hold a CCCD that
another live Patient holds, and registering a person (songkhoe.clinical.registration) refuses a
CCCD or BHYT card number already registered. The write takes the lock of each such identifier
first, the lock a conditional create on `identifier=system|value` takes (`condition_key`,
http://hl7.org/fhir/R4/http.html#ccreate), then looks among all live Patients in the same
transaction: two writes of one number at the same moment make one holder, on SQLite (one writer
at a time) as on PostgreSQL (an advisory lock per key). The refusal (409) names no holder, whom
the caller may not be allowed to see. NDJSON and collection imports, which restore resources as
they were, are not checked.
"""

from collections.abc import Collection, Iterable, Sequence
from urllib.parse import urlencode

from sqlalchemy import Connection

from songkhoe.db.tables import idx_token
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.queries import tagged
from songkhoe.fhir.store import Writer
from songkhoe.fhir.systems import CCCD

UNIQUE_SYSTEMS = (CCCD,)  # held by one live Patient at most, whoever writes it


def condition_key(resource_type: str, query: list[tuple[str, str]]) -> str:
    """The name of the lock of a conditional write: the type and its query, parameters sorted."""
    return f"{resource_type}?{urlencode(sorted(query))}"


def identifier_key(system: str, value: str) -> str:
    """The lock of one identifier: that of a conditional create of a Patient on it."""
    return condition_key("Patient", [("identifier", f"{system}|{value}")])


def lock(writer: Writer, keys: Iterable[str]) -> None:
    """Take these locks in sorted order, so that two transactions taking some of the same ones
    cannot deadlock."""
    for key in sorted(set(keys)):
        writer.lock(key)


def unique_identifiers(res: dict) -> set[tuple[str, str]]:
    """The (system, value) of the identifiers of a Patient that no other may hold."""
    if res.get("resourceType") != "Patient":
        return set()
    return {
        (i["system"], i["value"])
        for i in res.get("identifier", [])
        if i.get("system") in UNIQUE_SYSTEMS and isinstance(i.get("value"), str)
    }


def unique_keys(resources: Iterable[dict]) -> set[str]:
    """The locks of the unique identifiers of the Patients among `resources`."""
    return {identifier_key(*pair) for res in resources for pair in unique_identifiers(res)}


def holders(conn: Connection, system: str, values: Collection[str]) -> dict[str, set[str]]:
    """The ids of the live Patients holding each of these identifier values (those that none
    holds are left out)."""
    query = tagged("Patient", "identifier", system, values).add_columns(idx_token.c.code)
    found: dict[str, set[str]] = {}
    for res_id, value in conn.execute(query):
        found.setdefault(value, set()).add(res_id)
    return found


def first_taken(conn: Connection, patients: Sequence[tuple[str | None, dict]]) -> int | None:
    """The position in `patients`, (id or None for a new one, content) about to be written, of
    the first that would hold a unique identifier held by another live Patient or by an
    earlier one of them; None if none would."""
    wanted = [unique_identifiers(res) for _, res in patients]
    held = {
        system: holders(conn, system, [v for pairs in wanted for s, v in pairs if s == system])
        for system in {s for pairs in wanted for s, _ in pairs}
    }
    seen: set[tuple[str, str]] = set()
    for position, ((res_id, _), pairs) in enumerate(zip(patients, wanted, strict=True)):
        if seen & pairs or any(held[s].get(v, set()) - {res_id} for s, v in pairs):
            return position
        seen |= pairs
    return None


def taken() -> FhirError:
    """The refusal of a Patient holding another's identifier (which names no one)."""
    return FhirError.single(
        409,
        "duplicate",
        "another Patient holds this CCCD (citizen identity number): one person, one record",
        "Patient.identifier",
    )


def claim(writer: Writer, patients: Sequence[tuple[str | None, dict]]) -> None:
    """Lock the unique identifiers of the Patients about to be written, then refuse (`taken`)
    if another holds one of them."""
    lock(writer, unique_keys(res for _, res in patients))
    if first_taken(writer.conn, patients) is not None:
        raise taken()
