"""Accounts, API clients, bearer tokens, UI sessions, login throttling and access grants.

Passwords and client secrets are hashed with Argon2id (argon2-cffi defaults, RFC 9106); bearer
tokens and session ids are random (256 bits) and stored only as SHA-256 digests, so a copy of the
database gives no usable credential.
"""

import hashlib
import math
import re
import secrets
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import Connection, Engine, delete, func, insert, or_, select, text, update

from songkhoe.auth.models import (
    MANAGERS,
    PLACE_KINDS,
    InvalidScope,
    Place,
    Principal,
    Role,
    format_scopes,
    parse_scopes,
)
from songkhoe.auth.tables import (
    access_grant,
    access_token,
    api_client,
    app_user,
    login_failure,
    ui_session,
)
from songkhoe.config import get_settings
from songkhoe.db.engine import reading
from songkhoe.fhir.store import STAMP_FORMAT
from songkhoe.places.catalog import UnknownPlace, commune, province
from songkhoe.places.facilities import facility

MIN_PASSWORD_LENGTH = 10
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{2,63}")
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_PAIR = 5  # of one username from one address
MAX_FAILURES_PER_ADDRESS = 20
DELAY_FROM_FAILURE = 5  # of one username from any address: then 1 s, 2 s, 4 s, ...
MAX_DELAY_SECONDS = 60
SESSION_LIFETIME = timedelta(hours=8)


@cache
def _hasher() -> PasswordHasher:
    """The password hasher, built on first use so that a bad setting is reported, not raised at
    import. RFC 9106's second recommended option (t=3, 64 MiB) by default;
    SONGKHOE_ARGON2_MEMORY_KIB can lower the memory on a small device (and the test suite does,
    to stay fast)."""
    return PasswordHasher(time_cost=3, memory_cost=get_settings().argon2_memory_kib)


@cache
def _dummy_hash() -> str:
    """A hash to verify against when no account matches, so that an unknown name takes as long
    as a wrong password."""
    return _hasher().hash("not a real password, only evens out the timing")


class AuthError(Exception):
    """A request to the account system that is refused; the message says why, in English."""


class InvalidCredentials(AuthError):
    pass


class LoginThrottled(AuthError):
    """Too many failed logins; `retry_after`: the seconds to wait (a whole number, at least 1:
    the HTTP Retry-After, RFC 9110 section 10.2.3)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


class InvalidAccount(AuthError, ValueError):
    """Bad input when creating an account, client or token; the message names the field."""


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.strftime(STAMP_FORMAT)


def _moment(stamp: str) -> datetime:
    return datetime.strptime(stamp, STAMP_FORMAT).replace(tzinfo=UTC)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_place(text: str) -> Place:
    """`national`, `province:24`, `commune:00004` or `facility:bv-dk-24`, checked on the map."""
    kind, _, code = text.partition(":")
    if kind not in PLACE_KINDS or (kind == "national") != (code == ""):
        raise InvalidAccount(
            f"place must be national or KIND:CODE (province, commune, facility), got {text!r}"
        )
    try:
        {"province": province, "commune": commune, "facility": facility}.get(kind, str)(code)
    except (UnknownPlace, KeyError) as exc:
        raise InvalidAccount(f"place {text!r}: {exc}") from None
    return Place(kind, code or None)


ACCOUNTANT_SCOPES = "user/*.read user/Claim.write user/ClaimResponse.write"
"""The insurance accountant reads what their place holds and writes only the claims and the
gateway's answers (SMART v1 scopes)."""


def _scopes_for_role(role: Role) -> str:
    if role == Role.INSURANCE_ACCOUNTANT:
        return ACCOUNTANT_SCOPES
    return "user/*.read" if role in MANAGERS else "user/*.*"


def _principal_of_user(row, scopes: str | None = None, patient_id: str | None = None) -> Principal:
    return Principal(
        kind="user",
        id=row.id,
        display=row.username,
        role=Role(row.role),
        place=Place(row.place_kind, row.place_code),
        scopes=parse_scopes(scopes or _scopes_for_role(Role(row.role))),
        patient_id=patient_id,
        can_see_names=row.can_see_names,
    )


