"""The SQLite checkpoint thread of songkhoe.db.engine: checkpoints after writes, outlives
failures, opens no stray file and leaves no thread behind."""

import gc
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from songkhoe.db.engine import Checkpointer, make_engine
from songkhoe.fhir.store import ResourceStore


def _threads(path: Path) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"sqlite-checkpoint {path}"]


def _wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def _checkpointed(path: Path) -> bool:
    """The database file holds every page: the log was copied into it (the log stays far
    below `wal_autocheckpoint`, so only the thread can have done it)."""
    with sqlite3.connect(path) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    return path.stat().st_size == pages * size


def _write(engine: Engine, rows: int = 50) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS t (x BLOB)"))
        conn.execute(text("INSERT INTO t VALUES (randomblob(4000))"), [{}] * rows)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "x.db"


def test_writes_are_checkpointed(db: Path) -> None:
    engine = make_engine(f"sqlite:///{db}")
    _write(engine)
    assert db.with_name("x.db-wal").stat().st_size > 50 * 4000
    assert _wait_for(lambda: _checkpointed(db))
    pages_before = db.stat().st_size
    _write(engine)
    assert _wait_for(lambda: _checkpointed(db) and db.stat().st_size > pages_before)
    engine.dispose()
    assert not _threads(db)


def test_read_only_transactions_start_no_thread(db: Path) -> None:
    engine = make_engine(f"sqlite:///{db}")
    ResourceStore(engine)  # explicit BEGIN for reads too
    with engine.begin() as conn:
        conn.execute(text("SELECT 1")).all()
    with engine.connect() as conn:
        conn.execute(text("SELECT 1")).all()
        conn.commit()
    assert not _threads(db)
    with engine.connect() as conn:
        conn.execution_options(songkhoe_write=True)
        with conn.begin():
            conn.execute(text("CREATE TABLE t (x)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
    assert _threads(db)
    engine.dispose()


def test_failures_are_logged_once_and_do_not_end_checkpoints(
    db: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = Checkpointer._checkpoint
    failing = threading.Event()
    failing.set()
    attempts: list[bool] = []

    def checkpoint(self: Checkpointer, connection: sqlite3.Connection) -> None:
        attempts.append(failing.is_set())
        if failing.is_set():
            raise RuntimeError("disk on fire")
        real(self, connection)

    monkeypatch.setattr(Checkpointer, "_checkpoint", checkpoint)
    monkeypatch.setattr(Checkpointer, "backoff_s", (0.01, 0.02))
    caplog.set_level(logging.WARNING, logger="songkhoe.db.engine")
    engine = make_engine(f"sqlite:///{db}")
    for _ in range(20):
        _write(engine, rows=1)
        time.sleep(0.005)
    assert _wait_for(lambda: len(attempts) >= 2)
    assert not _checkpointed(db)
    failing.clear()
    _write(engine)
    assert _wait_for(lambda: _checkpointed(db))

    def messages() -> list[str]:
        """This engine's: the patched method fails the other engines' threads too."""
        return [
            r.getMessage()
            for r in caplog.records
            if r.name == "songkhoe.db.engine" and f" {db} " in r.getMessage()
        ]

    assert _wait_for(lambda: len(messages()) >= 2)  # logged just after the checkpoint
    assert messages() == [
        f"SQLite checkpoints of {db} fail: disk on fire",
        f"SQLite checkpoints of {db} work again",
    ]
    engine.dispose()


def test_a_dead_thread_is_replaced(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(f"sqlite:///{db}")
    with monkeypatch.context() as patch:
        patch.setattr(Checkpointer, "_run", lambda self: None)  # dies at once
        _write(engine)
        assert _wait_for(lambda: not _threads(db))
    assert not _checkpointed(db)
    _write(engine)
    assert _wait_for(lambda: _checkpointed(db))
    engine.dispose()


def test_no_stray_file_for_a_url_with_a_query_string(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    engine = make_engine("sqlite:///x.db?timeout=20")
    _write(engine)
    assert _wait_for(lambda: _checkpointed(tmp_path / "x.db"))
    engine.dispose()
    assert [p.name for p in tmp_path.iterdir()] == ["x.db"]


def test_the_thread_never_creates_the_database(db: Path) -> None:
    checkpointer = Checkpointer(db)
    with pytest.raises(sqlite3.OperationalError):
        checkpointer._connect()
    assert not db.exists()


def test_threads_do_not_accumulate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Checkpointer, "idle_s", 0.05)
    paths = [tmp_path / f"{i}.db" for i in range(10)]
    engines = [make_engine(f"sqlite:///{path}") for path in paths]  # never disposed
    for engine in engines:
        _write(engine, rows=1)
    assert _wait_for(lambda: all(_checkpointed(path) for path in paths))
    assert _wait_for(lambda: not any(_threads(path) for path in paths))
    _write(engines[0])  # the next write starts a thread again
    assert _wait_for(lambda: _checkpointed(paths[0]) and not _threads(paths[0]))


def test_dispose_and_garbage_collection_end_the_thread(db: Path) -> None:
    engine = make_engine(f"sqlite:///{db}")
    _write(engine)
    assert _threads(db)
    engine.dispose()
    assert not _threads(db)
    _write(engine)  # a disposed engine can still be used
    assert _threads(db)
    engine.pool.dispose()  # (no engine_disposed event): garbage collection stops it
    del engine
    gc.collect()
    assert _wait_for(lambda: not _threads(db))
