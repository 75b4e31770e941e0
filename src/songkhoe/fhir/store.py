"""The FHIR R4 resource store: versioned JSON resources with search-index rows, written atomically.

Semantics follow the FHIR RESTful API (http://hl7.org/fhir/R4/http.html): every write makes a new
version; delete writes a version marked deleted; update of an unknown id creates it (update as
create); index rows always describe the current version only. A `Writer` holds one database
transaction, so several writes are all or nothing.
"""

import os
import re
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    and_,
    delete,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from songkhoe.db.bulk import insert_tables
from songkhoe.db.engine import analyze, reading
from songkhoe.db.stamps import STAMP_FORMAT, utc_now
from songkhoe.db.tables import INDEX_TABLES, resource
from songkhoe.fhir.indexing import IndexRows, extract, patient_mentions

ID_PATTERN = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # http://hl7.org/fhir/R4/datatypes.html#id
TYPE_PATTERN = re.compile(r"[A-Z][A-Za-z]{1,63}")


class StoreError(Exception):
    """Base of the store's errors; the message names the resource or the field at fault."""


class InvalidResource(StoreError, ValueError):
    pass


class ResourceNotFound(StoreError, LookupError):
    pass


class ResourceGone(ResourceNotFound):
    """The resource existed and was deleted (HTTP 410)."""


class VersionConflict(StoreError):
    """The write lost a race or named a version that is no longer current (HTTP 409/412)."""


class TransactionConflict(VersionConflict):
    """The database aborted the transaction to break a deadlock or a serialization failure
    with a concurrent one (PostgreSQL SQLSTATE 40P01, 40001); sent again, it may succeed."""


RETRYABLE_SQLSTATES = ("40P01", "40001")  # deadlock_detected, serialization_failure


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    resource_type: str
    id: str
    version: int
    last_updated: str
    deleted: bool
    resource: dict | None


