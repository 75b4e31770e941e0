"""Health workers as FHIR Practitioners, so that a Task's owner or a message's sender is a
searchable literal reference (`Task?owner=Practitioner/ID`). A Practitioner's id is the user's
account id; it carries the username only (no personal data of patients, and no password)."""

from songkhoe.auth.audit import USER_SYSTEM
from songkhoe.auth.models import Principal
from songkhoe.auth.service import user_principal
from songkhoe.fhir.store import ResourceNotFound, ResourceStore, VersionConflict
from songkhoe.places.facilities import commune_station_id


def practitioner_ref(store: ResourceStore, principal: Principal) -> dict:
    """The reference to the caller's Practitioner, created on first use (reference data: written
    by the server, not by the caller)."""
    ensure_practitioner(store, principal.id, principal.display)
    return {"reference": f"Practitioner/{principal.id}", "display": principal.display}


def ensure_practitioner(store: ResourceStore, user_id: str, username: str) -> None:
    try:
        store.read("Practitioner", user_id)
    except ResourceNotFound:
        try:
            store.create(
                {
                    "resourceType": "Practitioner",
                    "id": user_id,
                    "identifier": [{"system": USER_SYSTEM, "value": user_id}],
                    "active": True,
                    "name": [{"text": username}],
                }
            )
        except VersionConflict:  # created by a concurrent request
            pass


def user_ref(store: ResourceStore, user_id: str) -> dict:
    """The reference to an account's Practitioner, with the username as display."""
    return {
        "reference": f"Practitioner/{user_id}",
        "display": user_principal(store.engine, user_id).display,
    }


def user_of(reference: dict | None) -> str | None:
    """The account id behind a Practitioner reference."""
    ref = (reference or {}).get("reference", "")
    return ref.removeprefix("Practitioner/") if ref.startswith("Practitioner/") else None


def facility_of(principal: Principal) -> str | None:
    """The facility (Organization id) a health worker works at: their facility, or the health
    station of their commune; None for a province or the whole country."""
    place = principal.place
    if place.kind == "facility":
        return place.code
    if place.kind == "commune":
        return commune_station_id(place.code)
    return None
