"""The one access-checked read of a commune's NCD worklists (`songkhoe.ncd.worklists`), for the
JSON API (/api/ncd/worklists/{kind}) and the worklist pages alike.

Who may read them: a caller with Patient read access who is place-based (the commune's health
workers, the doctors of its province, managers granted names) or unrestricted, and whose place
covers the commune (`songkhoe.auth.policy.covers`); a refusal is audited. The lists come from
the NCD projections, which `songkhoe ncd refresh` rebuilds; until then a person who has since
been deleted, or moved to a station outside the caller's place, is left out (the access
policy's SQL restriction on the live Patients), and a person contacted in the 30 days before
the moment (`songkhoe.ncd.contacts`) is marked with the day of the contact and put at the end.
The people read are named and audited; a count (`worklist_counts`) names nobody and is not.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from songkhoe.auth.caller import Caller
from songkhoe.auth.policy import Access, covers
from songkhoe.fhir.outcomes import FhirError
from songkhoe.ncd.contacts import recent_contacts
from songkhoe.ncd.worklists import KINDS, Entry, UnknownWorklist, name_entries, worklist
from songkhoe.places.catalog import UnknownPlace, commune


def now() -> np.datetime64:
    """The current UTC time to the second: the moment a worklist is for unless one is asked."""
    return np.datetime64(datetime.now(UTC).replace(tzinfo=None), "s")


def may_read(access: Access, commune_code: str) -> bool:
    """Whether these access rights let their holder read the worklists of a known commune."""
    return (
        access.principal.allows("Patient", "read")
        and (access.place_based or access.unrestricted)
        and covers(access.principal.place, [commune_code])
    )


def checked_commune(caller: Caller, commune_code: str, query: str) -> str:
    """The code of the commune if the caller may read its worklists; FhirError otherwise: 400
    for an unknown commune, 403 for a refusal, audited with `query`."""
    try:
        code = commune(commune_code).code
    except UnknownPlace as exc:
        raise FhirError.single(400, "invalid", f"commune: {exc}", "commune") from None
    if not may_read(caller.access, code):
        caller.audit("search-type", [], outcome="refused", query=query)
        raise FhirError.single(
            403, "forbidden", f"the worklists of commune {code} are for its station's staff"
        )
    return code


@dataclass(frozen=True, slots=True)
class WorklistPage:
    """A part of a worklist of a commune as the caller may see it: `entries` out of `total`,
    from the projections of `projections_as_of`."""

    commune: str
    projections_as_of: str | None
    total: int
    entries: list[Entry]


def read_worklist(
    caller: Caller,
    kind: str,
    commune_code: str,
    *,
    moment: np.datetime64,
    first: int = 0,
    count: int | None = None,
) -> WorklistPage:
    """The entries `first` to `first + count` (all with `count` None) of a worklist of a commune
    as of `moment`: each with the person's `patient_id`, `name` and `contacted` (the day of the
    latest contact, or None), the contacted last; the people shown audited as one search.
    FhirError: 400 (unknown commune), 403 (refused, audited), 404 (unknown worklist)."""
    paging = "" if count is None else f"&first={first}&count={count}"
    query = f"ncd/worklists/{kind}?commune={commune_code}{paging}"
    code = checked_commune(caller, commune_code, query)
    engine = caller.store.engine
    try:
        entries, as_of = worklist(engine, kind=kind, commune_code=code, now=moment, named=False)
    except UnknownWorklist as exc:
        raise FhirError.single(404, "not-found", str(exc)) from None
    with engine.connect() as conn:  # moved away or deleted since the last refresh
        seen = caller.access.live_visible_patients(conn, [str(e["patient_id"]) for e in entries])
    entries = [e for e in entries if e["patient_id"] in seen]
    contacts = recent_contacts(caller, kind, moment) if entries else {}
    for e in entries:
        e["contacted"] = contacts.get(str(e["patient_id"]))
    entries.sort(key=lambda e: e["contacted"] is not None)
    shown = entries[first:] if count is None else entries[first : first + count]
    with engine.connect() as conn:
        name_entries(conn, shown)
    caller.audit_found(
        "search-type", [{"resourceType": "Patient", "id": e["patient_id"]} for e in shown], query
    )
    return WorklistPage(code, as_of, len(entries), shown)


def worklist_counts(
    caller: Caller, commune_code: str, moment: np.datetime64
) -> list[tuple[str, int]]:
    """(kind, number of people the caller may see on it) of every worklist of a commune whose
    lists the caller may read (`may_read`, checked by the caller), counted and not audited."""
    engine, out = caller.store.engine, []
    with engine.connect() as conn:
        for kind in KINDS:
            entries, _ = worklist(
                engine, kind=kind, commune_code=commune_code, now=moment, named=False
            )
            ids = [str(e["patient_id"]) for e in entries]
            out.append((kind, len(caller.access.live_visible_patients(conn, ids))))
    return out
