"""NCD projections: people, blood pressures, labs, smoking, diagnoses, treatments, visits, risks.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.String(64)
TIMESTAMP = sa.String(27)


def _facts() -> dict[str, list[sa.Column]]:
    return {
        "ncd_bp": [
            sa.Column("encounter_id", ID),
            sa.Column("taken_at", TIMESTAMP, nullable=False),
            sa.Column("systolic", sa.Float, nullable=False),
            sa.Column("diastolic", sa.Float, nullable=False),
        ],
        "ncd_lab": [
            sa.Column("encounter_id", ID),
            sa.Column("taken_at", TIMESTAMP, nullable=False),
            sa.Column("code", sa.String(16), nullable=False),
            sa.Column("value", sa.Float, nullable=False),
        ],
        "ncd_smoking": [
            sa.Column("encounter_id", ID),
            sa.Column("taken_at", TIMESTAMP, nullable=False),
            sa.Column("status", sa.Integer, nullable=False),
        ],
        "ncd_diagnosis": [
            sa.Column("code", sa.String(16), nullable=False),
            sa.Column("onset", TIMESTAMP, nullable=False),
        ],
        "ncd_treatment": [
            sa.Column("atc", sa.String(16), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("authored", TIMESTAMP),
        ],
        "ncd_visit": [
            sa.Column("at", TIMESTAMP, nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
        ],
        "ncd_risk": [
            sa.Column("assessed_at", TIMESTAMP, nullable=False),
            sa.Column("risk_pct", sa.Float, nullable=False),
            sa.Column("band", sa.String(16), nullable=False),
        ],
    }


def upgrade() -> None:
    op.create_table(
        "ncd_person",
        sa.Column("person_key", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("patient_id", ID, nullable=False, unique=True),
        sa.Column("commune_code", sa.String(16)),
        sa.Column("sex", sa.String(16)),
        sa.Column("birth_date", sa.String(10)),
        sa.Column("deceased", sa.Boolean, nullable=False),
    )
    op.create_index("ix_ncd_person_commune", "ncd_person", ["commune_code"])
    for name, columns in _facts().items():
        op.create_table(
            name,
            sa.Column("person_key", sa.Integer, nullable=False),
            sa.Column("source_id", ID, nullable=False),
            *columns,
        )
        op.create_index(f"ix_{name}_person", name, ["person_key"])
    op.create_table(
        "ncd_refresh",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("as_of", TIMESTAMP, nullable=False),
        sa.Column("people", sa.Integer, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for name in ("ncd_refresh", *_facts(), "ncd_person"):
        op.drop_table(name)
