"""The frame's own pages: logging in and out, the interface language, and the home page, which
shows the blocks the domains register (`songkhoe.web.pages.register_home_panel`)."""

import math

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from songkhoe.auth.service import (
    InvalidCredentials,
    LoginThrottled,
    create_session,
    end_session,
)
from songkhoe.auth.service import authenticate as check_password
from songkhoe.web.i18n import LANGUAGES, language, translator
from songkhoe.web.pages import FormDep, StoreDep, ViewerDep, home_panels, page, page_router, render
from songkhoe.web.session import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CsrfFailure,
    check_token,
    current_session,
    form_data,
    new_login_token,
    set_cookie,
)

SESSION_SECONDS = 8 * 3600

# Public: logging in is how a visitor gets a session (its form has its own CSRF cookie), and the
# language can be chosen before.
public = APIRouter(include_in_schema=False)
router = page_router()


def login_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    token = new_login_token()
    response = render(request, "login.html", status, csrf=token, error=error)
    set_cookie(response, request, LOGIN_CSRF_COOKIE, token, 3600)
    return response


def throttled_page(request: Request, retry_after: int) -> Response:
    """The login page refusing an attempt with 429 and `Retry-After` (RFC 6585 section 4), its
    message saying how long to wait: seconds under a minute, else minutes rounded up."""
    t = translator(language(request))
    wait = (
        t("wait_seconds").format(n=retry_after)
        if retry_after < 60
        else t("wait_minutes").format(n=math.ceil(retry_after / 60))
    )
    response = login_page(request, t("throttled").format(wait=wait), 429)
    response.headers["Retry-After"] = str(retry_after)
    return response


@public.get("/login")
def login_form(request: Request, store: StoreDep) -> Response:
    if current_session(store, request) is not None:
        return RedirectResponse("/", 303)
    return login_page(request)


@public.post("/login")
async def login(request: Request, store: StoreDep) -> Response:
    form = await form_data(request)
    t = translator(language(request))
    try:
        check_token(request.cookies.get(LOGIN_CSRF_COOKIE), form.get("csrf"))
    except CsrfFailure:
        return login_page(request, t("expired_form"), 403)
    address = request.client.host if request.client else "unknown"
    try:
        principal = check_password(
            store.engine,
            username=form.get("username", "").strip().lower(),
            password=form.get("password", ""),
            address=address,
        )
    except LoginThrottled as throttled:
        return throttled_page(request, throttled.retry_after)
    except InvalidCredentials:
        return login_page(request, t("wrong_login"), 401)
    cookie, _ = create_session(store.engine, principal)
    response = RedirectResponse("/", 303)
    set_cookie(response, request, SESSION_COOKIE, cookie, SESSION_SECONDS)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@public.get("/lang/{code}")
def switch_language(code: str) -> Response:
    response = RedirectResponse("/", 303)
    if code in LANGUAGES:
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="lax")
    return response


@router.post("/logout")
def logout(request: Request, store: StoreDep, _checked: FormDep) -> Response:
    """End the session (the form's CSRF token checked: no other site can log a user out)."""
    end_session(store.engine, request.cookies[SESSION_COOKIE])
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(request: Request, store: StoreDep, who: ViewerDep) -> Response:
    return page(request, "home.html", who, panels=home_panels(store, who))
