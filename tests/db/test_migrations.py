"""The Alembic migrations build exactly the tables the code declares, on both backends."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from songkhoe.db.engine import DatabaseUnavailable, check_connection, make_engine
from songkhoe.db.migrate import downgrade, upgrade
from songkhoe.db.schema import all_tables


def test_migrated_schema_matches_the_declared_tables(migrated_engine):
    with migrated_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), all_tables())
    assert diff == []


def test_downgrade_and_upgrade_again(migrated_engine):
    downgrade(migrated_engine, "base")
    assert "resource" not in inspect(migrated_engine).get_table_names()
    upgrade(migrated_engine)
    assert {"resource", "idx_token", "idx_date"} <= set(inspect(migrated_engine).get_table_names())


def test_sqlite_runs_in_wal_mode(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg://postgres@127.0.0.1:1/nowhere", "nosuchdb://x", "sqlite:////proc/x/y.db"],
)
def test_unreachable_databases_give_one_line(url):
    with pytest.raises(DatabaseUnavailable) as info:
        check_connection(make_engine(url))
    assert "\n" not in str(info.value)


def test_the_patients_a_resource_names_elsewhere_are_indexed_by_the_migration_too(store):
    """Revision 0006 adds the `_mentions-patient` rows that the store now writes, for the
    resources stored before it; its downgrade takes them away."""
    from sqlalchemy import select

    from songkhoe.db.tables import idx_reference

    observation = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": "Patient/p1"},
        "extension": [
            {"url": "https://example.org/a", "valueReference": {"reference": "Patient/p2"}},
            {"url": "https://example.org/b", "valueReference": {"reference": "Patient/p1"}},
        ],
    }
    store.create(observation)
    query = select(idx_reference.c.param, idx_reference.c.target_id).where(
        idx_reference.c.res_id == "o1", idx_reference.c.target_type == "Patient"
    )
    expected = [("_mentions-patient", "p2"), ("subject", "p1")]
    with store.engine.connect() as conn:
        assert sorted(conn.execute(query).all()) == expected
    downgrade(store.engine, "0005")
    with store.engine.connect() as conn:
        assert sorted(conn.execute(query).all()) == [("subject", "p1")]
    upgrade(store.engine)
    with store.engine.connect() as conn:
        assert sorted(conn.execute(query).all()) == expected
