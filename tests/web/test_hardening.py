"""Security headers, body limit, rate limit, last-resort errors and log redaction."""

import io
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel
from uvicorn.logging import AccessFormatter
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from songkhoe.app import create_app
from songkhoe.logging_setup import RedactPersonalData, redact
from songkhoe.web.hardening import CSP, DOCS_CSP, TokenBuckets, install_hardening

SECRET = "patient Nguyễn Văn An, CCCD 027090001234"


class Item(BaseModel):
    text: str


def tiny_app(*, max_body_bytes: int = 1000, rate_limit_per_minute: int = 0) -> FastAPI:
    app = FastAPI()

    @app.get("/page", response_class=HTMLResponse)
    def page() -> str:
        return "<p>xin chào</p>"

    @app.get("/api/things")
    def things() -> dict:
        return {"things": []}

    @app.get("/static/app.css")
    def stylesheet() -> str:
        return "body {}"

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.post("/fhir/Patient")
    @app.post("/api/upload")
    async def upload(request: Request) -> dict:
        return {"size": len(await request.body())}

    @app.post("/api/items")
    def items(item: Item) -> dict:  # FastAPI parses the body itself
        return {"size": len(item.text)}

    @app.get("/fhir/Patient/boom")
    @app.get("/api/boom")
    def boom() -> dict:
        raise RuntimeError(SECRET)

    install_hardening(
        app, max_body_bytes=max_body_bytes, rate_limit_per_minute=rate_limit_per_minute
    )
    return app


def chunks(size: int, count: int) -> Iterator[bytes]:
    for _ in range(count):
        yield b"x" * size


# --- headers


@pytest.mark.parametrize("path", ["/page", "/api/things", "/fhir/Patient/boom", "/nowhere"])
def test_security_headers_on_every_response(path):
    response = TestClient(tiny_app()).get(path)
    assert response.headers["content-security-policy"] == CSP
    assert "frame-ancestors 'none'" in CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert "camera=()" in response.headers["permissions-policy"]
    assert "microphone=()" in response.headers["permissions-policy"]
    assert response.headers["cross-origin-opener-policy"] == "same-origin"
    assert "strict-transport-security" not in response.headers  # plain http


def test_nothing_but_static_files_is_cached():
    client = TestClient(tiny_app())
    assert client.get("/api/things").headers["cache-control"] == "no-store"
    assert client.get("/fhir/Patient/boom").headers["cache-control"] == "no-store"
    assert client.get("/page").headers["cache-control"] == "no-store"
    assert "cache-control" not in client.get("/static/app.css").headers


def test_hsts_over_https_only():
    app = tiny_app()
    https = TestClient(app, base_url="https://testserver").get("/page")
    assert https.headers["strict-transport-security"].startswith("max-age=")
    assert "strict-transport-security" not in TestClient(app).get("/page").headers


def test_api_docs_get_a_csp_that_lets_swagger_ui_load():
    response = TestClient(tiny_app()).get("/docs")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == DOCS_CSP


# --- body limit


