"""Shared set-up for the benchmarks: fresh migrated databases on SQLite and, when reachable,
PostgreSQL (SONGKHOE_BENCH_POSTGRES_URL, default the local server's `test` database)."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from songkhoe.db.engine import make_engine
from songkhoe.db.migrate import upgrade

POSTGRES_URL = os.environ.get(
    "SONGKHOE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def fresh_sqlite() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        upgrade(engine)
        yield engine
        engine.dispose()


@contextmanager
def fresh_postgres() -> Iterator[Engine]:
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"songkhoe_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(admin.url.set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_available() -> bool:
    try:
        with create_engine(POSTGRES_URL).connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError:
        return False
    return True


def backends() -> list[tuple[str, object]]:
    """(name, context manager factory) for every backend this machine can run."""
    found: list[tuple[str, object]] = [("sqlite", fresh_sqlite)]
    if postgres_available():
        found.append(("postgresql", fresh_postgres))
    else:
        print(f"(PostgreSQL not reachable at {POSTGRES_URL}: skipped)")
    return found


@contextmanager
def served(engine: Engine) -> Iterator[str]:
    """The base URL of `songkhoe serve` (the production server: uvicorn, its process settings
    from songkhoe.runtime, the app's threads) running in a process of its own over the
    engine's database; stopped on exit. Requests then cross a real socket, as a client's do."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(
        os.environ,
        SONGKHOE_DATABASE_URL=engine.url.render_as_string(hide_password=False),
        SONGKHOE_HOST="127.0.0.1",
        SONGKHOE_PORT=str(port),
        SONGKHOE_RATE_LIMIT_PER_MINUTE="0",  # one client sends every request
    )
    command = [str(Path(sys.executable).with_name("songkhoe")), "serve"]
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(3000):  # start-up migrates and analyzes a large database
                if server.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"songkhoe serve exited:\n{log.read().decode()[-2000:]}")
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                raise RuntimeError("songkhoe serve did not answer /healthz within 5 minutes")
            yield base
        finally:
            server.terminate()
            server.wait(timeout=30)
