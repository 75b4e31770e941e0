"""What every `songkhoe` command shares: the user-error exception and the store to work on.

The command modules of the domains import these from here, not from the module that assembles
the command groups, which imports them.
"""

import click

from songkhoe.config import get_settings
from songkhoe.db.engine import check_connection, make_engine
from songkhoe.db.migrate import upgrade
from songkhoe.fhir.store import ResourceStore

USAGE_EXIT = 2


class CommandError(click.ClickException):
    """An error the user can fix: one line on stderr and exit status USAGE_EXIT."""

    exit_code = USAGE_EXIT


def open_store(*, migrate: bool = True) -> ResourceStore:
    """The store of SONGKHOE_DATABASE_URL, checked reachable and (by default) migrated."""
    engine = make_engine(get_settings().database_url)
    check_connection(engine)
    if migrate:
        upgrade(engine)
    return ResourceStore(engine)
