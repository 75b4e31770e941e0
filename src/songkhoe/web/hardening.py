"""Hardening of the web app: one pure ASGI middleware that, for every HTTP request,

- adds security headers (CSP, nosniff, no referrer, no framing, HSTS over https) and
  `Cache-Control: no-store` on everything but /static, so health data never sits in a shared
  cache nor comes back with the Back button on a shared station PC after logout;
- limits the request body: a Content-Length above the limit is refused at once, a chunked body is
  counted while it streams; both get 413 (FHIR: OperationOutcome "too-costly");
- refuses a URL whose decoded path or query holds a control character (400; FHIR:
  OperationOutcome "invalid"), as the FHIR API refuses one in a resource's strings;
- rate-limits each client address with a token bucket (/healthz exempt): 429 with Retry-After
  (FHIR: OperationOutcome "throttled");
- answers a database out of reach (`database_unreachable`: a restart, a lost connection, a file
  that cannot be opened) with 503 and `Retry-After` (FHIR: OperationOutcome "transient"; pages: a
  readable page), logged without the error's text, whose SQL parameters may hold personal data;
  the pool opens new connections by itself once the database answers again;
- answers any other unhandled exception with 500, a generic message and an opaque incident id
  that is also in the logged traceback; the exception text never reaches the client.

The buckets live in the process's memory: behind N workers a client gets N times the limit.
The client address and the scheme are the ASGI scope's; behind a reverse proxy, run uvicorn with
`--proxy-headers --forwarded-allow-ips=<proxy>` so that they are the real client's.
"""

import logging
import math
import time
import uuid
from collections.abc import Callable
from urllib.parse import unquote_plus

import orjson
from fastapi import FastAPI
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from songkhoe.fhir.outcomes import Issue, operation_outcome
from songkhoe.fhir.validation import CONTROL_CHARACTER
from songkhoe.web.pages import render

logger = logging.getLogger(__name__)


