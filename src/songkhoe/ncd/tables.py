"""The NCD projections (songkhoe.ncd.projections), declared on the database's MetaData
(songkhoe.db.schema); only songkhoe.ncd reads or writes them.

Typed, columnar copies of what the NCD analytics need, rebuilt in bulk from `resource`.
`person_key` numbers the people 0..n-1 so that arrays index by it; times are the store's
fixed-width UTC strings.
"""

from sqlalchemy import Boolean, Column, Float, Index, Integer, String, Table

from songkhoe.db.schema import ID, TIMESTAMP, metadata

ncd_person = Table(
    "ncd_person",
    metadata,
    Column("person_key", Integer, primary_key=True, autoincrement=False),
    Column("patient_id", ID, nullable=False, unique=True),
    Column("commune_code", String(16), nullable=True),  # of Patient.managingOrganization
    Column("sex", String(16), nullable=True),
    Column("birth_date", String(10), nullable=True),
    Column("deceased", Boolean, nullable=False),
    Index("ix_ncd_person_commune", "commune_code"),
)


def _ncd_fact(name: str, *columns: Column) -> Table:
    """A projection with one row per fact (a reading, a diagnosis, ...) about one person."""
    return Table(
        name,
        metadata,
        Column("person_key", Integer, nullable=False),
        Column("source_id", ID, nullable=False),  # the resource the row comes from
        *columns,
        Index(f"ix_{name}_person", "person_key"),
    )


ncd_bp = _ncd_fact(
    "ncd_bp",
    Column("encounter_id", ID, nullable=True),
    Column("taken_at", TIMESTAMP, nullable=False),
    Column("systolic", Float, nullable=False),
    Column("diastolic", Float, nullable=False),
)
ncd_lab = _ncd_fact(
    "ncd_lab",
    Column("encounter_id", ID, nullable=True),
    Column("taken_at", TIMESTAMP, nullable=False),
    Column("code", String(16), nullable=False),  # LOINC
    Column("value", Float, nullable=False),
)
ncd_smoking = _ncd_fact(
    "ncd_smoking",
    Column("encounter_id", ID, nullable=True),
    Column("taken_at", TIMESTAMP, nullable=False),
    Column("status", Integer, nullable=False),  # 0 never, 1 former, 2 current
)
ncd_diagnosis = _ncd_fact(
    "ncd_diagnosis",
    Column("code", String(16), nullable=False),  # ICD-10
    Column("onset", TIMESTAMP, nullable=False),
)
ncd_treatment = _ncd_fact(
    "ncd_treatment",
    Column("atc", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("authored", TIMESTAMP, nullable=True),
)
ncd_visit = _ncd_fact(
    "ncd_visit",
    Column("at", TIMESTAMP, nullable=False),
    Column("kind", String(16), nullable=False),  # checkup | followup | other
)
ncd_risk = _ncd_fact(
    "ncd_risk",
    Column("assessed_at", TIMESTAMP, nullable=False),
    Column("risk_pct", Float, nullable=False),
    Column("band", String(16), nullable=False),
)
ncd_refresh = Table(
    "ncd_refresh",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1: the last rebuild
    Column("as_of", TIMESTAMP, nullable=False),  # the projections show the store at this time
    Column("people", Integer, nullable=False),
    Column("seconds", Float, nullable=False),
)
