"""Engine creation for the embedded SQLite default and the PostgreSQL production backend."""

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from songkhoe.config import sqlite_path

logger = logging.getLogger(__name__)


class DatabaseUnavailable(RuntimeError):
    """The database named by the URL cannot be reached or the URL is not understood."""


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(database_url: str) -> Engine:
    """An engine with orjson (de)serialisation; SQLite gets WAL, NORMAL sync, a busy timeout
    (`_sqlite_pragmas`) and checkpoints on a thread of their own (`Checkpointer`).

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
        if path is not None:
            Checkpointer(path).install(engine)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL with synchronous=NORMAL: a commit appends to the log without fsync, so the last
    commits before a power cut may be lost but the database is never corrupted
    (https://sqlite.org/pragma.html#pragma_synchronous). The log is copied into the database
    file by checkpoints (https://sqlite.org/wal.html#checkpointing), which write the pages and
    fsync: the `Checkpointer` runs them after commits; should it fall behind, the commit that
    takes the log past `wal_autocheckpoint` pages runs one itself: 10,000 pages (40 MB) rather
    than SQLite's 1,000, because a FHIR transaction of a few hundred resources writes some 4,000
    pages, and a checkpoint per commit would write each page twice and fsync every time. When
    and where checkpoints run does not change what a commit guarantees. After a checkpoint the
    log file is cut back to 64 MB (`journal_size_limit`)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA cache_size=-131072")  # 128 MiB: the index B-trees of bulk loads
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.execute("PRAGMA journal_size_limit=67108864")
    cursor.close()


class Checkpointer:
    """Runs SQLite's PASSIVE checkpoints on a thread of its own, woken when a connection that
    committed goes back to the pool, so that a request does not wait for the checkpoint's page
    writes and fsyncs; Python's sqlite3 releases the GIL while SQLite works, so requests go on
    meanwhile. A PASSIVE checkpoint never blocks readers or writers: it copies what no reader
    still needs and leaves the rest to the next one
    (https://sqlite.org/c3ref/wal_checkpoint_v2.html). The thread starts with the first write
    and ends when the engine is disposed (a later write starts another)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.wake = threading.Event()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.stopping = False
        self.written = False  # a commit since the last wake

    def install(self, engine: Engine) -> None:
        event.listen(engine, "commit", self._committed)
        event.listen(engine, "checkin", self._checked_in)
        event.listen(engine, "engine_disposed", self._stop)

    def _committed(self, _connection: Any) -> None:
        self.written = True  # (the event comes before the commit itself: wake at check-in)

    def _checked_in(self, _dbapi_connection: Any, _record: Any) -> None:
        if not self.written:
            return
        self.written = False
        with self.lock:
            if self.thread is None and not self.stopping:
                self.thread = threading.Thread(target=self._run, name="sqlite-checkpoint")
                self.thread.daemon = True
                self.thread.start()
        self.wake.set()

    def _stop(self, _engine: Any) -> None:
        with self.lock:
            self.stopping, thread = True, self.thread
        self.wake.set()
        if thread is not None:
            thread.join()
        with self.lock:
            self.stopping, self.thread = False, None

    def _run(self) -> None:
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            while True:
                self.wake.wait()
                self.wake.clear()
                if self.stopping:
                    return
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # the next commit's checkpoint tries again
                    logger.warning("SQLite checkpoint of %s failed: %s", self.path, exc)
        finally:
            connection.close()


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