def create_user(
    engine: Engine,
    *,
    username: str,
    password: str,
    role: str,
    place: str,
    full_name: str,
    can_see_names: bool = False,
) -> str:
    """Create an account; returns its id. Raises InvalidAccount naming the field at fault."""
    if not USERNAME.fullmatch(username):
        raise InvalidAccount(
            "username: 3-64 of a-z 0-9 . _ - (lower case), starting with a letter or digit"
        )
    if role not in Role.__members__.values():
        raise InvalidAccount(f"role must be one of {', '.join(Role)}, got {role!r}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidAccount(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    where = parse_place(place)
    user_id = str(uuid.uuid4())
    with engine.begin() as conn:
        if conn.execute(select(app_user.c.id).where(app_user.c.username == username)).first():
            raise InvalidAccount(f"username {username!r} is taken")
        conn.execute(
            insert(app_user).values(
                id=user_id,
                username=username,
                full_name=full_name,
                password_hash=_hasher().hash(password),
                role=role,
                place_kind=where.kind,
                place_code=where.code,
                can_see_names=can_see_names,
                active=True,
                created=_stamp(_now()),
            )
        )
    return user_id


def _lock_end(conn: Connection, since: str, limit: int, *where) -> datetime | None:
    """When the lock set by `limit` failures matching `where` in the window ends: when the
    `limit`-th newest leaves the window (refused attempts are not counted); None under `limit`."""
    oldest_counted = conn.execute(
        select(login_failure.c.at)
        .where(login_failure.c.at >= since, *where)
        .order_by(login_failure.c.at.desc())
        .offset(limit - 1)
        .limit(1)
    ).scalar()
    return _moment(oldest_counted) + THROTTLE_WINDOW if oldest_counted else None


def _delay_end(conn: Connection, since: str, username: str) -> datetime | None:
    """When the delay after the latest failure of `username` (from any address) ends: 1 s after
    the 5th failure in the window, doubling with each further one, at most 60 s."""
    failures, latest = conn.execute(
        select(func.count(), func.max(login_failure.c.at)).where(
            login_failure.c.username == username, login_failure.c.at >= since
        )
    ).one()
    if failures < DELAY_FROM_FAILURE:
        return None
    doublings = min(failures - DELAY_FROM_FAILURE, MAX_DELAY_SECONDS.bit_length())
    return _moment(latest) + timedelta(seconds=min(2**doublings, MAX_DELAY_SECONDS))


def _check_throttle(conn: Connection, username: str, address: str, now: datetime) -> None:
    """Raise LoginThrottled while the (username, address) pair or the address is locked, or the
    username's delay runs."""
    since = _stamp(now - THROTTLE_WINDOW)
    pair = (login_failure.c.username == username, login_failure.c.address == address)
    ends = (
        _lock_end(conn, since, MAX_FAILURES_PER_PAIR, *pair),
        _lock_end(conn, since, MAX_FAILURES_PER_ADDRESS, login_failure.c.address == address),
        _delay_end(conn, since, username),
    )
    end = max((e for e in ends if e is not None), default=now)
    if end > now:
        raise LoginThrottled(math.ceil((end - now).total_seconds()))


def authenticate(engine: Engine, *, username: str, password: str, address: str) -> Principal:
    """The user with these credentials, unless throttled (LoginThrottled), counting failures
    within 15 minutes: 5 of one (username, address) pair lock that pair, 20 from one address
    lock the address, until they are 15 minutes old; from the 5th failure of one username from
    any addresses, its next login waits 1 s, then 2 s, 4 s, ... at most 60 s after its latest
    failure, so an attacker who knows a username cannot lock its owner out for longer (OWASP
    Authentication Cheat Sheet, "Account Lockout").

    Each attempt is counted before the (slow) password check, in a short write transaction that
    holds the table's write lock, so parallel guesses, from any worker process, cannot slip under
    the limit; failures older than the window are deleted then. A success clears the pair's
    failures only: the username's failures from other addresses are someone else's guesses, and
    its owner's login must not reset their delay."""
    username, address = username[:64], address[:64]
    now = _now()
    with engine.connect() as conn:
        conn.execution_options(songkhoe_write=True)  # SQLite: BEGIN IMMEDIATE
        with conn.begin():
            if conn.dialect.name == "postgresql":  # SQLite's BEGIN IMMEDIATE took it already
                conn.execute(text("LOCK TABLE login_failure IN EXCLUSIVE MODE"))
            _check_throttle(conn, username, address, now)
            conn.execute(
                delete(login_failure).where(login_failure.c.at < _stamp(now - THROTTLE_WINDOW))
            )
            conn.execute(
                insert(login_failure).values(username=username, address=address, at=_stamp(now))
            )
            row = conn.execute(
                select(app_user).where(app_user.c.username == username, app_user.c.active)
            ).first()
    try:
        _hasher().verify(row.password_hash if row else _dummy_hash(), password)
        verified = row is not None
    except VerificationError:
        verified = False
    if not verified:
        raise InvalidCredentials("wrong username or password")
    with engine.begin() as conn:
        conn.execute(
            delete(login_failure).where(
                login_failure.c.username == username, login_failure.c.address == address
            )
        )
    return _principal_of_user(row)


def create_client(
    engine: Engine, *, client_id: str, scopes: str, place: str = "national", with_secret: bool
) -> str | None:
    """Register an API client (another system); returns its secret (shown once) when
    `with_secret`."""
    if not CLIENT_ID.fullmatch(client_id):
        raise InvalidAccount("client: 3-64 of A-Z a-z 0-9 . _ -")
    try:
        scope_text = format_scopes(parse_scopes(scopes))
    except InvalidScope as exc:
        raise InvalidAccount(str(exc)) from None
    where = parse_place(place)
    secret = secrets.token_urlsafe(32) if with_secret else None
    with engine.begin() as conn:
        if conn.execute(select(api_client.c.id).where(api_client.c.id == client_id)).first():
            raise InvalidAccount(f"client {client_id!r} exists")
        conn.execute(
            insert(api_client).values(
                id=client_id,
                secret_hash=_hasher().hash(secret) if secret else None,
                scopes=scope_text,
                place_kind=where.kind,
                place_code=where.code,
                active=True,
                created=_stamp(_now()),
            )
        )
    return secret


def issue_token(
    engine: Engine,
    *,
    scopes: str,
    expires_in: timedelta,
    user_id: str | None = None,
    client_id: str | None = None,
    patient_id: str | None = None,
) -> str:
    """A new bearer token for a user or a client. Its scopes must stay within what the user's
    role or the client's registration allows."""
    try:
        wanted = parse_scopes(scopes)
    except InvalidScope as exc:
        raise InvalidAccount(str(exc)) from None
    if any(s.context == "patient" for s in wanted) != (patient_id is not None):
        raise InvalidAccount("patient/ scopes need a patient, and a patient needs patient/ scopes")
    with engine.connect() as conn:
        if user_id is not None:
            row = conn.execute(select(app_user).where(app_user.c.id == user_id)).one()
            allowed = parse_scopes(_scopes_for_role(Role(row.role)))
            allowed_context = {"user", "patient"}
        else:
            row = conn.execute(select(api_client).where(api_client.c.id == client_id)).one()
            allowed = parse_scopes(row.scopes)
            allowed_context = {"system", "patient"}
    for scope in wanted:
        if scope.context not in allowed_context or not any(
            a.allows(scope.resource_type, "read" if scope.access == "read" else "write")
            and (scope.access != "*" or a.access == "*")
            for a in allowed
        ):
            raise InvalidAccount(
                f"scope {scope.context}/{scope.resource_type}.{scope.access} "
                f"is beyond what this account may have ({format_scopes(allowed)})"
            )
    token = "sk_" + secrets.token_urlsafe(32)
    now = _now()
    with engine.begin() as conn:
        conn.execute(
            insert(access_token).values(
                token_hash=digest(token),
                user_id=user_id,
                client_id=client_id,
                scopes=format_scopes(wanted),
                patient_id=patient_id,
                expires=_stamp(now + expires_in),
                created=_stamp(now),
            )
        )
    return token


def principal_for_token(engine: Engine, token: str) -> Principal | None:
    """The caller behind a bearer token, or None if unknown, expired or its account inactive;
    one query (the token with its user or client), as every API request asks it."""
    user, client = app_user.c, api_client.c
    query = (
        select(
            access_token.c.user_id,
            access_token.c.scopes,
            access_token.c.patient_id,
            user.id,  # the user's columns under their own names, for _principal_of_user
            user.username,
            user.role,
            user.place_kind,
            user.place_code,
            user.can_see_names,
            user.active,
            client.id.label("client_id"),
            client.place_kind.label("client_place_kind"),
            client.place_code.label("client_place_code"),
            client.active.label("client_active"),
        )
        .select_from(
            access_token.outerjoin(app_user, user.id == access_token.c.user_id).outerjoin(
                api_client, client.id == access_token.c.client_id
            )
        )
        .where(access_token.c.token_hash == digest(token), access_token.c.expires > _stamp(_now()))
    )
    with reading(engine) as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    if row.user_id is not None:
        return _principal_of_user(row, row.scopes, row.patient_id) if row.active else None
    if not row.client_active:  # also None when the client no longer exists
        return None
    return Principal(
        kind="client",
        id=row.client_id,
        display=row.client_id,
        role=None,
        place=Place(row.client_place_kind, row.client_place_code),
        scopes=parse_scopes(row.scopes),
        patient_id=row.patient_id,
        can_see_names=True,
    )


def client_credentials(
    engine: Engine, *, client_id: str, secret: str, scopes: str | None, expires_in: timedelta
) -> tuple[str, str]:
    """OAuth 2.0 client credentials grant (RFC 6749, 4.4): (token, its scopes) for a registered
    client; by default the client's registered scopes."""
    with engine.connect() as conn:
        row = conn.execute(
            select(api_client).where(api_client.c.id == client_id, api_client.c.active)
        ).first()
    try:
        _hasher().verify(row.secret_hash if row and row.secret_hash else _dummy_hash(), secret)
        if row is None or row.secret_hash is None:
            raise VerificationError
    except VerificationError:
        raise InvalidCredentials("unknown client or wrong secret") from None
    granted = scopes or row.scopes
    token = issue_token(engine, scopes=granted, expires_in=expires_in, client_id=client_id)
    return token, granted


@dataclass(frozen=True, slots=True)
class Session:
    principal: Principal
    csrf_token: str


def create_session(engine: Engine, principal: Principal) -> tuple[str, str]:
    """A new UI session for a logged-in user: (cookie value, CSRF token)."""
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = _now()
    with engine.begin() as conn:
        conn.execute(
            insert(ui_session).values(
                id_hash=digest(cookie),
                user_id=principal.id,
                csrf_token=csrf,
                expires=_stamp(now + SESSION_LIFETIME),
                created=_stamp(now),
            )
        )
    return cookie, csrf


def session_for_cookie(engine: Engine, cookie: str) -> Session | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(ui_session, app_user)
            .join(app_user, app_user.c.id == ui_session.c.user_id)
            .where(
                ui_session.c.id_hash == digest(cookie),
                ui_session.c.expires > _stamp(_now()),
                app_user.c.active,
            )
        ).first()
    return None if row is None else Session(_principal_of_user(row), row.csrf_token)


