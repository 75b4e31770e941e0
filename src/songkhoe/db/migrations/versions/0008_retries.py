"""Retried writes: the responses remembered with an API write's Idempotency-Key (`retry_key`,
kept 24 hours) and the files `songkhoe fhir import` committed (`import_batch`).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TIMESTAMP = sa.String(27)


def upgrade() -> None:
    op.create_table(
        "retry_key",
        sa.Column("owner", sa.String(80), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("created", TIMESTAMP, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("refs", sa.JSON, nullable=False),
    )
    op.create_index("ix_retry_key_created", "retry_key", ["created"])
    op.create_table(
        "import_batch",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("imported", TIMESTAMP, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("import_batch")
    op.drop_index("ix_retry_key_created", "retry_key")
    op.drop_table("retry_key")
