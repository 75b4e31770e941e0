"""Backup and restore: identical tables after a round trip on and across backends, damaged files
refused before anything is written, and a consistent snapshot while a writer keeps committing."""

import gzip
import hashlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select

from songkhoe.db import backup as backup_module
from songkhoe.db.backup import BackupError, backup, restore, verify
from songkhoe.db.engine import make_engine
from songkhoe.db.migrate import upgrade
from songkhoe.db.tables import metadata, resource
from songkhoe.fhir.store import TABLES, ResourceNotFound, ResourceStore, utc_now

POSTGRES_URL = os.environ.get("SONGKHOE_TEST_POSTGRES_URL")


@pytest.fixture
def fresh(database_url: str, new_database_url) -> Iterator[ResourceStore]:
    """A store over a new database of the same backend as `store`, with no tables yet."""
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    with new_database_url(kind) as url:
        engine = make_engine(url)
        yield ResourceStore(engine)
        engine.dispose()


def _fill(store: ResourceStore, patients: int = 40) -> None:
    """Patients with observations; some updated twice, one deleted."""
    created = store.create_many(
        [{"resourceType": "Patient", "id": f"p{i}", "gender": "female"} for i in range(patients)]
    )
    store.create_many(
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
            "subject": {"reference": f"Patient/{p['id']}"},
            "effectiveDateTime": "2026-05-01",
            "valueQuantity": {"value": 120.5 + i, "unit": "mm[Hg]"},
        }
        for i, p in enumerate(created)
    )
    for p in created[:5]:
        store.update({**p, "gender": "male"})
        store.update({**p, "birthDate": "1960-01-01"})
    store.delete("Patient", created[-1]["id"])


def _contents(engine: Engine) -> dict[str, list[bytes]]:
    """Every table's rows, canonical and sorted, for comparing two databases."""
    with engine.connect() as conn:
        return {
            table.name: sorted(
                orjson.dumps(list(row), option=orjson.OPT_SORT_KEYS)
                for row in conn.execute(select(table))
            )
            for table in metadata.sorted_tables
        }


@pytest.mark.parametrize("fast", [True, False], ids=["insert_tuples", "core_insert"])
def test_backup_then_restore_gives_identical_tables(store, fresh, tmp_path, monkeypatch, fast):
    _fill(store)
    report = backup(store.engine, tmp_path / "b.gz")
    assert report.counts["resource"] == 40 + 40 + 10 + 1
    assert oct((tmp_path / "b.gz").stat().st_mode)[-3:] == "600"
    if not fast:  # as for tables that are not the store's
        monkeypatch.setattr(backup_module, "STORE_TABLES", set())
    restored = restore(fresh.engine, tmp_path / "b.gz")
    assert restored.problems == []
    assert restored.counts == report.counts
    assert restored.header["created"] == report.snapshot_at
    assert _contents(fresh.engine) == _contents(store.engine)
    assert fresh.read("Patient", "p0")["birthDate"] == "1960-01-01"


def _damaged(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "one byte altered":
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :])
    elif how == "row edited":  # still a valid gzip file: only the checksum can tell
        path.write_bytes(gzip.compress(gzip.decompress(data).replace(b'"p1"', b'"p9"', 1)))
    elif how == "no trailer":
        lines = gzip.decompress(data).splitlines(keepends=True)
        path.write_bytes(gzip.compress(b"".join(lines[:-1])))
    elif how == "not gzip":
        path.write_text("hello\n")
    else:  # gzip, but not a backup
        path.write_bytes(gzip.compress(b'{"resourceType": "Patient"}\n'))


@pytest.mark.parametrize(
    "how",
    ["truncated", "one byte altered", "row edited", "no trailer", "not gzip", "gzip json"],
)
def test_damaged_or_foreign_files_are_refused_before_any_write(store, tmp_path, how):
    _fill(store, patients=10)
    path = tmp_path / "b.gz"
    backup(store.engine, path)
    _damaged(path, how)
    before = _contents(store.engine)
    with pytest.raises(BackupError) as info:
        restore(store.engine, path, force=True)
    assert "\n" not in str(info.value)
    assert _contents(store.engine) == before


def test_a_non_empty_database_is_replaced_only_with_force(store, tmp_path):
    _fill(store, patients=10)
    path = tmp_path / "b.gz"
    backup(store.engine, path)
    store.create({"resourceType": "Patient", "id": "later"})
    with pytest.raises(BackupError, match="not empty"):
        restore(store.engine, path)
    assert store.read("Patient", "later")
    assert restore(store.engine, path, force=True).problems == []
    with pytest.raises(ResourceNotFound):
        store.read("Patient", "later")
    assert store.read("Patient", "p0")


