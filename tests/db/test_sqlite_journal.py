"""SQLite's sub-journal (the pages a statement or savepoint changes, kept to roll back to it)
stays in memory: written to a temporary file, it cost a FHIR transaction Bundle as many page
writes again as its commit (songkhoe.db.engine._sqlite_pragmas)."""

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from songkhoe.db.engine import make_engine

PROC_FDS = Path("/proc/self/fd")


def _sqlite_temp_files() -> list[str]:
    """The temporary files SQLite holds open in this process (`etilqs_*`, deleted on open)."""
    found = []
    for fd in PROC_FDS.iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:  # closed since the listing
            continue
        if "etilqs_" in target:
            found.append(target)
    return found


@pytest.mark.skipif(not PROC_FDS.is_dir(), reason="lists open files through Linux's /proc")
def test_a_savepoint_keeps_its_undo_pages_in_memory(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x BLOB)"))
        conn.execute(text("INSERT INTO t VALUES (randomblob(3000))"), [{}] * 200)
    with engine.begin() as conn:
        savepoint = conn.begin_nested()
        # 200 pages changed: 800 KB to undo, past the 64 KiB SQLite keeps in memory by default
        conn.execute(text("UPDATE t SET x = randomblob(3000)"))
        held = _sqlite_temp_files()
        savepoint.rollback()
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 200
    engine.dispose()
    assert held == []
