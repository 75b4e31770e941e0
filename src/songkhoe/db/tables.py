"""Tables of the resource store (SQLAlchemy Core).

`resource` holds every version of every FHIR resource as JSON (JSONB on PostgreSQL); the `idx_*`
tables hold the search-index rows of the current version, one table per FHIR search parameter type
(http://hl7.org/fhir/R4/search.html#ptypes). Dates are fixed-width UTC strings
('YYYY-MM-DDTHH:MM:SS.ffffffZ') so that string order is time order on every backend.

Beside them, what makes a retried write a no-op, each row written in the transaction of the
write it remembers: `retry_key`, the response to an API write sent with an Idempotency-Key
(songkhoe.fhir.retries), and `import_batch`, each file that `songkhoe fhir import` committed
(songkhoe.fhir.bulk).
"""

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

from songkhoe.db.schema import ID, TIMESTAMP, TYPE, metadata

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

retry_key = Table(
    "retry_key",
    metadata,
    Column("owner", String(80), primary_key=True),  # who sent it: "user/ID" or "client/ID"
    Column("key", String(255), primary_key=True),  # the Idempotency-Key
    Column("fingerprint", String(64), nullable=False),  # SHA-256 of the request (hex)
    Column("created", TIMESTAMP, nullable=False),
    Column("status", Integer, nullable=False),
    Column("headers", JSON, nullable=False),  # Location, ETag, Last-Modified
    Column("body", Text, nullable=False),  # the JSON sent
    Column("refs", JSON, nullable=False),  # what the AuditEvent of a replay names
    Index("ix_retry_key_created", "created"),
)
import_batch = Table(
    "import_batch",
    metadata,
    Column("sha256", String(64), primary_key=True),  # of the file's content (hex)
    Column("path", Text, nullable=False),  # as it was given to the import
    Column("counts", JSON, nullable=False),  # resources written per type
    Column("imported", TIMESTAMP, nullable=False),
)
