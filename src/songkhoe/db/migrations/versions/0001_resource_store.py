"""The resource store: versioned resources and search-index tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

INDEX_TABLES = {
    "idx_token": (
        [sa.Column("system", sa.Text), sa.Column("code", sa.Text, nullable=False)],
        ("code", "system"),
    ),
    "idx_string": (
        [sa.Column("value", sa.Text, nullable=False), sa.Column("exact", sa.Text, nullable=False)],
        ("value",),
    ),
    "idx_date": (
        [
            sa.Column("low", sa.String(27), nullable=False),
            sa.Column("high", sa.String(27), nullable=False),
        ],
        ("low", "high"),
    ),
    "idx_reference": (
        [sa.Column("target_type", sa.String(64)), sa.Column("target_id", sa.Text, nullable=False)],
        ("target_id", "target_type"),
    ),
    "idx_quantity": (
        [
            sa.Column("value", sa.Float, nullable=False),
            sa.Column("system", sa.Text),
            sa.Column("code", sa.Text),
        ],
        ("code", "value"),
    ),
}


def upgrade() -> None:
    op.create_table(
        "resource",
        sa.Column("res_type", sa.String(64), primary_key=True),
        sa.Column("res_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("last_updated", sa.String(27), nullable=False),
        sa.Column("is_current", sa.Boolean, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("content", sa.JSON().with_variant(JSONB(), "postgresql")),
    )
    op.create_index("ix_resource_current", "resource", ["res_type", "is_current", "last_updated"])
    for name, (columns, lookup) in INDEX_TABLES.items():
        op.create_table(
            name,
            sa.Column("res_type", sa.String(64), nullable=False),
            sa.Column("res_id", sa.String(64), nullable=False),
            sa.Column("param", sa.String(64), nullable=False),
            *columns,
        )
        op.create_index(f"ix_{name}_lookup", name, ["res_type", "param", *lookup])
        op.create_index(f"ix_{name}_resource", name, ["res_type", "res_id"])


def downgrade() -> None:
    for name in INDEX_TABLES:
        op.drop_table(name)
    op.drop_table("resource")
