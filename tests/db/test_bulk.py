"""songkhoe.db.bulk: the values come back as they went in, on both backends and by both
PostgreSQL paths (pipelined INSERTs for a few rows, COPY for many)."""

from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from songkhoe.db import bulk
from songkhoe.db.bulk import insert_tables, insert_tuples
from songkhoe.db.tables import idx_quantity, resource


@pytest.fixture(params=["few rows", "many rows"])
def path(request, monkeypatch) -> str:
    """With "many rows", every batch counts as many: PostgreSQL takes the COPY path."""
    if request.param == "many rows":
        monkeypatch.setattr(bulk, "FEW_ROWS", 0)
    return request.param


AWKWARD = 'quote " backslash \\ newline \n tab \t Tiếng Việt \u2028 emoji 🩺 {"json": [1]}'


def test_values_round_trip(store, path):
    rows = [
        ("Patient", "p1", 1, "2026-01-01T00:00:00.000000Z", True, False, '{"a": "b"}'),
        ("Patient", "p2", 2, "2026-01-02T00:00:00.000000Z", False, True, None),
    ]
    quantities = [
        ("Observation", "o1", "value-quantity", 120.5, "http://unitsofmeasure.org", AWKWARD),
        ("Observation", "o2", "value-quantity", 7, None, None),
        ("Observation", "o3", "value-quantity", -1e-7, "", "mm[Hg]"),
    ]
    with store.engine.begin() as conn:
        insert_tables(conn, [(resource, rows), (idx_quantity, []), (idx_quantity, quantities)])
        insert_tuples(conn, idx_quantity, [])
    with store.engine.connect() as conn:
        stored = conn.execute(
            select(
                resource.c.res_id, resource.c.version, resource.c.is_current, resource.c.deleted
            ).order_by(resource.c.res_id)
        ).all()
        values = conn.execute(
            select(idx_quantity.c.value, idx_quantity.c.system, idx_quantity.c.code).order_by(
                idx_quantity.c.res_id
            )
        ).all()
    assert [tuple(r) for r in stored] == [("p1", 1, True, False), ("p2", 2, False, True)]
    assert [tuple(r) for r in values] == [
        (120.5, "http://unitsofmeasure.org", AWKWARD),
        (7.0, None, None),
        (-1e-7, "", "mm[Hg]"),
    ]


def test_sqlite_refuses_a_value_json_cannot_carry_and_writes_nothing(store):
    if store.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's driver takes a datetime")
    row = ("Observation", "o1", "value-quantity", datetime(2026, 1, 1), None, None)
    with pytest.raises(TypeError, match="not JSON serializable: datetime"):
        with store.engine.begin() as conn:
            insert_tuples(conn, idx_quantity, [row])
    with store.engine.connect() as conn:
        assert conn.execute(select(idx_quantity.c.res_id)).all() == []


def test_a_duplicate_key_raises_and_the_transaction_writes_nothing(store, path):
    row = ("Patient", "p1", 1, "2026-01-01T00:00:00.000000Z", True, False, '{"a": "b"}')
    quantity = ("Observation", "o1", "value-quantity", 1.0, None, None)
    driver_error = store.engine.dialect.loaded_dbapi.IntegrityError  # raised by the driver
    with pytest.raises((IntegrityError, driver_error), match="(?i)unique"):
        with store.engine.begin() as conn:
            insert_tables(conn, [(idx_quantity, [quantity]), (resource, [row, row])])
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(resource)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(idx_quantity)).scalar() == 0