def test_declared_body_over_the_limit_is_refused_at_once():
    client = TestClient(tiny_app(max_body_bytes=1000))
    assert client.post("/api/upload", content=b"x" * 1000).json() == {"size": 1000}
    response = client.post("/api/upload", content=b"x" * 1001)
    assert response.status_code == 413
    assert response.json()["detail"] == "the request body is over 1000 bytes"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_fhir_413_is_an_operation_outcome():
    response = TestClient(tiny_app(max_body_bytes=1000)).post(
        "/fhir/Patient", content=b"{" * 2000, headers={"content-type": "application/fhir+json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/fhir+json")
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "too-costly"


@pytest.mark.parametrize("path", ["/api/upload", "/fhir/Patient", "/api/items"])
def test_chunked_body_is_counted_while_it_streams(path):
    client = TestClient(tiny_app(max_body_bytes=1000))
    small = client.post("/api/upload", content=chunks(100, 10))
    assert small.json() == {"size": 1000}
    response = client.post(path, content=chunks(100, 50))
    assert "content-length" not in response.request.headers
    assert response.status_code == 413  # also where FastAPI would have said 400


# --- rate limit


def test_rate_limit_answers_429_with_retry_after_and_spares_healthz():
    client = TestClient(tiny_app(rate_limit_per_minute=2))
    assert [client.get("/api/things").status_code for _ in range(2)] == [200, 200]
    refused = client.get("/api/things")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "30"  # one token every 30 s
    assert refused.headers["content-security-policy"] == CSP
    fhir = client.get("/fhir/Patient/boom")
    assert fhir.status_code == 429
    assert fhir.json()["issue"][0]["code"] == "throttled"
    assert [client.get("/healthz").status_code for _ in range(5)] == [200] * 5


def test_token_buckets_refill_and_forget_idle_clients():
    now = [0.0]
    buckets = TokenBuckets(60, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(60)] == [0.0] * 60
    assert buckets.take("a") == pytest.approx(1.0)
    assert buckets.take("b") == 0.0  # each client has its own bucket
    now[0] = 0.5
    assert buckets.take("a") == pytest.approx(0.5)
    now[0] = 2.0
    assert buckets.take("a") == 0.0
    now[0] = 200.0
    assert buckets.take("c") == 0.0
    assert set(buckets._buckets) == {"c"}


# --- last-resort errors


@pytest.mark.parametrize("path", ["/api/boom", "/fhir/Patient/boom"])
def test_unhandled_error_is_500_with_an_incident_id_and_no_details(path, caplog):
    with caplog.at_level(logging.ERROR, logger="songkhoe.web.hardening"):
        response = TestClient(tiny_app()).get(path)
    assert response.status_code == 500
    assert "Nguyễn" not in response.text and "027090001234" not in response.text
    assert "RuntimeError" not in response.text
    if path.startswith("/fhir"):
        diagnostics = response.json()["issue"][0]["diagnostics"]
        assert response.json()["issue"][0]["code"] == "exception"
        incident = diagnostics.rsplit(" ", 1)[1]
    else:
        incident = response.json()["incident"]
        assert incident in response.json()["detail"]
    assert len(incident) == 32
    [record] = caplog.records
    assert incident in record.getMessage()
    assert record.exc_info[0] is RuntimeError


# --- through the real app


def test_the_app_is_hardened(store, auth_headers):
    client = TestClient(create_app(store=store), headers=auth_headers)
    metadata = client.get("/fhir/metadata")
    assert metadata.headers["content-security-policy"] == CSP
    assert metadata.headers["cache-control"] == "no-store"
    response = client.post(
        "/fhir/Patient",
        content=chunks(1 << 20, 64),
        headers={"content-type": "application/fhir+json"},
    )
    assert response.status_code == 413
    assert response.json()["issue"][0]["code"] == "too-costly"


@pytest.mark.parametrize(
    "url",
    [
        "/fhir/Patient/a%00b",
        "/fhir/Patient/a%00b/_history",
        "/fhir/Patient/a%00b/$everything",
        "/fhir/Patient?name=a%00b",
        "/fhir/Patient?identifier=x%7Ca%00b",
        "/fhir/Observation?subject=Patient/a%01b",
        "/people?q=a%00b",
    ],
)
def test_a_control_character_in_the_url_is_400_not_500(store, auth_headers, url):
    """PostgreSQL refuses NUL in text: an id or search value holding one was a 500 there."""
    client = TestClient(create_app(store=store), headers=auth_headers)
    for method in ("GET", "DELETE") if "?" not in url else ("GET",):
        response = client.request(method, url)
        assert response.status_code == 400, (method, url)
        if url.startswith("/fhir"):
            assert response.json()["issue"][0]["code"] == "invalid"


# --- log redaction


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CCCD 027090001234.", "CCCD [cccd]."),
        ("gọi 0912345678 hoặc 038 123 4567", "gọi [phone] hoặc [phone]"),
        ("+84912345678, +84 91 234 5678, 84912345678", "[phone], [phone], [phone]"),
        ("thẻ BHYT GD4240123456789", "thẻ BHYT [bhyt]"),
        ("mail an.nguyen+sk@benhvien.gov.vn", "mail [email]"),
        ("GET /fhir/Patient?name=Nguy%E1%BB%85n&_count=5 done", "GET /fhir/Patient done"),
        ("see https://x.vn/fhir/Patient?identifier=a|b", "see https://x.vn/fhir/Patient"),
        ("incident 0123456789ab4c5d8e9f0123456789ab", "incident 0123456789ab4c5d8e9f0123456789ab"),
        ("took 0.912345678 s for 1234567890123 rows", "took 0.912345678 s for 1234567890123 rows"),
    ],
)
def test_redact(text, expected):
    assert redact(text) == expected


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactPersonalData())
    logger = logging.getLogger("songkhoe.test_redaction")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_log_records_are_redacted(captured):
    logger, stream = captured
    logger.warning("patient %s, phone %s, card %s", "027090001234", "0912345678", "GD4240123456789")
    logger.warning("bad args %d", "027090001234")  # formatting fails: the template is kept
    try:
        raise ValueError("no patient with CCCD 027090001234 and e-mail an@example.com")
    except ValueError:
        logger.exception("lookup failed for %s", {"phone": "+84912345678"})
    text = stream.getvalue()
    for secret in ("027090001234", "0912345678", "GD4240123456789", "an@example.com", "84912"):
        assert secret not in text
    assert "patient [cccd], phone [phone], card [bhyt]" in text
    assert "bad args %d" in text
    assert "ValueError: no patient with CCCD [cccd] and e-mail [email]" in text
    assert "lookup failed for {'phone': '[phone]'}" in text


