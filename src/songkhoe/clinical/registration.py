"""Registering a person with a commune health station: who may (`may_register`), the checks of
what was typed beyond the form's own (the CCCD's agreement with sex and birth year, the commune,
identity numbers already registered; `songkhoe.clinical.identity`), people with the same name
and birth date, and the Patient written through the audited path.

Only who may register people has a registration looked at: the duplicate checks search the whole
country. The check before the write only tells the user; the write itself takes a lock on each
identity number (the lock a FHIR conditional create of that identifier takes) and looks again in
the same transaction, as every write of a Patient through /fhir does for its CCCD
(`songkhoe.fhir.identifiers`), so two registrations of one number at the same moment make one
person.
"""

from datetime import date

from songkhoe.auth.caller import Caller
from songkhoe.auth.policy import Access
from songkhoe.clinical import identity
from songkhoe.fhir import identifiers
from songkhoe.fhir.systems import BHYT, CCCD, EXT_COMMUNE, PHONE
from songkhoe.places.catalog import UnknownPlace, commune, province
from songkhoe.places.facilities import commune_station_id
from songkhoe.terminology import vn_core

NUMBERS = ("cccd", "bhyt")  # the identity numbers one person holds alone


def may_register(access: Access) -> bool:
    """Whether a user may register people: Patient write access, person-level access, and a
    place whose stations they work for (a specialist's hospital is none: they see the people
    shared with them)."""
    return (
        access.principal.allows("Patient", "write")
        and access.sees_people
        and (access.unrestricted or access.place_based)
    )


def check(
    caller: Caller, values: dict, communes: list[str] | None
) -> tuple[dict[str, str], list[str]]:
    """What is wrong with a registration beyond the form's own checks, as a message key by field,
    and the ids of the people with the same name and birth date. `values`: the form's valid
    values (a field that failed its format check is missing); `communes`: where the user may
    register people (None: anywhere)."""
    problems: dict[str, str] = {}
    birth: date | None = values.get("birth")
    if values.get("cccd"):
        problem = identity.cccd_problem(values["cccd"], values.get("sex"), birth)
        if problem:
            problems["cccd"] = problem
    code = values.get("commune")
    if code:
        try:
            commune(code)
        except UnknownPlace:
            problems["commune"] = "unknown_commune"
        else:
            if communes is not None and code not in communes:
                problems["commune"] = "outside_place"
    same: list[str] = []
    with caller.store.engine.connect() as conn:
        for name in NUMBERS:
            number = values.get(name)
            if number and name not in problems:
                system = identity.IDENTIFIER_SYSTEMS[name]
                if identifiers.holders(conn, system, [number.upper()]):
                    problems[name] = f"{name}_taken"
        if birth is not None and values.get("family") and values.get("given"):
            full = f"{values['family']} {values['given']}"
            same = identity.same_name_and_birth(conn, full, birth)
    return problems, same


def visible_people(caller: Caller, ids: list[str]) -> list[str]:
    """The ids among `ids` of the people the caller may see (the others are not named to them)."""
    with caller.store.engine.connect() as conn:
        return [pid for pid in ids if caller.access.check_people(conn, {pid})]


def patient_resource(values: dict) -> dict:
    """The Patient of a registration's valid values, managed by its commune's station, in the
    shape of the VN Core Patient profile (StructureDefinition.VN-Core.Patient: `name.text`, the
    national identifier systems, the ethnic-group and occupation extensions)."""
    code = values["commune"]
    place = commune(code)
    given = values["given"].split()
    state = province(place.province_code).full_name
    identifiers = [{"system": CCCD, "value": values["cccd"]}] if values.get("cccd") else []
    if values.get("bhyt"):
        identifiers.append({"system": BHYT, "value": values["bhyt"].upper()})
    patient = {
        "resourceType": "Patient",
        "identifier": identifiers,
        "active": True,
        "name": [
            {
                "use": "official",
                "text": " ".join([values["family"], *given]),
                "family": values["family"],
                "given": given,
            }
        ],
        "gender": values["sex"],
        "birthDate": values["birth"].isoformat(),
        "address": [
            {
                "use": "home",
                "line": [values["line"]],
                "city": place.full_name,
                "state": state,
                "country": "VN",
                "extension": [
                    vn_core.administrative_address_extension(
                        place.province_code, state, code, place.full_name
                    ),
                    {"url": EXT_COMMUNE, "valueCode": code},
                ],
            }
        ],
        "managingOrganization": {"reference": f"Organization/{commune_station_id(code)}"},
    }
    if not identifiers:
        del patient["identifier"]
    extensions = []
    if values.get("ethnic_group"):
        extensions.append(vn_core.ethnic_group_extension(values["ethnic_group"]))
    if values.get("occupation"):
        extensions.append(vn_core.occupation_extension(values["occupation"]))
    if extensions:
        patient["extension"] = extensions
    if values.get("phone"):
        patient["telecom"] = [{"system": PHONE, "value": values["phone"], "use": "mobile"}]
    return patient


class NumberTaken(Exception):
    """An identity number registered meanwhile; `field` names it ("cccd" or "bhyt")."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def create_person(caller: Caller, values: dict) -> dict:
    """Write the Patient through the audited path, in one transaction that first takes the lock
    of each of its identity numbers (in one order) and looks for them again among everyone;
    NumberTaken if one is registered, a FhirError if the access policy refuses the write."""
    numbers = sorted(
        (name, identity.IDENTIFIER_SYSTEMS[name], values[name].upper())
        for name in NUMBERS
        if values.get(name)
    )
    store = caller.store
    with caller.refusals("create", []), store.transaction(caller.guard("create")) as writer:
        identifiers.lock(writer, [identifiers.identifier_key(s, n) for _, s, n in numbers])
        for name, system, number in numbers:
            if identifiers.holders(writer.conn, system, [number]):
                raise NumberTaken(name)
        return writer.create(patient_resource(values))