def new_id() -> str:
    """A new resource id: a UUIDv7 (RFC 9562, section 5.7), 48 bits of Unix time in
    milliseconds then 74 random bits. Ids made close in time sort close together, so the B-tree
    indexes keyed by id (the resource table's primary key, each index table's resource index,
    the references to new resources) take a batch of new rows on a few pages at their end rather
    than on a page each across the whole tree. Like meta.lastUpdated of version 1, the id tells
    when the resource was created."""
    bits = int.from_bytes(os.urandom(10)) & 0x0FFF3FFFFFFFFFFFFFFF  # room for version, variant
    value = (time.time_ns() // 1_000_000) << 80 | 0x7 << 76 | 0x2 << 62 | bits
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _check_identity(resource: Any) -> tuple[str, str | None]:
    if not isinstance(resource, dict):
        raise InvalidResource("a resource must be a JSON object")
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not TYPE_PATTERN.fullmatch(resource_type):
        raise InvalidResource(f"resourceType is missing or invalid: {resource_type!r}")
    resource_id = resource.get("id")
    if resource_id is not None and (
        not isinstance(resource_id, str) or not ID_PATTERN.fullmatch(resource_id)
    ):
        raise InvalidResource(f"{resource_type}.id is not a valid FHIR id: {resource_id!r}")
    return resource_type, resource_id


def stamped(resource: dict, resource_id: str, version: int, timestamp: str) -> dict:
    """A copy of the resource with its id and meta.versionId/lastUpdated set."""
    meta = {**resource.get("meta", {}), "versionId": str(version), "lastUpdated": timestamp}
    return {**resource, "id": resource_id, "meta": meta}


def _extract(stored: dict) -> IndexRows:
    try:
        return extract(stored)
    except ValueError as exc:
        raise InvalidResource(f"{stored['resourceType']}/{stored['id']}: {exc}") from None


TABLES = {"resource": resource} | INDEX_TABLES


def table_rows(stored: Sequence[dict], version: int, timestamp: str) -> dict[str, list[tuple]]:
    """The rows that writing these stamped resources adds: one `resource` row each, with its
    JSON, and the index rows of each parameter type (with the Patients named outside the search
    parameters, `patient_mentions`), as tuples in table column order."""
    rows: dict[str, list[tuple]] = {name: [] for name in TABLES}
    versions = rows["resource"]
    token, string, date = rows["token"], rows["string"], rows["date"]
    reference, quantity = rows["reference"], rows["quantity"]
    for res in stored:
        key = (res["resourceType"], res["id"])
        content = orjson.dumps(res)
        versions.append((*key, version, timestamp, True, False, content.decode()))
        index = _extract(res)
        token += [key + row for row in index.token]
        string += [key + row for row in index.string]
        date += [key + row for row in index.date]
        reference += [key + row for row in index.reference]
        reference += [key + row for row in patient_mentions(content, index.reference)]
        quantity += [key + row for row in index.quantity]
    return rows


def insert_rows(conn: Connection, rows: dict[str, list[tuple]]) -> None:
    """Insert the rows of `table_rows` into the store's tables, by the fastest path
    (songkhoe.db.bulk)."""
    insert_tables(conn, [(TABLES[name], batch) for name, batch in rows.items()])


class WriteGuard(Protocol):
    """Checks each write of a transaction before it happens (access control), says what the
    caller may see and search through (for conditional matches), and adds its own resources
    (the audit trail) before the commit."""

    def visible(self, resource_type: str, rows: Any, per_row: bool) -> Any: ...

    def check_chains(self, chained: dict[str, str]) -> None: ...

    def check(
        self,
        writer: "Writer",
        action: str,
        resource_type: str,
        resource_id: str,
        content: dict | None,
    ) -> None: ...

    def finish(self, writer: "Writer") -> None: ...


class Writer:
    """Writes inside one database transaction; obtained from `ResourceStore.transaction()`,
    which begins it on entry or (`begin_on_first_use`) at the first use of `conn`. A write
    computes its ids, JSON and index rows before it uses `conn` to insert them; creates may
    also be staged (`create_many(stage=True)`), their rows then inserted together with those
    staged after them, at the next use of `conn` or at the commit."""

    def __init__(
        self,
        connect: Callable[[], Connection],
        timestamp: str,
        guard: WriteGuard | None = None,
        *,
        dialect: str,
    ) -> None:
        self._connect = connect
        self._dialect = dialect  # the database's: "sqlite" or "postgresql"
        self._conn: Connection | None = None
        self.timestamp = timestamp
        self.guard = guard
        self._staged: dict[str, list[tuple]] = {}
        self._staged_resources: list[dict] = []

    @property
    def conn(self) -> Connection:
        """The connection of the transaction, which its first use begins; the staged rows are
        inserted first, so that what it reads includes them."""
        conn = self.begin()
        self.flush()
        return conn

    def begin(self) -> Connection:
        """Begin the database transaction (on SQLite: take the write lock), if not begun yet."""
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def flush(self) -> None:
        """Insert the staged rows: one statement per table for all of them."""
        if self._staged_resources:
            rows, stored = self._staged, self._staged_resources
            self._staged, self._staged_resources = {}, []
            self._insert(rows, stored)

    def prepare(
        self, resources: Iterable[dict], *, check: bool = True
    ) -> tuple[list[dict], dict[str, list[tuple]]]:
        """New resources stamped as version 1 (keeping a given id or assigning one), checked by
        the guard unless `check=False`, and their rows (`table_rows`); nothing is written."""
        stored = []
        for res in resources:
            resource_type, resource_id = _check_identity(res)
            stored.append(stamped(res, resource_id or new_id(), 1, self.timestamp))
        if self.guard is not None and check:
            for res in stored:
                self.guard.check(self, "create", res["resourceType"], res["id"], res)
        return stored, table_rows(stored, 1, self.timestamp)

    def create_many(
        self, resources: Iterable[dict], *, check: bool = True, stage: bool = False
    ) -> list[dict]:
        """Insert new resources as version 1 (`prepare`); `check=False` skips the guard (for the
        guard's own audit resources); `stage` keeps their rows to insert with the next ones
        (`flush`): a conflicting id is then reported by the statement that inserts them."""
        stored, rows = self.prepare(resources, check=check)
        if stage:
            for name, batch in rows.items():
                self._staged.setdefault(name, []).extend(batch)
            self._staged_resources += stored
        else:
            self._insert(rows, stored)
        return stored

    def create(self, res: dict) -> dict:
        return self.create_many([res])[0]

    def update(self, res: dict, *, if_match: int | None = None) -> dict:
        """Write a new version; an unknown or deleted id is (re)created unless `if_match` expects
        a live version."""
        resource_type, resource_id = _check_identity(res)
        if resource_id is None:
            raise InvalidResource(f"{resource_type}.id is required for an update")
        current = self._current(resource_type, resource_id)  # locks it before the guard looks
        if self.guard is not None:
            self.guard.check(self, "update", resource_type, resource_id, res)
        live_version = current.version if current is not None and not current.deleted else None
        if if_match is not None and if_match != live_version:
            raise VersionConflict(
                f"{resource_type}/{resource_id} is at version {live_version}, not {if_match}"
            )
        version = current.version + 1 if current is not None else 1
        stored = stamped(res, resource_id, version, self.timestamp)
        if current is not None:
            self._retire(resource_type, resource_id)
        self._insert(table_rows([stored], version, self.timestamp), [stored])
        return stored

    def delete(self, resource_type: str, resource_id: str) -> int:
        """Write a deleted version and drop the index rows; returns the new version number."""
        current = self._current(resource_type, resource_id)  # locks it before the guard looks
        if self.guard is not None:
            self.guard.check(self, "delete", resource_type, resource_id, None)
        if current is None:
            raise ResourceNotFound(f"{resource_type}/{resource_id} does not exist")
        if current.deleted:
            return current.version
        self._retire(resource_type, resource_id)
        deletion = (
            resource_type,
            resource_id,
            current.version + 1,
            self.timestamp,
            True,
            True,
            None,
        )
        insert_rows(self.conn, {"resource": [deletion]})
        return current.version + 1

    def _insert(self, rows: dict[str, list[tuple]], stored: Sequence[dict]) -> None:
        """Insert the rows of `table_rows(stored, ...)`, after the staged ones."""
        conn = self.conn
        try:
            insert_rows(conn, rows)
        except (IntegrityError, conn.dialect.loaded_dbapi.IntegrityError):  # COPY: DB-API's
            raise VersionConflict(
                "a resource with the same type and id already exists "
                f"(first in batch: {stored[0]['resourceType']}/{stored[0]['id']})"
            ) from None

    def lock(self, key: str) -> None:
        """Hold the lock named `key` until the transaction ends, so that the transactions that
        take it run one after the other: SQLite's BEGIN IMMEDIATE, at the first use of `conn`,
        holds the database's write lock for the whole transaction (so the transaction does not
        begin for this); PostgreSQL takes a transaction-scoped advisory lock on a hash of the key
        (a row lock would not do: what is locked may not exist yet, or stop being current when
        the other writer commits)."""
        if self._dialect == "postgresql":
            self.conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
            )

    def lock_resource(self, resource_type: str, resource_id: str) -> None:
        """Hold the lock of one resource, the one its update or delete takes; a transaction that
        writes several takes theirs first, in sorted order, so that two such transactions
        cannot deadlock."""
        self.lock(f"{resource_type}/{resource_id}")

    def _current(self, resource_type: str, resource_id: str) -> Any:
        """The current version row (version, deleted), or None if absent; concurrent writers of
        one resource queue on its lock."""
        self.lock_resource(resource_type, resource_id)
        return self.conn.execute(
            select(resource.c.version, resource.c.deleted).where(
                resource.c.res_type == resource_type,
                resource.c.res_id == resource_id,
                resource.c.is_current,
            )
        ).first()

    def _retire(self, resource_type: str, resource_id: str) -> None:
        self.conn.execute(
            update(resource)
            .where(
                resource.c.res_type == resource_type,
                resource.c.res_id == resource_id,
                resource.c.is_current,
            )
            .values(is_current=False)
        )
        for table in INDEX_TABLES.values():
            self.conn.execute(
                delete(table).where(
                    table.c.res_type == resource_type, table.c.res_id == resource_id
                )
            )


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error, raised through SQLAlchemy (`orig`) or by the driver
    itself (COPY); None for other errors."""
    return getattr(getattr(exc, "orig", exc), "sqlstate", None)


def _sqlite_begin(conn: Connection) -> None:
    """SQLite: writers take the write lock up front (BEGIN IMMEDIATE) so that two writers queue
    on the busy timeout instead of failing mid-transaction; readers use a plain BEGIN."""
    mode = "IMMEDIATE" if conn.get_execution_options().get("songkhoe_write") else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")


def _sqlite_autocommit_driver(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _sqlite_begin)


_SQLITE_WRITE_LOCKS: "weakref.WeakKeyDictionary[Engine, threading.RLock]" = (
    weakref.WeakKeyDictionary()
)


def _sqlite_write_lock(engine: Engine) -> threading.RLock:
    """The lock that the store's write transactions on this SQLite engine take in turn within
    the process. SQLite lets one writer in at a time; without this lock the others would poll
    for the database's write lock with growing sleeps (up to 100 ms each,
    https://sqlite.org/c3ref/busy_timeout.html) and start late, while with it the next one starts
    as soon as the last one ends. Other processes still queue on the busy timeout. Re-entrant:
    a transaction opened inside another on the same thread waits for SQLite's lock, as before,
    and fails after the busy timeout rather than hanging."""
    return _SQLITE_WRITE_LOCKS.setdefault(engine, threading.RLock())


class WritesInFlight:
    """The timestamps of the write transactions open in this process on one database. A write
    is stamped when its transaction starts and commits later, so a reader that began meanwhile
    misses it although its stamp is older; `settled_until` tells such a reader up to when it
    saw everything. Writes of other processes on the same database (a `songkhoe fhir import`
    beside the server) are not counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: Counter[str] = Counter()

    @contextmanager
    def stamp(self) -> Iterator[str]:
        """The timestamp of a write transaction, counted as open until the block ends."""
        with self._lock:
            timestamp = utc_now()
            self._open[timestamp] += 1
        try:
            yield timestamp
        finally:
            with self._lock:
                self._open[timestamp] -= 1
                if not self._open[timestamp]:
                    del self._open[timestamp]

    def settled_until(self) -> str:
        """Now, or the instant before the oldest open write's stamp: every write stamped up to
        it has committed, and every write not yet committed gets a later stamp."""
        with self._lock:
            if not self._open:
                return utc_now()
            oldest = datetime.strptime(min(self._open), STAMP_FORMAT)
        return (oldest - timedelta(microseconds=1)).strftime(STAMP_FORMAT)


