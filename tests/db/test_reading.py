"""songkhoe.db.engine.reading: reads in autocommit on PostgreSQL, and the pooled connection
goes back to transactions afterwards."""

import pytest
from sqlalchemy import func, select

from songkhoe.db.bulk import insert_tuples
from songkhoe.db.engine import make_engine, reading
from songkhoe.db.tables import resource

ROW = ("Patient", "p1", 1, "2026-01-01T00:00:00.000000Z", True, False, '{"a": "b"}')


def _count(engine) -> int:
    with reading(engine) as conn:
        return conn.execute(select(func.count()).select_from(resource)).scalar()


def test_a_reading_connection_goes_back_to_the_pool_as_it_came(store, database_url):
    engine = make_engine(database_url)  # a pool of its own: one connection, used twice
    try:
        with reading(engine) as conn:
            driver = conn.connection.driver_connection
            if engine.dialect.name == "postgresql":
                assert driver.autocommit  # no BEGIN, no ROLLBACK: one round trip a query
            assert conn.execute(select(func.count()).select_from(resource)).scalar() == 0
        with engine.connect() as conn:
            assert conn.connection.driver_connection is driver
            with pytest.raises(ZeroDivisionError), conn.begin():
                insert_tuples(conn, resource, [ROW])
                _ = 1 / 0  # the transaction fails after its insert
        assert _count(engine) == 0  # rolled back: the connection was in a transaction again
    finally:
        engine.dispose()


def test_reading_sees_what_was_committed(store):
    with store.engine.begin() as conn:
        insert_tuples(conn, resource, [ROW])
    assert _count(store.engine) == 1


def test_postgresql_plans_every_query_for_its_own_values(store):
    """A prepared statement's generic plan ignores the values (a person's id, a common code)."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite plans each statement it prepares")
    with reading(store.engine) as conn:
        for _ in range(10):  # psycopg prepares from the 5th run when allowed to
            conn.execute(select(func.count()).select_from(resource)).scalar()
        driver = conn.connection.driver_connection
        assert driver.prepare_threshold is None
        prepared = conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar()
    assert prepared == 0