def end_session(engine: Engine, cookie: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(ui_session).where(ui_session.c.id_hash == digest(cookie)))


@contextmanager
def _connection(engine: Engine, conn: Connection | None) -> Iterator[Connection]:
    """`conn` when given (the caller's open transaction), else a transaction of its own."""
    if conn is not None:
        yield conn
        return
    with engine.begin() as own:
        yield own


def grant_access(
    engine: Engine,
    *,
    user_id: str,
    patient_id: str,
    reason: str,
    granted_by: str,
    basis: str | None = None,
    expires_in: timedelta | None = None,
    conn: Connection | None = None,
) -> None:
    """Share one person's record with one user (a specialist on a consultation, the receiving
    doctor of a referral) under a recorded reason (Decree 13/2023/NĐ-CP, art. 11). With `conn`,
    inside that open transaction (all or nothing with the case it is for)."""
    if not reason.strip():
        raise InvalidAccount("reason: sharing a record needs a recorded reason")
    now = _now()
    with _connection(engine, conn) as c:
        c.execute(
            insert(access_grant).values(
                user_id=user_id,
                patient_id=patient_id,
                reason=reason.strip(),
                basis=basis,
                granted_by=granted_by,
                created=_stamp(now),
                expires=_stamp(now + expires_in) if expires_in else None,
            )
        )


