"""Retried API writes answered once: the Idempotency-Key request header on POST create and on
transaction and batch Bundles (draft-ietf-httpapi-idempotency-key-header-07).

A client whose connection dropped after the commit sends the same request again with the same
key. The first response (status, Location, ETag, Last-Modified, body) is stored with the key in
the transaction of its writes (a batch's: in one of its own after the entries, each of which
commits on its own), under the caller (`owner`) and a fingerprint of the request (method, path,
If-None-Exist, body), and kept 24 hours (`KEPT`):
- the same key with the same request gets the stored response, and writes nothing;
- the same key with another request: 422 (the draft's section "Error Handling");
- the same key while the first request is still in flight: 409 (the retry finds no stored
  response, writes, and finds the key taken when it comes to store its own, so its writes
  roll back).
Only a write that committed is remembered: a refused or failed request leaves no key, and its
retry is processed anew. A request without the header costs nothing here.
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from songkhoe.db.engine import reading
from songkhoe.db.stamps import STAMP_FORMAT
from songkhoe.db.tables import retry_key
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.store import Writer

KEPT = timedelta(hours=24)
MAX_LENGTH = 255
# a Structured Field string (RFC 8941, section 3.3.3), the header's syntax in the draft
_SF_STRING = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')
_BARE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")  # the same characters unquoted, as many send


@dataclass(frozen=True, slots=True)
class RetryKey:
    owner: str  # who sent the request: "user/ID" or "client/ID"
    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    references: list[str]  # what the write's AuditEvent named: a replay's names them again


def parse_key(value: str) -> str:
    """The key of an Idempotency-Key header: a quoted string, or its characters unquoted; 1 to
    MAX_LENGTH printable ASCII characters. FhirError 400 otherwise."""
    text = value.strip()
    if match := _SF_STRING.fullmatch(text):
        key = re.sub(r'\\(["\\])', r"\1", match.group(1))
    else:
        key = text if _BARE.fullmatch(text) else ""
    if not 0 < len(key) <= MAX_LENGTH:
        raise FhirError.single(
            400,
            "invalid",
            f"Idempotency-Key must be a string of 1 to {MAX_LENGTH} printable ASCII characters, "
            'e.g. "8e03978e-40d5-43e8-bc93-6894a57f9324"',
        )
    return key


def fingerprint(method: str, target: str, condition: str | None, body: bytes) -> str:
    """The SHA-256 (hex) of what makes a request the same request: method, path and query,
    If-None-Exist and body."""
    digest = hashlib.sha256()
    for part in (method.encode(), target.encode(), (condition or "").encode(), body):
        digest.update(len(part).to_bytes(8) + part)
    return digest.hexdigest()


def _oldest_kept() -> str:
    return (datetime.now(UTC) - KEPT).strftime(STAMP_FORMAT)


def stored_response(engine: Engine, retry: RetryKey) -> StoredResponse | None:
    """The response stored with the key in the last 24 hours, if any; FhirError 422 if the key
    came with another request."""
    with reading(engine) as conn:
        row = conn.execute(
            select(retry_key).where(
                retry_key.c.owner == retry.owner,
                retry_key.c.key == retry.key,
                retry_key.c.created >= _oldest_kept(),
            )
        ).first()
    if row is None:
        return None
    if row.fingerprint != retry.fingerprint:
        raise FhirError.single(
            422,
            "business-rule",
            "this Idempotency-Key came with another request in the last 24 hours: "
            "a new request needs a new key",
        )
    return StoredResponse(row.status, row.headers, row.body.encode(), row.refs)


def remember(writer: Writer, retry: RetryKey, response: StoredResponse) -> None:
    """Store the response with the key in the writer's transaction (and drop the keys past 24
    hours). A key stored meanwhile by a concurrent request with it: FhirError 409, and the
    transaction rolls back."""
    conn = writer.conn
    oldest_kept = _oldest_kept()
    conn.execute(delete(retry_key).where(retry_key.c.created < oldest_kept))
    row = {
        "owner": retry.owner,
        "key": retry.key,
        "fingerprint": retry.fingerprint,
        "created": writer.timestamp,
        "status": response.status,
        "headers": response.headers,
        "body": response.body.decode(),
        "refs": response.references,
    }
    try:
        conn.execute(insert(retry_key).values(row))
    except IntegrityError:
        raise FhirError.single(
            409,
            "conflict",
            "a request with this Idempotency-Key is in progress: "
            "send it again once it is done to get its response",
        ) from None
