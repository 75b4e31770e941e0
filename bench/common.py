"""Shared set-up for the benchmarks: fresh migrated databases on SQLite and, when reachable,
PostgreSQL (SONGKHOE_BENCH_POSTGRES_URL, default the local server's `test` database)."""

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
