"""Identifiers in the VN Core systems: the citizen identity number (CCCD) and the health-insurance
card (BHYT) move from the project's own systems to the Ministry of Health's VN Core NamingSystems
(`songkhoe.fhir.systems`).

Every stored version is rewritten, history included, so that no stored resource keeps an old
system: an identifier whose system is a legacy one gets VN Core's, in place; nothing else
changes (not versionId, not lastUpdated: the identifier is the same, only the name of its system
is). The token index rows of the current versions follow. Search and input keep accepting the old
systems (`songkhoe.fhir.systems.current_system`).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Frozen as of migration 0009 (songkhoe.fhir.systems.LEGACY_SYSTEMS then).
RENAMED = {
    "https://fhir.songkhoe.vn/sid/cccd": "http://fhir.ehealth.gov.vn/core/sid/national_id",
    "https://fhir.songkhoe.vn/sid/bhyt": "http://fhir.ehealth.gov.vn/core/sid/insurance_number",
}
CHUNK = 2000

resource = sa.table(
    "resource",
    sa.column("res_type", sa.String),
    sa.column("res_id", sa.String),
    sa.column("version", sa.Integer),
    sa.column("content", sa.JSON().with_variant(JSONB(), "postgresql")),
)
token = sa.table("idx_token", sa.column("system", sa.Text))


def _renamed(node: Any, names: dict[str, str]) -> bool:
    """Rewrite, in place, each object's `system` found in `names`; whether any was."""
    changed = False
    if isinstance(node, dict):
        system = node.get("system")
        if isinstance(system, str) and system in names:
            node["system"] = names[system]
            changed = True
        for value in node.values():
            changed = _renamed(value, names) or changed
    elif isinstance(node, list):
        for item in node:
            changed = _renamed(item, names) or changed
    return changed


def _rewrite(names: dict[str, str]) -> None:
    bind = op.get_bind()
    text = sa.cast(resource.c.content, sa.Text)
    mentions = sa.or_(*(text.contains(old) for old in names))
    key = (resource.c.res_type, resource.c.res_id, resource.c.version)
    after: tuple[Any, ...] = ("", "", -1)
    while True:
        rows = bind.execute(
            sa.select(*key, resource.c.content)
            .where(mentions, sa.tuple_(*key) > sa.tuple_(*(sa.literal(v) for v in after)))
            .order_by(*key)
            .limit(CHUNK)
        ).all()
        if not rows:
            break
        for res_type, res_id, version, content in rows:
            if _renamed(content, names):
                bind.execute(
                    resource.update()
                    .where(
                        resource.c.res_type == res_type,
                        resource.c.res_id == res_id,
                        resource.c.version == version,
                    )
                    .values(content=content)
                )
        after = tuple(rows[-1][:3])
    for old, new in names.items():
        bind.execute(token.update().where(token.c.system == old).values(system=new))


def upgrade() -> None:
    _rewrite(RENAMED)


def downgrade() -> None:
    _rewrite({new: old for old, new in RENAMED.items()})
