"""Tables of the resource store (SQLAlchemy Core).

`resource` holds every version of every FHIR resource as JSON (JSONB on PostgreSQL); the `idx_*`
tables hold the search-index rows of the current version, one table per FHIR search parameter type
(http://hl7.org/fhir/R4/search.html#ptypes). Dates are fixed-width UTC strings
('YYYY-MM-DDTHH:MM:SS.ffffffZ') so that string order is time order on every backend.
"""

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

TYPE = String(64)
ID = String(64)
TIMESTAMP = String(27)

resource = Table(
    "resource",
    metadata,
    Column("res_type", TYPE, primary_key=True),
    Column("res_id", ID, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("last_updated", TIMESTAMP, nullable=False),
    Column("is_current", Boolean, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("content", JSON().with_variant(JSONB(), "postgresql"), nullable=True),
    Index("ix_resource_updated", "res_type", "last_updated"),
)


def _index_table(name: str, *value_columns: Column, lookup: tuple[str, ...]) -> Table:
    """An index table: (res_type, res_id, param) plus the value columns of one parameter type."""
    return Table(
        name,
        metadata,
        Column("res_type", TYPE, nullable=False),
        Column("res_id", ID, nullable=False),
        Column("param", String(64), nullable=False),
        *value_columns,
        Index(f"ix_{name}_lookup", "res_type", "param", *lookup),
        Index(f"ix_{name}_resource", "res_type", "res_id"),
    )


idx_token = _index_table(
    "idx_token",
    Column("system", Text, nullable=True),
    Column("code", Text, nullable=False),
    lookup=("code", "system"),
)
idx_string = _index_table(
    "idx_string",
    Column("value", Text, nullable=False),
    Column("exact", Text, nullable=False),
    lookup=("value",),
)
idx_date = _index_table(
    "idx_date",
    Column("low", TIMESTAMP, nullable=False),
    Column("high", TIMESTAMP, nullable=False),
    lookup=("low", "high"),
)
idx_reference = _index_table(
    "idx_reference",
    Column("target_type", TYPE, nullable=True),
    Column("target_id", Text, nullable=False),
    lookup=("target_id", "target_type"),
)
# what points at a resource, whatever the parameter: the Patient compartment, $everything
Index("ix_idx_reference_target", idx_reference.c.target_id, idx_reference.c.target_type)
idx_quantity = _index_table(
    "idx_quantity",
    Column("value", Float, nullable=False),
    Column("system", Text, nullable=True),
    Column("code", Text, nullable=True),
    lookup=("code", "value"),
)

INDEX_TABLES = {
    "token": idx_token,
    "string": idx_string,
    "date": idx_date,
    "reference": idx_reference,
    "quantity": idx_quantity,
}

# --- accounts, tokens and sharing (songkhoe.auth) -------------------------------------------

app_user = Table(
    "app_user",
    metadata,
    Column("id", ID, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("full_name", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("role", String(32), nullable=False),
    Column("place_kind", String(16), nullable=False),  # national | province | commune | facility
    Column("place_code", String(64), nullable=True),
    Column("can_see_names", Boolean, nullable=False),  # a manager granted person-level access
    Column("active", Boolean, nullable=False),
    Column("created", TIMESTAMP, nullable=False),
)

api_client = Table(
    "api_client",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("secret_hash", Text, nullable=True),  # None: tokens only from `songkhoe token create`
    Column("scopes", Text, nullable=False),
    Column("place_kind", String(16), nullable=False),
    Column("place_code", String(64), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("created", TIMESTAMP, nullable=False),
)

access_token = Table(
    "access_token",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # SHA-256 of the bearer token
    Column("user_id", ID, nullable=True),
    Column("client_id", String(64), nullable=True),
    Column("scopes", Text, nullable=False),
    Column("patient_id", ID, nullable=True),  # the patient of patient/ scopes
    Column("expires", TIMESTAMP, nullable=False),
    Column("created", TIMESTAMP, nullable=False),
)

ui_session = Table(
    "ui_session",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # SHA-256 of the session cookie
    Column("user_id", ID, nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("expires", TIMESTAMP, nullable=False),
    Column("created", TIMESTAMP, nullable=False),
)

login_failure = Table(
    "login_failure",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("address", String(64), nullable=False),
    Column("at", TIMESTAMP, nullable=False),
    Index("ix_login_failure_username", "username", "at"),
    Index("ix_login_failure_address", "address", "at"),
)

access_grant = Table(
    "access_grant",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", ID, nullable=False),
    Column("patient_id", ID, nullable=False),
    Column("reason", Text, nullable=False),  # why the record is shared (Decree 13/2023, art. 11)
    Column("basis", Text, nullable=True),  # e.g. ServiceRequest/123: the consultation or referral
    Column("granted_by", ID, nullable=False),
    Column("created", TIMESTAMP, nullable=False),
    Column("expires", TIMESTAMP, nullable=True),
    Index("ix_access_grant_user", "user_id", "patient_id"),
)

# --- NCD projections (songkhoe.ncd.projections) -----------------------------------------------
# Typed, columnar copies of what the NCD analytics need, rebuilt in bulk from `resource`.
# `person_key` numbers the people 0..n-1 so that arrays index by it; times are the store's
# fixed-width UTC strings.

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
