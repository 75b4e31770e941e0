"""Portable logical backups of the whole database (`songkhoe backup`, `songkhoe restore`).

One format for both backends, so a SQLite backup restores into PostgreSQL and back: a gzip file
of JSON lines,

    {"format": "songkhoe-backup", "version": 1, "alembic_revision": ..., "created": ...,
     "backend": ..., "tables": {name: [column, ...]}}
    ["table", [value, ...]]                    one line per row, tables in dependency order
    {"counts": {table: rows}, "sha256": ...}   SHA-256 of every byte above this line

Every table of the database (`songkhoe.db.schema.all_tables`) is written (its columns hold
JSON-native values or JSON), read from one snapshot while the app keeps writing: a REPEATABLE READ
READ ONLY transaction on PostgreSQL (https://www.postgresql.org/docs/15/transaction-iso.html), a
read transaction on SQLite in WAL mode (https://sqlite.org/isolation.html). A restore checks the
whole file before it writes anything, then loads it in one transaction: all or nothing.
"""

import gzip
import hashlib
import os
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import (
    JSON,
    Connection,
    Engine,
    String,
    Table,
    Text,
    case,
    cast,
    exists,
    func,
    insert,
    inspect,
    null,
    or_,
    select,
)

from songkhoe.db.bulk import insert_tuples
from songkhoe.db.engine import analyze
from songkhoe.db.migrate import alembic_config, downgrade, upgrade
from songkhoe.db.schema import all_tables
from songkhoe.db.stamps import utc_now
from songkhoe.db.tables import INDEX_TABLES, resource

FORMAT = "songkhoe-backup"
VERSION = 1
CHUNK = 5000  # rows per fetch and per insert batch
COMPRESSION = 3  # gzip level: most of level 9's size at a fraction of its time
STORE_TABLES = {resource, *INDEX_TABLES.values()}  # restored by the fast path, `insert_tuples`
Progress = Callable[[str, int], None]
metadata = all_tables()  # the whole database, not only the tables imported so far


class BackupError(Exception):
    """A backup cannot be written or restored; the message says why in one line."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    alembic_revision: str
    snapshot_at: str
    """UTC timestamp (the store's format) taken just before the snapshot: every write committed
    before it is in the backup, none begun after the backup's first read is."""
    counts: dict[str, int]
    seconds: float

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class RestoreReport:
    header: dict[str, Any]
    counts: dict[str, int]
    seconds: float
    problems: list[str]
    """What `check_integrity` found in the restored database; empty when all is well."""

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


def _is_json(column: Any) -> bool:
    return isinstance(column.type, JSON)


# --- backup -------------------------------------------------------------------------------------


def backup(engine: Engine, out: Path, *, progress: Progress | None = None) -> BackupReport:
    """Write every table to `out` from one snapshot, through `out.partial` renamed at the end, so
    that a crash never leaves a file that looks like a good backup. `progress(table, rows)` is
    called after each fetched chunk."""
    started = time.perf_counter()
    partial = out.with_name(out.name + ".partial")
    try:
        # owner-only: a backup holds personal data and credential hashes
        with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=COMPRESSION, mtime=0) as gz:
                revision, snapshot_at, counts = _write(engine, gz, progress)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, out)
    except OSError as exc:
        raise BackupError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return BackupReport(out, revision, snapshot_at, counts, time.perf_counter() - started)


def _write(
    engine: Engine, gz: gzip.GzipFile, progress: Progress | None
) -> tuple[str, str, dict[str, int]]:
    """Stream the header, the rows and the trailer into `gz` from one read-only snapshot."""
    digest = hashlib.sha256()

    def emit(data: bytes) -> None:
        digest.update(data)
        gz.write(data)

    counts: dict[str, int] = {}
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            snapshot_at = utc_now()
            revision = MigrationContext.configure(conn).get_current_revision()  # takes snapshot
            head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
            if revision != head:  # the tables would not be those of `metadata`
                raise BackupError(
                    f"the database is at revision {revision}, not {head}: "
                    "run `songkhoe db upgrade` first"
                )
            header = {
                "format": FORMAT,
                "version": VERSION,
                "alembic_revision": revision,
                "created": snapshot_at,
                "backend": conn.dialect.name,
                "tables": {
                    str(t.name): [str(c.name) for c in t.columns] for t in metadata.sorted_tables
                },
            }
            emit(orjson.dumps(header, option=orjson.OPT_APPEND_NEWLINE))
            for table in metadata.sorted_tables:
                name = str(table.name)  # orjson takes plain str keys only
                counts[name] = 0
                for lines, rows in _table_lines(conn, table, name):
                    emit(lines)
                    counts[name] += rows
                    if progress is not None:
                        progress(name, counts[name])
    gz.write(orjson.dumps({"counts": counts, "sha256": digest.hexdigest()}) + b"\n")
    return revision, snapshot_at, counts