def content_security_policy(image_origins: tuple[str, ...] = ()) -> str:
    """Everything from this origin only; images also from `image_origins` (map tiles)."""
    images = "".join(f" {origin}" for origin in image_origins)
    return (
        f"default-src 'self'; img-src 'self' data: blob:{images}; style-src 'self'; "
        "script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )


CSP = content_security_policy()
# FastAPI's /docs and /redoc pages load Swagger UI / ReDoc from a CDN and start them inline.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data: https:; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    # Telehealth video opens Jitsi in a new tab: no page here needs camera or microphone.
    "permissions-policy": "camera=(), microphone=(), geolocation=(self), payment=(), usb=()",
    "cross-origin-opener-policy": "same-origin",
}
HSTS = "max-age=63072000; includeSubDomains"
CACHEABLE_PREFIXES = ("/static",)  # everything else may hold personal data
RATE_LIMIT_EXEMPT = frozenset({"/healthz"})
FHIR_JSON = "application/fhir+json; charset=utf-8"
JSON_PREFIXES = ("/fhir", "/api", "/auth", "/healthz")  # the rest are pages: errors in HTML
DATABASE_RETRY_AFTER_S = 5
# PostgreSQL's SQLSTATEs of a connection that failed or is ending: class 08 (connection
# exception), 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now
# (https://www.postgresql.org/docs/current/errcodes-appendix.html).
UNREACHABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03")
SQLITE_CANTOPEN = 14  # https://sqlite.org/rescode.html#cantopen


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc` means that the database cannot be reached (now), rather than a fault: a
    connection SQLAlchemy found lost (`connection_invalidated`), a connection failure or shutdown
    PostgreSQL names by its SQLSTATE, a SQLite file that cannot be opened, or a driver that could
    not connect at all (no statement ran, no error code: refused, timed out)."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    if exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate:
        return sqlstate.startswith(UNREACHABLE_SQLSTATES)
    sqlite_code = getattr(exc.orig, "sqlite_errorcode", None)
    if sqlite_code is not None:
        return sqlite_code & 0xFF == SQLITE_CANTOPEN  # an extended code keeps the primary below
    return exc.statement is None


def install_hardening(
    app: FastAPI,
    *,
    max_body_bytes: int,
    rate_limit_per_minute: int,
    image_origins: tuple[str, ...] = (),
) -> None:
    """Add the hardening middleware as the outermost of the app's own middleware (call it after
    adding any other). `rate_limit_per_minute` 0 turns rate limiting off; `image_origins` are the
    only other origins pages may load images from (map tiles)."""
    docs = (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    docs_paths = frozenset(p for p in docs if p)
    app.add_middleware(
        HardeningMiddleware,
        max_body_bytes=max_body_bytes,
        rate_limit_per_minute=rate_limit_per_minute,
        docs_paths=docs_paths,
        csp=content_security_policy(image_origins),
    )


class TokenBuckets:
    """One token bucket per key, holding at most `per_minute` tokens and refilled continuously at
    `per_minute` tokens a minute; each request takes one."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.per_second = per_minute / 60
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)
        self._next_sweep = clock() + 60

    def take(self, key: str) -> float:
        """Take a token: 0 when one was there, else the seconds until the next one."""
        now = self.clock()
        if now >= self._next_sweep:
            self._forget_full(now)
        tokens, stamp = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - stamp) * self.per_second)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.per_second
        self._buckets[key] = (tokens - 1, now)
        return 0.0

    def _forget_full(self, now: float) -> None:
        """Drop the buckets idle long enough to be full again: a new bucket is the same."""
        refill = 60.0  # seconds to refill an empty bucket
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < refill}
        self._next_sweep = now + refill


class _BodyTooLarge(Exception):
    pass


class HardeningMiddleware:
    """The pure ASGI middleware behind `install_hardening` (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        rate_limit_per_minute: int,
        docs_paths: frozenset[str] = frozenset(),
        csp: str = CSP,
    ) -> None:
        self.app = app
        self.csp = csp
        self.max_body_bytes = max_body_bytes
        self.buckets = TokenBuckets(rate_limit_per_minute) if rate_limit_per_minute > 0 else None
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"].removeprefix(scope.get("root_path", ""))
        response_started = False
        too_large = False

        async def send_hardened(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                self._add_headers(scope, path, MutableHeaders(scope=message))
            await send(message)

        async def send_from_app(message: Message) -> None:
            if response_started or not too_large:  # else the 413 below replaces it
                await send_hardened(message)

        if self.buckets is not None and path not in RATE_LIMIT_EXEMPT:
            client = scope.get("client")
            wait = self.buckets.take(client[0] if client else "")
            if wait:
                retry_after = str(max(1, math.ceil(wait)))
                message = "too many requests; slow down"
                headers = {"retry-after": retry_after}
                await _send_error(send_hardened, path, 429, "throttled", message, None, headers)
                return

        if _content_length(scope) > self.max_body_bytes:
            await self._send_too_large(send_hardened, path)
            return

        if _url_has_control_character(scope):
            message = "the URL holds a control character, which no id or search value may hold"
            await _send_error(send_hardened, path, 400, "invalid", message)
            return

        received = 0

        async def receive_limited() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    too_large = True
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, receive_limited, send_from_app)
        except Exception as exc:
            if response_started:
                raise  # too late to answer; the server logs it and drops the connection
            if database_unreachable(exc):
                await _send_unavailable(send_hardened, scope, receive, path, exc)
                return
            if not too_large:
                await _send_incident(send_hardened, scope, path)
                return
        if too_large and not response_started:
            await self._send_too_large(send_hardened, path)

    async def _send_too_large(self, send: Send, path: str) -> None:
        size = self.max_body_bytes
        limit = f"{size / 1_048_576:g} MiB" if size >= 1_048_576 else f"{size} bytes"
        await _send_error(send, path, 413, "too-costly", f"the request body is over {limit}")

    def _add_headers(self, scope: Scope, path: str, headers: MutableHeaders) -> None:
        headers.setdefault(
            "content-security-policy", DOCS_CSP if path in self.docs_paths else self.csp
        )
        for name, value in SECURITY_HEADERS.items():
            headers.setdefault(name, value)
        if scope.get("scheme") == "https":
            headers.setdefault("strict-transport-security", HSTS)
        if not _under(path, CACHEABLE_PREFIXES):
            headers["cache-control"] = "no-store"


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def _url_has_control_character(scope: Scope) -> bool:
    """Whether the decoded path or query string holds a character that no FHIR string may
    (below U+0020 but tab, CR and LF: http://hl7.org/fhir/R4/datatypes.html#string): an id,
    a search value or a page's parameter with a NUL would reach PostgreSQL, which refuses NUL
    in text (a 500 otherwise)."""
    query = unquote_plus(scope.get("query_string", b"").decode("latin-1"))
    return bool(CONTROL_CHARACTER.search(scope["path"]) or CONTROL_CHARACTER.search(query))


def _content_length(scope: Scope) -> int:
    """The declared body length; 0 when none or unreadable (the server rejects those)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


async def _send_unavailable(
    send: Send, scope: Scope, receive: Receive, path: str, exc: BaseException
) -> None:
    """503 with Retry-After while the database is out of reach (RFC 9110, 15.6.4): an
    OperationOutcome "transient" under /fhir, JSON under the other APIs, else a page in the
    reader's language. Logged with the driver error's class only: its text may quote the SQL
    statement's parameters."""
    cause = type(getattr(exc, "orig", None) or exc).__name__
    logger.warning("database unreachable (%s): %s %s answered 503", cause, scope["method"], path)
    headers = {"retry-after": str(DATABASE_RETRY_AFTER_S)}
    if _under(path, JSON_PREFIXES):
        message = f"the database cannot be reached; retry in {DATABASE_RETRY_AFTER_S} s"
        await _send_error(send, path, 503, "transient", message, None, headers)
        return
    response = render(Request(scope), "message.html", 503, message="database_unavailable")
    response.headers.update(headers)
    await response(scope, receive, send)


async def _send_incident(send: Send, scope: Scope, path: str) -> None:
    """Log the exception being handled under a new incident id and answer 500 with that id."""
    incident = uuid.uuid4().hex
    logger.exception("incident %s: unhandled error in %s %s", incident, scope["method"], path)
    message = f"internal error; incident {incident}"
    await _send_error(send, path, 500, "exception", message, {"incident": incident})


async def _send_error(
    send: Send,
    path: str,
    status: int,
    code: str,
    message: str,
    extra: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """A small JSON error: an OperationOutcome under /fhir, else `{"detail": ..., **extra}`."""
    if _under(path, ("/fhir",)):
        body = orjson.dumps(operation_outcome([Issue(code, message)]))
        content_type = FHIR_JSON
    else:
        body = orjson.dumps({"detail": message, **(extra or {})})
        content_type = "application/json"
    raw = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
