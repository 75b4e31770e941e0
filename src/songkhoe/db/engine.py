"""Engine creation for the embedded SQLite default and the PostgreSQL production backend."""

from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from songkhoe.config import sqlite_path


class DatabaseUnavailable(RuntimeError):
    """The database named by the URL cannot be reached or the URL is not understood."""


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(database_url: str) -> Engine:
    """An engine with orjson (de)serialisation; SQLite gets WAL, NORMAL sync, a busy timeout and
    a checkpoint every 40 MB of log (`_sqlite_pragmas`).

    WAL lets the web app read while a writer works (https://sqlite.org/wal.html).
    """
    path = sqlite_path(database_url)
    connect_args: dict[str, Any] = {}
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnavailable(f"cannot create {path.parent}: {exc.strerror}") from None
    elif database_url.startswith("postgresql"):
        connect_args["connect_timeout"] = 5
    try:
        engine = create_engine(
            database_url,
            connect_args=connect_args,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
        )
    except (ArgumentError, NoSuchModuleError) as exc:
        raise DatabaseUnavailable(f"database URL not understood: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL with synchronous=NORMAL: a commit appends to the log without fsync, so the last
    commits before a power cut may be lost but the database is never corrupted
    (https://sqlite.org/pragma.html#pragma_synchronous). The log is copied into the database
    file (a checkpoint, with its fsyncs) by the commit that takes it past `wal_autocheckpoint`
    pages: 10,000 pages (40 MB) rather than SQLite's 1,000, because a FHIR transaction of a few
    hundred resources writes some 4,000 pages, and one checkpoint per commit would write each
    page twice and fsync every time, where one per few commits writes the pages they share
    once. How often it checkpoints does not change what a commit guarantees. After a checkpoint
    the log file is cut back to 64 MB (`journal_size_limit`)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA cache_size=-131072")  # 128 MiB: the index B-trees of bulk loads
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.execute("PRAGMA journal_size_limit=67108864")
    cursor.close()


def check_connection(engine: Engine) -> None:
    """Raise DatabaseUnavailable, with a one-line reason and no password, if the database is out
    of reach."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "connection failed"
        url = engine.url.render_as_string(hide_password=True)
        raise DatabaseUnavailable(f"cannot reach database {url}: {reason}") from None
