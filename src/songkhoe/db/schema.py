"""The database's one MetaData, on which each owner declares its own tables, and the column
types they share.

The owners (`OWNERS`): `songkhoe.db.tables` (the resource store: `resource` and the `idx_*` index
tables), `songkhoe.auth.tables` (accounts, tokens, sessions, grants) and `songkhoe.ncd.tables`
(the NCD projections). A table joins `metadata` when its owner's module is imported; what needs
the whole database (the migrations' autogenerate, backups) asks `all_tables()`.
"""

import importlib

from sqlalchemy import MetaData, String

metadata = MetaData()

TYPE = String(64)  # a FHIR resource type
ID = String(64)  # a FHIR resource id, or an account's
TIMESTAMP = String(27)  # fixed-width UTC, 'YYYY-MM-DDTHH:MM:SS.ffffffZ': string order is time order

OWNERS = ("songkhoe.db.tables", "songkhoe.auth.tables", "songkhoe.ncd.tables")


def all_tables() -> MetaData:
    """`metadata` with every owner's tables declared on it. The owners are imported by name:
    `db` sits below the packages that own tables, and imports none of them."""
    for module in OWNERS:
        importlib.import_module(module)
    return metadata