def _table_lines(conn: Connection, table: Table, name: str) -> Iterator[tuple[bytes, int]]:
    """The backup lines of a table, a chunk at a time (a server-side cursor on PostgreSQL); JSON
    columns travel as their JSON text, never parsed."""
    json_columns = [i for i, c in enumerate(table.columns) if _is_json(c)]
    query = select(*(cast(c, Text) if _is_json(c) else c for c in table.columns))
    result = conn.execute(query, execution_options={"yield_per": CHUNK})
    for chunk in result.partitions():
        lines = []
        for row in chunk:
            values = list(row)
            for i in json_columns:
                if values[i] is not None:
                    values[i] = orjson.Fragment(values[i])
            lines.append(orjson.dumps([name, values], option=orjson.OPT_APPEND_NEWLINE))
        yield b"".join(lines), len(chunk)


# --- reading and checking a backup file ---------------------------------------------------------


def _lines(path: Path) -> Iterator[bytes]:
    """The lines of a backup file; unreadable, non-gzip and damaged files raise BackupError."""
    try:
        with gzip.open(path, "rb") as gz:
            yield from gz
    except (OSError, EOFError, zlib.error) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise BackupError(f"{path} is not a readable backup: {reason}") from None


def verify(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """The header and the row counts of a backup file, after checking its format, version, row
    counts and SHA-256 from end to end; a truncated, altered or foreign file raises BackupError."""
    lines = _lines(path)
    first = next(lines, b"")
    try:
        header = orjson.loads(first)
    except orjson.JSONDecodeError:
        header = None
    if (
        not isinstance(header, dict)
        or header.get("format") != FORMAT
        or not isinstance(header.get("tables"), dict)
    ):
        raise BackupError(f"{path} is not a songkhoe backup")
    if header.get("version") != VERSION:
        raise BackupError(
            f"{path} is a backup of format version {header.get('version')}, "
            f"this songkhoe reads version {VERSION}"
        )
    digest = hashlib.sha256(first)
    counts = {name.encode(): 0 for name in header["tables"]}
    last = None
    for line in lines:
        if last is not None:
            digest.update(last)
            table = last[2 : last.find(b'"', 2)]
            if table not in counts:
                raise BackupError(f"{path} is damaged: a row of an unknown table")
            counts[table] += 1
        last = line
    try:
        trailer = orjson.loads(last or b"")
    except orjson.JSONDecodeError:
        trailer = None
    if not isinstance(trailer, dict) or "sha256" not in trailer:
        raise BackupError(f"{path} is incomplete: its last line is not the trailer")
    found = {name.decode(): n for name, n in counts.items()}
    if trailer["sha256"] != digest.hexdigest() or trailer.get("counts") != found:
        raise BackupError(f"{path} is damaged: its checksum or row counts do not match")
    return header, found


# --- restore ------------------------------------------------------------------------------------


def restore(engine: Engine, path: Path, *, force: bool = False) -> RestoreReport:
    """Load a backup into the database: check the file, refuse a non-empty database unless
    `force` (which empties it), migrate to the backup's revision, insert every row in one
    transaction, then run `check_integrity`."""
    started = time.perf_counter()
    header, counts = verify(path)
    revision = header["alembic_revision"]
    script = ScriptDirectory.from_config(alembic_config(engine))
    try:
        script.get_revision(revision)
    except CommandError:
        raise BackupError(
            f"{path} was made by a newer songkhoe (database revision {revision})"
        ) from None
    tables = [_backup_table(name, columns) for name, columns in header["tables"].items()]
    if not force and not _is_empty(engine):
        raise BackupError("the database is not empty (--force replaces its contents)")
    _migrate(engine, script, revision)
    with engine.begin() as conn:
        if force:
            for table, _columns in reversed(tables):
                conn.execute(table.delete())
        _load(conn, path, tables)
        if conn.dialect.name == "postgresql":
            _reset_sequences(conn, [table for table, _columns in tables])
    analyze(engine)
    return RestoreReport(header, counts, time.perf_counter() - started, check_integrity(engine))


def _backup_table(name: str, columns: list[str]) -> tuple[Table, list[str]]:
    table = metadata.tables.get(name)
    if table is None or not set(columns) <= set(table.columns.keys()):
        raise BackupError(f"the backup's table {name} does not match this songkhoe's tables")
    return table, columns


def _is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        return not any(
            conn.execute(select(1).select_from(table).limit(1)).first()
            for table in metadata.sorted_tables
            if table.name in present
        )


def _migrate(engine: Engine, script: ScriptDirectory, revision: str) -> None:
    """Upgrade the database to `revision`, or downgrade it when it is further along."""
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == revision:
        return
    reached = {r.revision for r in script.iterate_revisions(current, "base")} if current else set()
    if revision in reached:
        downgrade(engine, revision)
    else:
        upgrade(engine, revision)


def _load(conn: Connection, path: Path, tables: list[tuple[Table, list[str]]]) -> None:
    """Insert the rows of the backup, a batch at a time, in the file's (dependency) order."""
    by_name = {table.name: (table, columns) for table, columns in tables}
    batch: list[list] = []
    current = ""
    lines = _lines(path)
    next(lines)  # the header
    for line in lines:
        if line.startswith(b"{"):  # the trailer
            break
        name, values = orjson.loads(line)
        if name != current or len(batch) == CHUNK:
            if batch:
                _insert(conn, *by_name[current], batch)
            batch, current = [], name
        batch.append(values)
    if batch:
        _insert(conn, *by_name[current], batch)


def _reset_sequences(conn: Connection, tables: list[Table]) -> None:
    """PostgreSQL: move each serial/identity sequence past the restored ids, which were inserted
    explicitly and so did not advance it."""
    for table in tables:
        column = table.autoincrement_column
        if column is not None:
            conn.execute(
                select(
                    func.setval(
                        func.pg_get_serial_sequence(table.name, column.name),
                        select(func.coalesce(func.max(column), 0) + 1).scalar_subquery(),
                        False,
                    )
                )
            )


def _insert(conn: Connection, table: Table, columns: list[str], rows: list[list]) -> None:
    """Insert one batch: by `insert_tuples` (COPY on PostgreSQL) when the table is a store table
    with all its columns, by a Core executemany otherwise."""
    json_columns = [i for i, name in enumerate(columns) if _is_json(table.c[name])]
    if table in STORE_TABLES and columns == list(table.columns.keys()):
        for row in rows:
            for i in json_columns:
                if row[i] is not None:
                    row[i] = orjson.dumps(row[i]).decode()
        insert_tuples(conn, table, [tuple(row) for row in rows])
        return
    for row in rows:
        for i in json_columns:
            if row[i] is None:
                row[i] = null()  # SQL NULL, not the JSON value null
    conn.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


# --- integrity ----------------------------------------------------------------------------------


def check_integrity(engine: Engine) -> list[str]:
    """What is wrong with the store's tables, one line per kind of problem (empty when nothing):
    each resource has exactly one current version, its latest; versions run 1..n; index rows
    belong to live current resources; the JSON's id, resourceType and meta.versionId match its
    row; on SQLite, PRAGMA integrity_check."""
    key = (resource.c.res_type, resource.c.res_id)
    current_version = func.max(case((resource.c.is_current, resource.c.version)))
    content = resource.c.content
    checks = [
        (
            "resources without exactly one current version, the latest",
            select(*key)
            .group_by(*key)
            .having(
                or_(
                    func.sum(case((resource.c.is_current, 1), else_=0)) != 1,
                    current_version != func.max(resource.c.version),
                )
            ),
        ),
        (
            "resources whose versions do not run 1..n",
            select(*key)
            .group_by(*key)
            .having(
                or_(
                    func.min(resource.c.version) != 1,
                    func.max(resource.c.version) != func.count(),
                )
            ),
        ),
        (
            "versions whose JSON id, resourceType or meta.versionId differ from the row",
            select(*key).where(
                ~resource.c.deleted,
                or_(
                    content["id"].as_string().is_distinct_from(resource.c.res_id),
                    content["resourceType"].as_string().is_distinct_from(resource.c.res_type),
                    content[("meta", "versionId")]
                    .as_string()
                    .is_distinct_from(cast(resource.c.version, String)),
                ),
            ),
        ),
    ]
    for name, table in INDEX_TABLES.items():
        live = select(resource.c.res_id).where(
            resource.c.res_type == table.c.res_type,
            resource.c.res_id == table.c.res_id,
            # wrapped so that SQLite looks rows up by key, not by ix_resource_current: O(n) not n²
            func.coalesce(resource.c.is_current, False),
            ~resource.c.deleted,
        )
        checks.append(
            (
                f"{name} index rows of no live current resource",
                select(table.c.res_type, table.c.res_id).where(~exists(live)),
            )
        )
    problems = []
    with engine.connect() as conn:
        for what, query in checks:
            count = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            if count:
                example = conn.execute(query.limit(1)).one()
                problems.append(f"{count:,} {what}, e.g. {example[0]}/{example[1]}")
        if conn.dialect.name == "sqlite":
            result = conn.exec_driver_sql("PRAGMA integrity_check").scalars().all()
            if result != ["ok"]:
                problems.append(f"SQLite integrity_check: {'; '.join(result[:3])}")
    return problems
