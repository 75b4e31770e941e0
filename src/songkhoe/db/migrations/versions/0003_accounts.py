"""Accounts, API clients, access tokens, UI sessions, login failures and access grants.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.String(64)
TIMESTAMP = sa.String(27)


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", ID, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("full_name", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("place_kind", sa.String(16), nullable=False),
        sa.Column("place_code", sa.String(64)),
        sa.Column("can_see_names", sa.Boolean, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created", TIMESTAMP, nullable=False),
    )
    op.create_table(
        "api_client",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("secret_hash", sa.Text),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("place_kind", sa.String(16), nullable=False),
        sa.Column("place_code", sa.String(64)),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created", TIMESTAMP, nullable=False),
    )
    op.create_table(
        "access_token",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", ID),
        sa.Column("client_id", sa.String(64)),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("patient_id", ID),
        sa.Column("expires", TIMESTAMP, nullable=False),
        sa.Column("created", TIMESTAMP, nullable=False),
    )
    op.create_table(
        "ui_session",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("expires", TIMESTAMP, nullable=False),
        sa.Column("created", TIMESTAMP, nullable=False),
    )
    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_login_failure_username", "login_failure", ["username", "at"])
    op.create_index("ix_login_failure_address", "login_failure", ["address", "at"])
    op.create_table(
        "access_grant",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("basis", sa.Text),
        sa.Column("granted_by", ID, nullable=False),
        sa.Column("created", TIMESTAMP, nullable=False),
        sa.Column("expires", TIMESTAMP),
    )
    op.create_index("ix_access_grant_user", "access_grant", ["user_id", "patient_id"])


def downgrade() -> None:
    for name in (
        "access_grant",
        "login_failure",
        "ui_session",
        "access_token",
        "api_client",
        "app_user",
    ):
        op.drop_table(name)