def test_a_failed_backup_leaves_no_file(store, tmp_path):
    _fill(store, patients=10)

    def crash(_table: str, _rows: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backup(store.engine, tmp_path / "b.gz", progress=crash)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(BackupError, match="cannot write"):
        backup(store.engine, tmp_path / "missing" / "b.gz")


def test_only_a_database_at_the_head_revision_is_backed_up(fresh, tmp_path):
    upgrade(fresh.engine, "0002")
    with pytest.raises(BackupError, match="db upgrade"):
        backup(fresh.engine, tmp_path / "b.gz")


def _as_revision_0002(path: Path) -> None:
    """Rewrite a backup as one made at revision 0002, when only the store's tables existed."""
    header, *rows, _trailer = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    fields = orjson.loads(header)
    kept = {table.name for table in TABLES.values()}
    fields["alembic_revision"] = "0002"
    fields["tables"] = {name: cols for name, cols in fields["tables"].items() if name in kept}
    body = orjson.dumps(fields) + b"\n" + b"".join(rows)
    counts = {name: 0 for name in fields["tables"]}
    for row in rows:
        counts[orjson.loads(row)[0]] += 1
    trailer = {"counts": counts, "sha256": hashlib.sha256(body).hexdigest()}
    path.write_bytes(gzip.compress(body + orjson.dumps(trailer) + b"\n"))


def test_an_older_backup_takes_the_database_back_to_its_revision(store, fresh, tmp_path):
    _fill(store, patients=10)
    path = tmp_path / "b.gz"
    backup(store.engine, path)
    _as_revision_0002(path)
    upgrade(fresh.engine)
    assert restore(fresh.engine, path).problems == []
    with fresh.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == "0002"
    assert fresh.read("Patient", "p0")["birthDate"] == "1960-01-01"


@pytest.mark.skipif(not POSTGRES_URL, reason="SONGKHOE_TEST_POSTGRES_URL is not set")
def test_sqlite_backup_restores_into_postgresql_and_back(tmp_path, new_database_url):
    with (
        new_database_url("sqlite") as sqlite_url,
        new_database_url("postgresql") as postgres_url,
        new_database_url("sqlite") as again_url,
    ):
        engines = [make_engine(url) for url in (sqlite_url, postgres_url, again_url)]
        source, postgres, again = (ResourceStore(engine) for engine in engines)
        upgrade(source.engine)
        _fill(source)
        backup(source.engine, tmp_path / "sqlite.gz")
        assert restore(postgres.engine, tmp_path / "sqlite.gz").problems == []
        backup(postgres.engine, tmp_path / "postgres.gz")
        assert verify(tmp_path / "postgres.gz")[0]["backend"] == "postgresql"
        assert restore(again.engine, tmp_path / "postgres.gz").problems == []
        expected = _contents(source.engine)
        assert _contents(postgres.engine) == expected
        assert _contents(again.engine) == expected
        for engine in engines:
            engine.dispose()


class _Writer(threading.Thread):
    """Commits Patient creates and updates one after another, recording each write's
    (id, version, begun, committed) once the commit has returned."""

    def __init__(self, store: ResourceStore) -> None:
        super().__init__(daemon=True)
        self.store = store
        self.stop = threading.Event()
        self.writes: list[tuple[str, int, str, str]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for i in range(100_000):
                if self.stop.is_set():
                    return
                res_id = f"w{i // 2}"
                begun = utc_now()
                stored = (self.store.create if i % 2 == 0 else self.store.update)(
                    {"resourceType": "Patient", "id": res_id, "gender": "other"}
                )
                self.writes.append((res_id, int(stored["meta"]["versionId"]), begun, utc_now()))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc


def _wait_for(condition, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_backup_under_write_load_is_a_consistent_snapshot(store, fresh, tmp_path):
    _fill(store, patients=200)
    writer = _Writer(store)
    writer.start()
    _wait_for(lambda: len(writer.writes) >= 10)
    reading: list[tuple[str, int]] = []  # (time, writes done) when the backup was first reading

    def progress(_table: str, _rows: int) -> None:
        if not reading:
            reading.append((utc_now(), len(writer.writes)))
            _wait_for(lambda: len(writer.writes) >= reading[0][1] + 6)  # writes during backup

    try:
        report = backup(store.engine, tmp_path / "b.gz", progress=progress)
    finally:
        writer.stop.set()
        writer.join()
    assert writer.error is None
    assert restore(fresh.engine, tmp_path / "b.gz").problems == []
    with fresh.engine.connect() as conn:
        present = set(conn.execute(select(resource.c.res_id, resource.c.version)).all())
    found = [(res_id, version) in present for res_id, version, _begun, _done in writer.writes]
    assert sum(not f for f in found) >= 6
    prefix = found.index(False)
    assert found == [True] * prefix + [False] * (len(found) - prefix), "not a prefix"
    for (_id, _version, begun, committed), in_backup in zip(writer.writes, found, strict=True):
        if committed < report.snapshot_at:
            assert in_backup
        if begun > reading[0][0]:
            assert not in_backup


def _songkhoe(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SONGKHOE_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "songkhoe", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_backup_and_restore_commands(tmp_path):
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    engine = make_engine(source_url)
    upgrade(engine)
    _fill(ResourceStore(engine), patients=10)
    engine.dispose()
    path = tmp_path / "b.gz"
    done = _songkhoe("backup", "--out", str(path), database_url=source_url)
    assert done.returncode == 0, done.stderr
    assert "backup" in done.stdout and "rows/s" in done.stdout
    done = _songkhoe("restore", str(path), database_url=target_url)
    assert done.returncode == 0, done.stderr
    assert "integrity check: ok" in done.stdout
    for args in (
        ("restore", str(tmp_path / "missing.gz")),
        ("backup", "--out", str(tmp_path / "missing" / "b.gz")),
    ):
        done = _songkhoe(*args, database_url=target_url)
        assert done.returncode == 2, args
        assert done.stderr.startswith("songkhoe: error: ") and done.stderr.count("\n") == 1