def test_uvicorn_access_lines_lose_their_query_string():
    scope = {
        "client": ("10.0.0.7", 51234),
        "path": "/fhir/Patient/027090001234/_history",
        "raw_path": b"/fhir/Patient/027090001234/_history",  # what uvicorn 0.55+ logs
        "query_string": b"identifier=urn:vn:cccd|027090001234&name=Nguy%E1%BB%85n%20An",
    }
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s'))
    handler.addFilter(RedactPersonalData())
    logger = logging.getLogger("uvicorn.access")
    logger.addHandler(handler)
    try:  # the call uvicorn's h11 and httptools protocols make
        logger.warning(
            '%s - "%s %s HTTP/%s" %d',
            get_client_addr(scope),
            "GET",
            get_path_with_query_string(scope),
            "1.1",
            200,
        )
    finally:
        logger.removeHandler(handler)
    assert (
        stream.getvalue()
        == '10.0.0.7:51234 - "GET /fhir/Patient/[cccd]/_history HTTP/1.1" 200 OK\n'
    )


def test_configure_logging_redacts_the_app_and_uvicorn():
    script = """
import logging
from songkhoe.logging_setup import configure_logging
configure_logging("info")
logging.getLogger("songkhoe.fhir").info("created Patient for %s", "0912345678")
logging.getLogger("uvicorn.error").info("client an@example.com")
logging.getLogger("uvicorn.access").info(
    '%s - "%s %s HTTP/%s" %d', "10.0.0.7:5", "GET", "/fhir/Patient?name=An", "1.1", 404
)
logging.getLogger("songkhoe").debug("below the level")
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    lines = result.stderr.splitlines()
    assert len(lines) == 3
    assert lines[0].endswith("INFO songkhoe.fhir: created Patient for [phone]")
    assert lines[1].endswith("INFO uvicorn.error: client [email]")
    assert lines[2].endswith('INFO 10.0.0.7:5 - "GET /fhir/Patient HTTP/1.1" 404 Not Found')
