"""Shared fixtures: every store test runs on SQLite and on PostgreSQL.

PostgreSQL runs when SONGKHOE_TEST_POSTGRES_URL names a server (`.ci/run` sets it); the tests use
a database of their own on that server, created here and dropped at the end.
"""

import os
import shutil
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("SONGKHOE_ARGON2_MEMORY_KIB", "1024")  # fast hashes; production: 64 MiB
os.environ["SONGKHOE_RATE_LIMIT_PER_MINUTE"] = "0"  # rate limiting: tests/web/test_hardening.py

import pytest  # noqa: E402
import uvicorn  # noqa: E402
from sqlalchemy import Engine, create_engine, text

from songkhoe.app import create_app  # noqa: E402
from songkhoe.db.engine import make_engine
from songkhoe.db.migrate import upgrade
from songkhoe.db.tables import metadata
from songkhoe.fhir.store import ResourceStore  # noqa: E402

POSTGRES_URL = os.environ.get("SONGKHOE_TEST_POSTGRES_URL")
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not POSTGRES_URL, reason="SONGKHOE_TEST_POSTGRES_URL is not set (.ci/run sets it)"
        ),
    ),
]


@contextmanager
def new_database(kind: str, folder: Path) -> Iterator[str]:
    """The URL of a new, empty database: a SQLite file in `folder`, or a database of its own on
    the PostgreSQL server, dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'{uuid.uuid4().hex[:8]}.db'}"
        return
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"songkhoe_test_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory) -> Iterator[str]:
    """A migrated, empty database on each backend, for the whole session."""
    with new_database(request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture
def new_database_url(tmp_path: Path):
    """`new_database_url(kind)`: a context manager giving the URL of a new, empty database."""
    return lambda kind: new_database(kind, tmp_path)


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def live_server(migrated_engine: Engine) -> Iterator[str]:
    """The base URL (http://127.0.0.1:PORT) of a live server over the session's database."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    app = create_app(store=ResourceStore(migrated_engine))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.01)
    if not server.started:
        raise RuntimeError("the test server did not start")
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def store(migrated_engine: Engine) -> ResourceStore:
    """A store over emptied tables."""
    with migrated_engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    return ResourceStore(migrated_engine)


@pytest.fixture
def system_token(store: ResourceStore) -> str:
    """A bearer token of an API client that may read and write everything."""
    from datetime import timedelta

    from songkhoe.auth.service import create_client, issue_token

    create_client(store.engine, client_id="test-system", scopes="system/*.*", with_secret=False)
    return issue_token(
        store.engine, scopes="system/*.*", expires_in=timedelta(hours=1), client_id="test-system"
    )


@pytest.fixture
def auth_headers(system_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {system_token}"}


@pytest.fixture
def log_in():
    """`log_in(page, site, username, password)`: sign in through the login form and wait for
    the home page."""

    def sign_in(page, site: str, username: str, password: str) -> None:
        page.goto(f"{site}/login")
        page.fill("#username", username)
        page.fill("#password", password)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{site}/")

    return sign_in


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright, for the whole session; the test is skipped, with
    the reason, where the playwright package or /usr/bin/chromium is missing."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is missing"
    )
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def phone_page(browser):
    """`phone_page()`: a new page the size of a cheap phone's screen (360 × 740), in Vietnamese,
    with cookies of its own; the pages are closed after the test."""
    pages = []

    def open_page():
        page = browser.new_page(viewport={"width": 360, "height": 740}, locale="vi-VN")
        pages.append(page)
        return page

    yield open_page
    for page in pages:
        page.close()
