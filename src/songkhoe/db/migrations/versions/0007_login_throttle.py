"""Index failed logins for the throttle of issue 19: by (username, address) pair, whose 5
failures lock that pair (the pair's prefix also serves the delay of a username tried from many
addresses, so the username's own index goes), and by time, for deleting the failures older than
the 15-minute window on each attempt.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_login_failure_username", "login_failure")
    op.create_index("ix_login_failure_pair", "login_failure", ["username", "address", "at"])
    op.create_index("ix_login_failure_at", "login_failure", ["at"])


def downgrade() -> None:
    op.drop_index("ix_login_failure_at", "login_failure")
    op.drop_index("ix_login_failure_pair", "login_failure")
    op.create_index("ix_login_failure_username", "login_failure", ["username", "at"])
