"""Counts of what the store holds, per resource type and per province (`songkhoe stats`).

A person belongs to the province of the commune health station that manages them
(Patient.managingOrganization = Organization/tyt-<commune code>); a clinical resource belongs to
the province of the person it is about (its `patient`/`subject` reference).
"""

from collections import Counter, defaultdict

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from songkhoe.db.tables import idx_reference
from songkhoe.fhir.store import ResourceStore
from songkhoe.places.catalog import commune, provinces

STATION_PREFIX = "tyt-"


def _province_of_station(station_id: str) -> str | None:
    if not station_id.startswith(STATION_PREFIX):
        return None
    return commune(station_id.removeprefix(STATION_PREFIX)).province_code


def collect(*, store: ResourceStore) -> dict:
    """{"resources": {type: n}, "provinces": {code: {"name", "people", "resources": {...}}}}."""
    patient_org = aliased(idx_reference)
    about = aliased(idx_reference)
    with store.engine.connect() as conn:
        people = conn.execute(
            select(patient_org.c.target_id, func.count())
            .where(patient_org.c.res_type == "Patient", patient_org.c.param == "organization")
            .group_by(patient_org.c.target_id)
        ).all()
        linked = conn.execute(
            select(about.c.res_type, patient_org.c.target_id, func.count(about.c.res_id.distinct()))
            .join(
                patient_org,
                and_(
                    patient_org.c.res_type == "Patient",
                    patient_org.c.param == "organization",
                    patient_org.c.res_id == about.c.target_id,
                ),
            )
            .where(about.c.param.in_(("patient", "subject")), about.c.target_type == "Patient")
            .group_by(about.c.res_type, patient_org.c.target_id)
        ).all()
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
