"""OAuth 2.0 token endpoint (client credentials, RFC 6749 section 4.4) and the bearer-token
dependency of the API (RFC 6750)."""

import base64
from datetime import timedelta
from urllib.parse import parse_qsl, unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from songkhoe.auth.models import Principal
from songkhoe.auth.service import (
    InvalidAccount,
    InvalidCredentials,
    client_credentials,
    principal_for_token,
)
from songkhoe.fhir.deps import StoreDep
from songkhoe.fhir.openapi import (
    JSON,
    MIDDLEWARE_ERROR,
    MIDDLEWARE_ERRORS,
    body_doc,
    json_answer,
    response_doc,
)
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.store import ResourceStore

TOKEN_LIFETIME = timedelta(hours=1)


def _unauthorized(message: str) -> FhirError:
    return FhirError.single(401, "login", message)


def bearer_principal(store: ResourceStore, request: Request) -> Principal:
    """The caller of a request with `Authorization: Bearer TOKEN`; FhirError 401 otherwise."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("send a bearer token: Authorization: Bearer TOKEN")
    principal = principal_for_token(store.engine, token.strip())
    if principal is None:
        raise _unauthorized("the bearer token is unknown or has expired")
    return principal


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status,
        headers={"Cache-Control": "no-store"},
    )


# Public on purpose: this is where a client without a token comes to get one; it authenticates
# with its client credentials in the form or a Basic Authorization header.
router = APIRouter(tags=["OAuth 2.0"])
TOKEN_REQUEST = {  # RFC 6749 section 4.4.2; the client may authenticate with Basic instead
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "grant_type": {"enum": ["client_credentials"]},
        "client_id": {"type": "string"},
        "client_secret": {"type": "string"},
        "scope": {"type": "string", "description": "SMART scopes, e.g. system/*.read"},
    },
}
TOKEN = {  # RFC 6749 section 5.1
    "type": "object",
    "required": ["access_token", "token_type", "expires_in", "scope"],
    "properties": {
        "access_token": {"type": "string"},
        "token_type": {"const": "bearer"},
        "expires_in": {"type": "integer"},
        "scope": {"type": "string"},
    },
}
OAUTH_ERROR = {  # RFC 6749 section 5.2
    "type": "object",
    "required": ["error", "error_description"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}


@router.post(
    "/auth/token",
    responses={
        **MIDDLEWARE_ERRORS,
        **json_answer(TOKEN, "A bearer token"),
        400: response_doc(
            {"anyOf": [OAUTH_ERROR, MIDDLEWARE_ERROR]}, "An OAuth error", media_type=JSON
        ),
        401: response_doc(OAUTH_ERROR, "An OAuth error", media_type=JSON),
    },
    openapi_extra=body_doc(
        TOKEN_REQUEST, "A token request", media_type="application/x-www-form-urlencoded"
    ),
)
async def token(request: Request, store: StoreDep) -> JSONResponse:
    form = dict(parse_qsl((await request.body()).decode(errors="replace")))
    if form.get("grant_type") != "client_credentials":
        return _oauth_error("unsupported_grant_type", "only client_credentials is supported")
    client_id, secret = form.get("client_id"), form.get("client_secret")
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except ValueError:
            return _oauth_error("invalid_client", "malformed Basic credentials", 401)
        client_id, _, secret = (unquote(part) for part in decoded.partition(":"))
    if not client_id or not secret:
        return _oauth_error("invalid_client", "client_id and client_secret are required", 401)
    try:
        issued = client_credentials(
            store.engine,
            client_id=client_id,
            secret=secret,
            scopes=form.get("scope"),
            expires_in=TOKEN_LIFETIME,
        )
    except InvalidCredentials as exc:
        return _oauth_error("invalid_client", str(exc), 401)
    except InvalidAccount as exc:
        return _oauth_error("invalid_scope", str(exc))
    access_token, scopes = issued
    return JSONResponse(
        {
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": int(TOKEN_LIFETIME.total_seconds()),
            "scope": scopes,
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
