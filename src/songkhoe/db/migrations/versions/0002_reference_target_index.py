"""Index references by target, for compartments ($everything) whatever the parameter.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_idx_reference_target", "idx_reference", ["target_id", "target_type"])


def downgrade() -> None:
    op.drop_index("ix_idx_reference_target", "idx_reference")
