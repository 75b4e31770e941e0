"""`songkhoe users create`, `songkhoe clients create` and `songkhoe token create`."""

import re
import sys
from datetime import timedelta

import click

from songkhoe.auth.models import Role
from songkhoe.console import CommandError, open_store

DURATION = re.compile(r"(\d+)([mhd])")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def _duration(_ctx: click.Context, _param: click.Parameter, value: str) -> timedelta:
    match = DURATION.fullmatch(value)
    if match is None or int(match[1]) == 0:
        raise click.BadParameter(f"expected a duration such as 30m, 1h or 7d, got {value!r}")
    return timedelta(**{UNITS[match[2]]: int(match[1])})


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.group()
def users() -> None:
    """User accounts."""


@users.command("create")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option(
    "--place",
    required=True,
    help="national, province:CODE, commune:CODE or facility:ID (e.g. commune:09367).",
)
@click.option("--full-name", default="", help="Shown in the app; defaults to the username.")
@click.option("--can-see-names", is_flag=True, help="Managers: grant person-level access.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(
    username: str, role: str, place: str, full_name: str, can_see_names: bool, password_stdin: bool
) -> None:
    """Create a user account (the first one: --role admin --place national)."""
    from songkhoe.auth.service import create_user

    store = open_store()
    create_user(
        store.engine,
        username=username,
        password=_password(password_stdin),
        role=role,
        place=place,
        full_name=full_name or username,
        can_see_names=can_see_names,
    )
    click.echo(f"user {username} created ({role}, {place})")


@users.command("grant")
@click.argument("username")
@click.option("--patient", "patient_id", required=True, help="The Patient id to share.")
@click.option("--reason", required=True, help="Why, e.g. 'Hội chẩn tim mạch'.")
@click.option("--basis", help="The consultation or referral, e.g. ServiceRequest/123.")
@click.option("--expires", default="30d", show_default=True, callback=_duration)
def users_grant(
    username: str, patient_id: str, reason: str, basis: str | None, expires: timedelta
) -> None:
    """Share one person's record with a user (a specialist) under a recorded reason."""
    from songkhoe.auth.audit import RequestContext
    from songkhoe.auth.caller import Caller
    from songkhoe.auth.models import Place, Principal, parse_scopes
    from songkhoe.auth.service import user_id_of

    store = open_store()
    operator = Principal(
        "client",
        "songkhoe-cli",
        "songkhoe-cli",
        None,
        Place("national"),
        parse_scopes("system/*.*"),
    )
    Caller(store, operator, RequestContext(None, "TREAT")).share(
        user_id=user_id_of(store.engine, username),
        patient_id=patient_id,
        reason=reason,
        basis=basis,
        expires_in=expires,
    )
    click.echo(f"Patient/{patient_id} shared with {username} for {expires} ({reason})")


@click.group()
def clients() -> None:
    """Other systems that use the API (OAuth 2.0 clients)."""


@clients.command("create")
@click.argument("client_id")
@click.option("--scopes", required=True, help='SMART scopes, e.g. "system/*.read".')
@click.option("--place", default="national", show_default=True)
def clients_create(client_id: str, scopes: str, place: str) -> None:
    """Register a client for the client-credentials grant; prints its secret once."""
    from songkhoe.auth.service import create_client

    secret = create_client(
        open_store().engine, client_id=client_id, scopes=scopes, place=place, with_secret=True
    )
    click.echo(f"client {client_id} registered; POST /auth/token with this secret (shown once):")
    click.echo(secret)


@click.group()
def token() -> None:
    """Bearer tokens for scripts and integrations."""


@token.command("create")
@click.option("--client", "client_id", help="Client id; registered now if new.")
@click.option("--user", "username", help="Issue the token to a user account instead.")
@click.option("--scopes", required=True, help='SMART scopes, e.g. "system/*.*".')
@click.option("--expires", default="1h", show_default=True, callback=_duration)
@click.option("--patient", "patient_id", help="The patient of patient/ scopes.")
def token_create(
    client_id: str | None,
    username: str | None,
    scopes: str,
    expires: timedelta,
    patient_id: str | None,
) -> None:
    """Print a bearer token (as the last line)."""
    from songkhoe.auth.policy import Access
    from songkhoe.auth.service import (
        create_client,
        issue_token,
        known_client,
        user_id_of,
        user_principal,
    )

    if (client_id is None) == (username is None):
        raise CommandError("give exactly one of --client NAME or --user USERNAME")
    engine = open_store().engine
    user_id = user_id_of(engine, username) if username else None
    if user_id is not None and patient_id is not None:
        with engine.connect() as conn:
            if not Access(user_principal(engine, user_id)).check_people(conn, {patient_id}):
                raise CommandError(f"{username} may not see Patient/{patient_id}")
    if client_id is not None and not known_client(engine, client_id):
        create_client(engine, client_id=client_id, scopes=scopes, with_secret=False)
        click.echo(f"client {client_id} registered with scopes {scopes}", err=True)
    issued = issue_token(
        engine,
        scopes=scopes,
        expires_in=expires,
        client_id=client_id,
        user_id=user_id,
        patient_id=patient_id,
    )
    click.echo(f"expires in {expires}; send as 'Authorization: Bearer TOKEN'", err=True)
    click.echo(issued)
