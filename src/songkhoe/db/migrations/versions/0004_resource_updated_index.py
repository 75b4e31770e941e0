"""Replace ix_resource_current (res_type, is_current, last_updated) by (res_type, last_updated).

SQLite's planner preferred the old index to the primary key for `res_type = ? AND res_id = ? AND
is_current`, so every update scanned the current resources of the type; _lastUpdated searches
and type history need only (res_type, last_updated).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_resource_current", "resource")
    op.create_index("ix_resource_updated", "resource", ["res_type", "last_updated"])


def downgrade() -> None:
    op.drop_index("ix_resource_updated", "resource")
    op.create_index("ix_resource_current", "resource", ["res_type", "is_current", "last_updated"])
