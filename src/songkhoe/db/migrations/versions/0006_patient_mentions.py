"""Index the Patients a resource names outside its reference search parameters.

The access policy restricts searches through the reference index rows, while its check of a
single resource reads every `Patient/id` in the content: a resource naming a hidden person only
in an extension or Task.input was found by a search and then refused on read. The store now
writes a row for each such person (parameter `_mentions-patient`,
songkhoe.fhir.indexing.patient_mentions); this adds them for the current versions already stored.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

import re

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CHUNK = 2000
resource = sa.table(
    "resource",
    sa.column("res_type"),
    sa.column("res_id"),
    sa.column("is_current"),
    sa.column("deleted"),
    sa.column("content"),
)
reference = sa.table(
    "idx_reference",
    sa.column("res_type"),
    sa.column("res_id"),
    sa.column("param"),
    sa.column("target_type"),
    sa.column("target_id"),
)


# Frozen as of migration 0006: copied from songkhoe.fhir.indexing as it was then, so that a later
# change there does not change what this migration does.
# A reference to a Patient in a resource's JSON as orjson writes it (compact): a `"reference":"`
# inside a string value has its quotes escaped there, so it never matches.
_PATIENT_REFERENCE = re.compile(
    rb'"reference":"Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^"]*)?"'
)
MENTIONS_PATIENT = "_mentions-patient"  # the parameter of `patient_mentions` rows


def patient_mentions(
    compact_json: bytes, reference: list[tuple[str, str | None, str]]
) -> list[tuple[str, str, str]]:
    """Reference rows, under the parameter MENTIONS_PATIENT, for the Patients that a resource
    references in its compact JSON but not through its reference search parameters
    (`reference`, its reference index rows)."""
    named = {m.decode() for m in _PATIENT_REFERENCE.findall(compact_json)}
    indexed = {target for _, kind, target in reference if kind == "Patient"}
    return [(MENTIONS_PATIENT, "Patient", patient) for patient in sorted(named - indexed)]


def _compact(content: str | dict) -> bytes:
    """The stored JSON as orjson writes it: SQLite keeps the text it was given; PostgreSQL's
    JSONB comes back parsed."""
    return content.encode() if isinstance(content, str) else orjson.dumps(content)


def upgrade() -> None:
    conn = op.get_bind()
    after = ("", "")
    while True:
        chunk = conn.execute(
            sa.select(resource.c.res_type, resource.c.res_id, resource.c.content)
            .where(
                resource.c.is_current,
                sa.not_(resource.c.deleted),
                sa.tuple_(resource.c.res_type, resource.c.res_id) > after,
            )
            .order_by(resource.c.res_type, resource.c.res_id)
            .limit(CHUNK)
        ).all()
        if not chunk:
            return
        after = (chunk[-1].res_type, chunk[-1].res_id)
        indexed: dict[tuple[str, str], list] = {}
        for row in conn.execute(
            sa.select(
                reference.c.res_type,
                reference.c.res_id,
                reference.c.param,
                reference.c.target_type,
                reference.c.target_id,
            ).where(
                reference.c.res_type.in_(sorted({r.res_type for r in chunk})),
                reference.c.res_id.in_(sorted({r.res_id for r in chunk})),
                reference.c.target_type == "Patient",
            )
        ):
            indexed.setdefault((row.res_type, row.res_id), []).append(tuple(row[2:]))
        rows = []
        for r in chunk:
            known = indexed.get((r.res_type, r.res_id), [])
            for param, target_type, target_id in patient_mentions(_compact(r.content), known):
                rows.append(
                    {
                        "res_type": r.res_type,
                        "res_id": r.res_id,
                        "param": param,
                        "target_type": target_type,
                        "target_id": target_id,
                    }
                )
        if rows:
            conn.execute(reference.insert(), rows)


def downgrade() -> None:
    op.execute(reference.delete().where(reference.c.param == MENTIONS_PATIENT))
