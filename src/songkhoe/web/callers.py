"""Who is calling a JSON API (/api/...): a bearer token (other systems, RFC 6750) or the UI's
session cookie (the app's own scripts), as FastAPI dependencies; errors are OperationOutcomes.

- `CallerDep`: the caller of any request; 401 without a token or a session.
- `WriterDep`: the caller of a POST that writes. Its body must be declared
  `Content-Type: application/json` (415 otherwise), and a request that comes with the cookie
  rather than an Authorization header must be same-origin (its `Origin`, or without one its
  `Referer`) or carry the session's CSRF token in `X-CSRF-Token` (OWASP CSRF Prevention Cheat
  Sheet: verifying origin with standard headers; synchronizer token): SameSite=Lax alone lets a
  same-site page post, and a cross-site `text/plain` form would be read as JSON. The pages send
  `Referrer-Policy: no-referrer`, under which a browser's `fetch` sends `Origin: null`, so the
  UI's scripts use the header token.
- `json_object(request)`: the body, a JSON object (400 otherwise).
"""

import hmac
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request

from songkhoe.auth.api import bearer_principal
from songkhoe.auth.audit import RequestContext
from songkhoe.auth.caller import Caller
from songkhoe.auth.models import Principal
from songkhoe.fhir.outcomes import FhirError
from songkhoe.web.pages import StoreDep
from songkhoe.web.session import current_session

CSRF_HEADER = "x-csrf-token"


def request_caller(request: Request, store: StoreDep) -> Caller:
    """The caller of a request: a bearer token when one is sent, else the UI session; 401 if
    neither."""
    principal: Principal | None
    if "authorization" in request.headers:
        principal = bearer_principal(store, request)
    else:
        session = current_session(store, request)
        if session is None:
            raise FhirError.single(401, "login", "log in, or send Authorization: Bearer TOKEN")
        principal = session.principal
    address = request.client.host if request.client else None
    return Caller(store, principal, RequestContext(address))


CallerDep = Annotated[Caller, Depends(request_caller)]


def _same_origin(request: Request) -> bool:
    """Whether the browser says the request came from a page of this site."""
    ours = f"{request.url.scheme}://{request.url.netloc}"
    origin = request.headers.get("origin")
    if origin is not None:
        return origin == ours
    referer = request.headers.get("referer")
    return referer is not None and (referer == ours or referer.startswith(ours + "/"))


def json_writer(request: Request, store: StoreDep, caller: CallerDep) -> Caller:
    """The caller of a JSON POST (see the module's docstring): 415 for a body not declared
    JSON, 403 for a cookie-authenticated request from another site."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise FhirError.single(
            415, "not-supported", f"Content-Type: expected application/json, got "
            f"{media_type or 'none'}", "Content-Type",
        )  # fmt: skip
    if "authorization" not in request.headers and not _same_origin(request):
        session = current_session(store, request)
        token = request.headers.get(CSRF_HEADER, "").encode()
        if session is None or not hmac.compare_digest(session.csrf_token.encode(), token):
            raise FhirError.single(
                403, "forbidden", "a request with the session cookie must come from this site "
                "(Origin) or send the session's X-CSRF-Token",
            )  # fmt: skip
    return caller


WriterDep = Annotated[Caller, Depends(json_writer)]


async def json_object(request: Request) -> dict[str, Any]:
    """The request's body, a JSON object (an empty body is `{}`); 400 otherwise."""
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        raise FhirError.single(400, "invalid", "body: not valid JSON", "body") from None
    if not isinstance(body, dict):
        raise FhirError.single(400, "invalid", "body: expected a JSON object", "body")
    return body
