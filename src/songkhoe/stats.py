"""Counts of what the store holds, per resource type and per province (`songkhoe stats`).

A person belongs to the province of the commune health station that manages them
(Patient.managingOrganization = Organization/tyt-<commune code>); a clinical resource belongs to
the province of the person it is about (its `patient`/`subject` reference).
"""

from collections import Counter, defaultdict

from songkhoe.fhir.queries import count_by_patient_organization, count_referencing
from songkhoe.fhir.store import ResourceStore
from songkhoe.places.catalog import commune, provinces

STATION_PREFIX = "tyt-"


def _province_of_station(station_id: str) -> str | None:
    if not station_id.startswith(STATION_PREFIX):
        return None
    return commune(station_id.removeprefix(STATION_PREFIX)).province_code


def collect(*, store: ResourceStore) -> dict:
    """{"resources": {type: n}, "provinces": {code: {"name", "people", "resources": {...}}}}."""
    with store.engine.connect() as conn:
        people = conn.execute(count_referencing("Patient", "organization")).all()
        linked = conn.execute(count_by_patient_organization()).all()
    by_province: dict[str, Counter] = defaultdict(Counter)
    for station, count in people:
        if (code := _province_of_station(station)) is not None:
            by_province[code]["Patient"] += count
    for res_type, station, count in linked:
        if (code := _province_of_station(station)) is not None:
            by_province[code][res_type] += count
    names = {p.code: p.name for p in provinces()}
    return {
        "resources": store.count_by_type(),
        "provinces": {
            code: {
                "name": names[code],
                "people": counts["Patient"],
                "resources": dict(sorted(counts.items())),
            }
            for code, counts in sorted(by_province.items())
        },
    }