_WRITES_IN_FLIGHT: "weakref.WeakKeyDictionary[Engine, WritesInFlight]" = weakref.WeakKeyDictionary()


class ResourceStore:
    """Create, read, vread, update, delete and history of FHIR resources in one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.writes_in_flight = _WRITES_IN_FLIGHT.setdefault(engine, WritesInFlight())
        self._write_lock: AbstractContextManager = nullcontext()
        if engine.dialect.name == "sqlite":
            self._write_lock = _sqlite_write_lock(engine)
            if not event.contains(engine, "begin", _sqlite_begin):
                event.listen(engine, "connect", _sqlite_autocommit_driver)
                event.listen(engine, "begin", _sqlite_begin)

    @contextmanager
    def transaction(
        self, guard: WriteGuard | None = None, *, begin_on_first_use: bool = False
    ) -> Iterator[Writer]:
        """One all-or-nothing transaction: an exception inside the block writes nothing. A
        guard checks every write and adds its own resources before the commit; the rows still
        staged then go in (`Writer.flush`), and the transaction commits. A transaction
        the database aborts for a deadlock or serialization failure raises TransactionConflict
        (HTTP 409: send it again).

        The database transaction begins (on SQLite: the write lock is taken) on entry, so that
        reads through other connections inside the block see no other writer's commits; or,
        with `begin_on_first_use`, when the block first uses `writer.conn`, for a block that
        reads only through it: what the block computes before (validated input turned into
        index rows and JSON) then overlaps the transactions of other requests instead of
        queueing behind them. The timestamp of the writes is taken on entry either way: like
        PostgreSQL's transaction_timestamp(), the time the transaction started."""
        try:
            with self.writes_in_flight.stamp() as timestamp, ExitStack() as stack:

                def connect() -> Connection:
                    stack.enter_context(self._write_lock)
                    conn = stack.enter_context(self.engine.connect())
                    conn.execution_options(songkhoe_write=True)
                    stack.enter_context(conn.begin())
                    return conn

                writer = Writer(connect, timestamp, guard, dialect=self.engine.dialect.name)
                if not begin_on_first_use:
                    writer.begin()
                yield writer
                if guard is not None:
                    guard.finish(writer)
                writer.flush()
        except Exception as exc:
            if _sqlstate(exc) not in RETRYABLE_SQLSTATES:
                raise
            raise TransactionConflict(
                "the transaction conflicted with a concurrent one and was rolled back; retry it"
            ) from exc

    def create(self, res: dict, *, guard: WriteGuard | None = None) -> dict:
        with self.transaction(guard) as writer:
            return writer.create(res)

    def create_many(self, resources: Iterable[dict]) -> list[dict]:
        with self.transaction() as writer:
            return writer.create_many(resources)

    def update(
        self, res: dict, *, if_match: int | None = None, guard: WriteGuard | None = None
    ) -> dict:
        with self.transaction(guard) as writer:
            return writer.update(res, if_match=if_match)

    def delete(
        self, resource_type: str, resource_id: str, *, guard: WriteGuard | None = None
    ) -> int:
        with self.transaction(guard) as writer:
            return writer.delete(resource_type, resource_id)

    def read(self, resource_type: str, resource_id: str) -> dict:
        return self._fetch(resource_type, resource_id, resource.c.is_current)

    def vread(self, resource_type: str, resource_id: str, version: int) -> dict:
        return self._fetch(resource_type, resource_id, resource.c.version == version)

    def _fetch(self, resource_type: str, resource_id: str, which: Any) -> dict:
        with reading(self.engine) as conn:
            row = conn.execute(
                select(resource.c.deleted, resource.c.content).where(
                    resource.c.res_type == resource_type, resource.c.res_id == resource_id, which
                )
            ).first()
        name = f"{resource_type}/{resource_id}"
        if row is None:
            raise ResourceNotFound(f"{name} does not exist (or not in that version)")
        if row.deleted:
            raise ResourceGone(f"{name} was deleted")
        return row.content

    def history(
        self,
        resource_type: str,
        resource_id: str | None = None,
        *,
        since: str | None = None,
        limit: int | None = None,
    ) -> list[HistoryEntry]:
        """Versions newest first: of one resource, or with no id of every resource of the type;
        `since` keeps versions written at or after that UTC timestamp."""
        query = select(resource).where(resource.c.res_type == resource_type)
        if resource_id is not None:
            query = query.where(resource.c.res_id == resource_id)
        if since is not None:
            query = query.where(resource.c.last_updated >= since)
        query = query.order_by(resource.c.last_updated.desc(), resource.c.version.desc())
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit)).all()
        if not rows and resource_id is not None and since is None:
            raise ResourceNotFound(f"{resource_type}/{resource_id} does not exist")
        return [
            HistoryEntry(r.res_type, r.res_id, r.version, r.last_updated, r.deleted, r.content)
            for r in rows
        ]

    def analyze(self) -> None:
        """Refresh the query planner's statistics (songkhoe.db.engine.analyze)."""
        analyze(self.engine)

    def count_by_type(self) -> dict[str, int]:
        """Number of live (current, not deleted) resources of each type."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(resource.c.res_type, func.count())
                .where(and_(resource.c.is_current, ~resource.c.deleted))
                .group_by(resource.c.res_type)
                .order_by(resource.c.res_type)
            ).all()
        return {res_type: count for res_type, count in rows}