def revoke_access(
    engine: Engine,
    *,
    user_id: str,
    patient_id: str,
    basis: str | None = None,
    conn: Connection | None = None,
) -> int:
    """End the user's live grants of the person's record (only those given for `basis` when
    named): they expire now, and stay on record. Returns how many were live."""
    now = _stamp(_now())
    live = [
        access_grant.c.user_id == user_id,
        access_grant.c.patient_id == patient_id,
        or_(access_grant.c.expires.is_(None), access_grant.c.expires > now),
    ]
    if basis is not None:
        live.append(access_grant.c.basis == basis)
    with _connection(engine, conn) as c:
        return c.execute(update(access_grant).where(*live).values(expires=now)).rowcount


def user_principal(engine: Engine, user_id: str) -> Principal:
    """The principal of an account, with the default scopes of its role."""
    with engine.connect() as conn:
        row = conn.execute(select(app_user).where(app_user.c.id == user_id)).one()
    return _principal_of_user(row)


def users_at(conn: Connection, place: Place, roles: Iterable[Role]) -> list[str]:
    """Ids of the active accounts of these roles that work at `place`."""
    return list(
        conn.execute(
            select(app_user.c.id).where(
                app_user.c.place_kind == place.kind,
                app_user.c.place_code == place.code,
                app_user.c.role.in_([r.value for r in roles]),
                app_user.c.active,
            )
        ).scalars()
    )


def user_id_of(engine: Engine, username: str) -> str:
    with engine.connect() as conn:
        row = conn.execute(select(app_user.c.id).where(app_user.c.username == username)).first()
    if row is None:
        raise InvalidAccount(f"no user {username!r}")
    return row.id


def known_client(engine: Engine, client_id: str) -> bool:
    with engine.connect() as conn:
        return (
            conn.execute(select(api_client.c.id).where(api_client.c.id == client_id)).first()
            is not None
        )
