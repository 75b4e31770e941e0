"""The tables of accounts, API clients, tokens, UI sessions, failed logins and access grants,
declared on the database's MetaData (songkhoe.db.schema); only songkhoe.auth reads or writes them.
"""

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text

from songkhoe.db.schema import ID, TIMESTAMP, metadata

app_user = Table(
    "app_user",
    metadata,
    Column("id", ID, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("full_name", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("role", String(32), nullable=False),
    Column("place_kind", String(16), nullable=False),  # national | province | commune | facility
    Column("place_code", String(64), nullable=True),
    Column("can_see_names", Boolean, nullable=False),  # a manager granted person-level access
    Column("active", Boolean, nullable=False),
    Column("created", TIMESTAMP, nullable=False),
)

api_client = Table(
    "api_client",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("secret_hash", Text, nullable=True),  # None: tokens only from `songkhoe token create`
    Column("scopes", Text, nullable=False),
    Column("place_kind", String(16), nullable=False),
    Column("place_code", String(64), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("created", TIMESTAMP, nullable=False),
)

access_token = Table(
    "access_token",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # SHA-256 of the bearer token
    Column("user_id", ID, nullable=True),
    Column("client_id", String(64), nullable=True),
    Column("scopes", Text, nullable=False),
    Column("patient_id", ID, nullable=True),  # the patient of patient/ scopes
    Column("expires", TIMESTAMP, nullable=False),
    Column("created", TIMESTAMP, nullable=False),
)

ui_session = Table(
    "ui_session",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # SHA-256 of the session cookie
    Column("user_id", ID, nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("expires", TIMESTAMP, nullable=False),
    Column("created", TIMESTAMP, nullable=False),
)

login_failure = Table(
    "login_failure",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("address", String(64), nullable=False),
    Column("at", TIMESTAMP, nullable=False),
    Index("ix_login_failure_pair", "username", "address", "at"),
    Index("ix_login_failure_address", "address", "at"),
    Index("ix_login_failure_at", "at"),  # deleting the failures older than the window
)

access_grant = Table(
    "access_grant",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", ID, nullable=False),
    Column("patient_id", ID, nullable=False),
    Column("reason", Text, nullable=False),  # why the record is shared (Decree 13/2023, art. 11)
    Column("basis", Text, nullable=True),  # e.g. ServiceRequest/123: the consultation or referral
    Column("granted_by", ID, nullable=False),
    Column("created", TIMESTAMP, nullable=False),
    Column("expires", TIMESTAMP, nullable=True),
    Index("ix_access_grant_user", "user_id", "patient_id"),
)
