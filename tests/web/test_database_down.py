"""While the database is out of reach (a PostgreSQL restart, a lost connection, an unreadable
SQLite file) the app answers 503 with Retry-After: an OperationOutcome ("transient") on the FHIR
API, JSON on the other APIs, a readable page (Vietnamese first) for pages; it logs no personal
data, and it recovers by itself when the database answers again. Other database errors stay 500."""

import logging
import os
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, make_url, text

from songkhoe.app import create_app
from songkhoe.auth.service import create_client, issue_token
from songkhoe.db.engine import make_engine
from songkhoe.db.migrate import upgrade
from songkhoe.fhir.store import ResourceStore

POSTGRES_URL = os.environ.get("SONGKHOE_TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(
    not POSTGRES_URL, reason="SONGKHOE_TEST_POSTGRES_URL is not set (.ci/run sets it)"
)
VI = "Không kết nối được cơ sở dữ liệu"
EN = "The database cannot be reached"


def token_of(engine: Engine) -> str:
    create_client(engine, client_id="test-system", scopes="system/*.*", with_secret=False)
    return issue_token(
        engine, scopes="system/*.*", expires_in=timedelta(hours=1), client_id="test-system"
    )


def migrated(url: str) -> tuple[Engine, dict[str, str]]:
    """A migrated engine over `url` and the headers of a token that may read everything."""
    engine = make_engine(url)
    upgrade(engine)
    return engine, {"Authorization": f"Bearer {token_of(engine)}"}


def closed_port() -> int:
    """A local TCP port nobody listens on: connections to it are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_unavailable(client: TestClient, headers: dict[str, str]) -> None:
    """The FHIR API, a JSON API and a page each answer 503 as they should."""
    fhir = client.get("/fhir/Patient/x", headers=headers)
    assert fhir.status_code == 503, fhir.text
    assert fhir.headers["retry-after"] == "5"
    assert fhir.headers["content-type"].startswith("application/fhir+json")
    outcome = fhir.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert [i["code"] for i in outcome["issue"]] == ["transient"]
    assert "database" in outcome["issue"][0]["diagnostics"]
    api = client.get("/api/ncd/worklists/overdue", headers=headers)
    assert (api.status_code, api.headers["retry-after"]) == (503, "5")
    assert api.headers["content-type"].startswith("application/json") and api.json()["detail"]
    client.cookies.set("sk_session", "a-session")  # a page looks its session up first
    page = client.get("/people?q=An")
    assert (page.status_code, page.headers["retry-after"]) == (503, "5")
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="vi">' in page.text and VI in page.text
    english = client.get("/people", headers={"Accept-Language": "en"})
    assert english.status_code == 503 and EN in english.text


@pytest.fixture
def postgres(new_database_url) -> Iterator[tuple[str, Engine, dict[str, str]]]:
    """A migrated PostgreSQL database of the test's own: its URL, an engine, a token's headers."""
    if not POSTGRES_URL:
        pytest.skip("SONGKHOE_TEST_POSTGRES_URL is not set (.ci/run sets it)")
    with new_database_url("postgresql") as url:
        engine, headers = migrated(url)
        yield url, engine, headers
        engine.dispose()


@needs_postgres
def test_a_postgresql_server_out_of_reach_answers_503(postgres, caplog):
    url, _, headers = postgres
    elsewhere = make_url(url).set(host="127.0.0.1", port=closed_port())
    down = make_engine(elsewhere.render_as_string(hide_password=False))
    client = TestClient(create_app(store=ResourceStore(down)))
    with caplog.at_level(logging.INFO):
        assert_unavailable(client, headers)
    assert "database unreachable" in caplog.text and "503" in caplog.text
    assert "[SQL" not in caplog.text and "Traceback" not in caplog.text
    assert client.get("/healthz").status_code == 503


def terminate_connections(url: str) -> None:
    """End every server process connected to the database of `url` (as a restart does) and
    wait until they are gone."""
    database = make_url(url).database
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    others = "datname = :db AND pid <> pg_backend_pid()"
    with admin.connect() as conn:
        conn.execute(
            text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {others}"),
            {"db": database},
        )
        for _ in range(100):
            count = f"SELECT count(*) FROM pg_stat_activity WHERE {others}"
            if conn.execute(text(count), {"db": database}).scalar_one() == 0:
                break
            time.sleep(0.05)
    admin.dispose()


@needs_postgres
def test_lost_connections_answer_503_once_then_the_app_recovers(postgres, caplog):
    url, engine, headers = postgres
    client = TestClient(create_app(store=ResourceStore(engine)))
    assert client.get("/fhir/Patient/x", headers=headers).status_code == 404
    terminate_connections(url)
    with caplog.at_level(logging.INFO):
        lost = client.get("/fhir/Patient/x", headers=headers)
    assert lost.status_code == 503, lost.text
    assert lost.headers["retry-after"] == "5"
    assert lost.json()["issue"][0]["code"] == "transient"
    assert "database unreachable" in caplog.text
    assert "[SQL" not in caplog.text and "[parameters" not in caplog.text
    assert client.get("/fhir/Patient/x", headers=headers).status_code == 404, "recovered"


def test_an_sqlite_file_that_cannot_be_opened_answers_503(tmp_path: Path):
    _, headers = migrated(f"sqlite:///{tmp_path / 'songkhoe.db'}")
    unopenable = tmp_path / "a-folder"  # a folder where the database file should be
    unopenable.mkdir()
    client = TestClient(create_app(store=ResourceStore(make_engine(f"sqlite:///{unopenable}"))))
    assert_unavailable(client, headers)


def test_other_database_errors_stay_500(tmp_path: Path):
    """A database that answers but lacks the tables is a fault of the deployment, not a
    transient outage: 500 with an incident id, no Retry-After."""
    _, headers = migrated(f"sqlite:///{tmp_path / 'songkhoe.db'}")
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    client = TestClient(create_app(store=ResourceStore(empty)))
    answer = client.get("/fhir/Patient/x", headers=headers)
    assert answer.status_code == 500 and "retry-after" not in answer.headers
    assert answer.json()["issue"][0]["code"] == "exception"
