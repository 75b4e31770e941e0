"""UI sessions: an HttpOnly session cookie, and CSRF protection for every form.

Logged-in forms carry the session's synchronizer token; the login form, before any session
exists, uses a double-submit cookie (OWASP CSRF Prevention Cheat Sheet).
"""

import hmac
import secrets
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.responses import Response

from songkhoe.auth.service import Session, session_for_cookie
from songkhoe.fhir.store import ResourceStore

SESSION_COOKIE = "sk_session"
LOGIN_CSRF_COOKIE = "sk_login_csrf"


class CsrfFailure(Exception):
    """A form without the right CSRF token: answered with 403 and a fresh form."""


def current_session(store: ResourceStore, request: Request) -> Session | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    return session_for_cookie(store.engine, cookie) if cookie else None


async def form_data(request: Request) -> dict[str, str]:
    return dict(await form_pairs(request))


async def form_pairs(request: Request) -> list[tuple[str, str]]:
    """Every field of a posted form in order, repeated names included (checkboxes)."""
    return parse_qsl((await request.body()).decode(errors="replace"))


def check_token(expected: str | None, given: str | None) -> None:
    if not expected or not given or not hmac.compare_digest(expected, given):
        raise CsrfFailure


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def new_login_token() -> str:
    return secrets.token_urlsafe(32)
