"""Engine creation for the embedded SQLite default and the PostgreSQL production backend."""

import logging
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, text
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
        # No server-side prepared statements: psycopg prepares a query run 5 times on one
        # connection, and PostgreSQL then may keep one generic plan for every parameter value.
        # A search's best plan depends on its values (a person's id against a common code):
        # Observation?patient=&code= took 6.4 s with the generic plan, 0.8 ms with its own.
        connect_args["prepare_threshold"] = None
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


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads outside any write. On PostgreSQL it runs in autocommit: a query
    costs one round trip to the server instead of three (BEGIN, the query, the ROLLBACK that
    returns the connection to the pool), and each statement still sees what was committed
    when it began, as it would inside a transaction at READ COMMITTED, PostgreSQL's default
    (https://www.postgresql.org/docs/15/transaction-iso.html#XACT-READ-COMMITTED). On SQLite
    a plain connection: its deferred read transaction gives all its statements one snapshot,
    with nothing to wait for."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL with synchronous=NORMAL: a commit appends to the log without fsync, so the last
    commits before a power cut may be lost but the database is never corrupted
    (https://sqlite.org/pragma.html#pragma_synchronous). The log is copied into the database
    file by checkpoints (https://sqlite.org/wal.html#checkpointing), which write the pages and
    fsync: the `Checkpointer` runs them after commits; should it fall behind, the commit that
    takes the log past `wal_autocheckpoint` pages runs one itself: 10,000 pages (40 MB) rather
    than SQLite's 1,000, because a FHIR transaction of a few hundred resources writes some 2,500
    pages, and a checkpoint per commit would write each page twice and fsync every time. When
    and where checkpoints run does not change what a commit guarantees. After a checkpoint the
    log file is cut back to 64 MB (`journal_size_limit`).

    `temp_store=MEMORY` also keeps the sub-journal in memory (SQLite's pager.c opens it in
    memory when temporary files are, tests/db/test_sqlite_journal.py): the original of each
    page that a statement or savepoint changes, kept to roll back to it, otherwise written to
    a temporary file past 64 KiB (https://sqlite.org/tempfiles.html, statement journals). A
    FHIR transaction Bundle changes some 2,500 existing pages, so that file took as many page
    writes again as its commit: with it, the requests' file writes were 17 % of the server's
    CPU time in a two-client ingest, without it 7 %, and ingest went from 6,160 to 6,890
    resources/s (bench/fhir_api.py's bundles on 100,000 people, three rounds each). The
    sub-journal is emptied when the statement or outermost savepoint ends, so it holds at most
    what one of them changes: a statement inserts one table's rows of a Bundle, or of CHUNK
    resources in songkhoe.fhir.bulk."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.execute("PRAGMA cache_size=-131072")  # 128 MiB: the index B-trees of bulk loads
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.execute("PRAGMA journal_size_limit=67108864")
    cursor.close()


class Checkpointer:
    """Runs SQLite's PASSIVE checkpoints on a thread of its own, woken when a connection whose
    transaction wrote rows and committed goes back to the pool, so that a request does not wait
    for the checkpoint's page writes and fsyncs; Python's sqlite3 releases the GIL while SQLite
    works, so requests go on meanwhile. A PASSIVE checkpoint never blocks readers or writers: it
    copies what no reader still needs and leaves the rest to the next one
    (https://sqlite.org/c3ref/wal_checkpoint_v2.html).

    The thread starts with the first write and ends when the engine is disposed or garbage
    collected, or after `idle_s` without a write (the next write starts another), so engines
    that are never disposed do not keep a thread and a file open. A failure (the file gone, a
    disk error) is logged once, retried at the first write after a growing pause (`backoff_s`),
    and its end logged; meanwhile `wal_autocheckpoint` still bounds the log."""

    idle_s = 30.0
    backoff_s = (1.0, 60.0)  # first pause after a failure, longest pause
    _pending = "songkhoe_checkpoint_pending"  # pool record info: a write committed
    _changes = "songkhoe_checkpoint_changes"  # pool record info: total_changes at BEGIN

    def __init__(self, path: Path) -> None:
        self.path = path
        self.uri = f"{path.absolute().as_uri()}?mode=rw"  # never creates the file
        self.wake = threading.Event()
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def install(self, engine: Engine) -> None:
        event.listen(engine, "begin", self._began)
        event.listen(engine, "commit", self._committing)
        event.listen(engine, "checkin", self._checked_in)
        event.listen(engine, "engine_disposed", self._dispose)
        weakref.finalize(engine, self.stop)

    def _began(self, connection: Connection) -> None:
        pooled = connection.connection
        pooled.info[self._changes] = pooled.dbapi_connection.total_changes

    def _committing(self, connection: Connection) -> None:
        """The event comes just before the commit: mark the pooled connection, and let check-in,
        after the commit, wake the thread. A read-only transaction changed no rows (nor does
        DDL alone: `wal_autocheckpoint` covers it); a commit that fails costs one idle wake."""
        pooled = connection.connection
        if pooled.dbapi_connection.total_changes != pooled.info.get(self._changes):
            pooled.info[self._pending] = True

    def _checked_in(self, _dbapi_connection: Any, record: Any) -> None:
        if record is None or not record.info.pop(self._pending, False):
            return
        with self.lock:
            if self.stopped.is_set():
                return
            self.wake.set()
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(
                    target=self._run, name=f"sqlite-checkpoint {self.path}", daemon=True
                )
                self.thread.start()

    def stop(self) -> None:
        """Ask the thread to end, without waiting for it."""
        with self.lock:
            self.stopped.set()
            self.wake.set()

    def _dispose(self, _engine: Any) -> None:
        """Stop and wait for the thread; a later write on the engine starts another."""
        self.stop()
        with self.lock:
            thread = self.thread
        if thread is not None:
            thread.join()
        with self.lock:
            self.thread = None
            self.stopped.clear()
            self.wake.clear()

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        failing, pause = False, self.backoff_s[0]
        try:
            while self.wake.wait(self.idle_s) or not self._idle_exit():
                self.wake.clear()
                if self.stopped.is_set():
                    return
                try:
                    if connection is None:
                        connection = self._connect()
                    self._checkpoint(connection)
                except Exception as exc:  # noqa: BLE001 - the thread must outlive any failure
                    if not failing:
                        logger.warning("SQLite checkpoints of %s fail: %s", self.path, exc)
                    failing = True
                    if connection is not None:
                        connection.close()
                        connection = None
                    self.stopped.wait(pause)
                    pause = min(pause * 2, self.backoff_s[1])
                    continue  # the next write after the pause tries again
                if failing:
                    logger.warning("SQLite checkpoints of %s work again", self.path)
                failing, pause = False, self.backoff_s[0]
        finally:
            if connection is not None:
                connection.close()

    def _idle_exit(self) -> bool:
        """After `idle_s` without a wake: end the thread unless a wake came meanwhile."""
        with self.lock:
            if self.wake.is_set():
                return False
            self.thread = None
            return True

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.uri, uri=True, isolation_level=None, check_same_thread=False)

    def _checkpoint(self, connection: sqlite3.Connection) -> None:
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def analyze(engine: Engine) -> None:
    """Refresh the query planner's statistics, after a bulk load or at start-up: without
    them SQLite cannot tell that a resource id is more selective than a common code.
    SQLite samples (analysis_limit, https://sqlite.org/lang_analyze.html#approx) so this
    stays quick on a large database."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA analysis_limit=2000")
        conn.exec_driver_sql("ANALYZE")


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
