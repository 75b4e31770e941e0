"""The resource store on SQLite and PostgreSQL: versions, history, index rows, atomic writes."""

import threading

import pytest
from sqlalchemy import func, select

from songkhoe.db.tables import INDEX_TABLES, resource
from songkhoe.fhir import store as store_module
from songkhoe.fhir.search import Criterion, SearchRequest, page
from songkhoe.fhir.store import (
    InvalidResource,
    ResourceGone,
    ResourceNotFound,
    VersionConflict,
)


def patient(pid: str = "p1", family: str = "Nguyễn", given: str = "Văn An") -> dict:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [
            {"system": "http://fhir.ehealth.gov.vn/core/sid/national_id", "value": "027090001234"}
        ],
        "name": [{"family": family, "given": given.split()}],
        "gender": "male",
        "birthDate": "1990-04-12",
    }


def row_counts(store) -> dict[str, int]:
    with store.engine.connect() as conn:
        counts = {"resource": conn.execute(select(func.count()).select_from(resource)).scalar()}
        for kind, table in INDEX_TABLES.items():
            counts[kind] = conn.execute(select(func.count()).select_from(table)).scalar()
    return counts


def find(store, resource_type: str, **params: str) -> list[str]:
    with store.engine.connect() as conn:
        request = SearchRequest(criteria=[Criterion(k, v) for k, v in params.items()])
        return [i for i, _ in page(conn, resource_type, request)]


def test_create_then_read_gives_the_resource_with_version_1(store):
    created = store.create(patient())
    assert created["meta"]["versionId"] == "1"
    assert created["meta"]["lastUpdated"].endswith("Z")
    read = store.read("Patient", "p1")
    assert read == created
    assert read["name"] == [{"family": "Nguyễn", "given": ["Văn", "An"]}]


def test_create_without_id_assigns_one(store):
    res = patient()
    del res["id"]
    created = store.create(res)
    assert len(created["id"]) == 36
    assert "id" not in res, "the caller's dict is not modified"
    assert store.read("Patient", created["id"])["gender"] == "male"


def test_update_makes_a_new_version_and_vread_keeps_the_old(store):
    store.create(patient())
    updated = store.update(patient(family="Trần"))
    assert updated["meta"]["versionId"] == "2"
    assert store.read("Patient", "p1")["name"][0]["family"] == "Trần"
    assert store.vread("Patient", "p1", 1)["name"][0]["family"] == "Nguyễn"
    assert [e.version for e in store.history("Patient", "p1")] == [2, 1]


def test_update_of_unknown_id_creates_it(store):
    assert store.update(patient("new"))["meta"]["versionId"] == "1"


def test_update_with_a_stale_version_is_refused(store):
    store.create(patient())
    store.update(patient(family="Trần"), if_match=1)
    with pytest.raises(VersionConflict, match="version 2, not 1"):
        store.update(patient(family="Lê"), if_match=1)
    assert store.read("Patient", "p1")["name"][0]["family"] == "Trần"


def test_delete_is_a_new_version_and_history_keeps_everything(store):
    store.create(patient())
    store.update(patient(family="Trần"))
    assert store.delete("Patient", "p1") == 3
    with pytest.raises(ResourceGone):
        store.read("Patient", "p1")
    assert store.delete("Patient", "p1") == 3, "deleting a deleted resource changes nothing"
    history = store.history("Patient", "p1")
    assert [(e.version, e.deleted) for e in history] == [(3, True), (2, False), (1, False)]
    assert history[0].resource is None
    assert store.vread("Patient", "p1", 2)["name"][0]["family"] == "Trần"
    assert store.update(patient(family="Lê"))["meta"]["versionId"] == "4"


def test_missing_resources_are_reported(store):
    with pytest.raises(ResourceNotFound, match="Patient/nobody"):
        store.read("Patient", "nobody")
    with pytest.raises(ResourceNotFound):
        store.delete("Patient", "nobody")
    with pytest.raises(ResourceNotFound):
        store.history("Patient", "nobody")
    store.create(patient())
    with pytest.raises(ResourceNotFound):
        store.vread("Patient", "p1", 7)


def test_creating_an_existing_id_is_a_conflict(store):
    store.create(patient())
    with pytest.raises(VersionConflict, match="already exists"):
        store.create(patient(family="Trần"))
    assert store.read("Patient", "p1")["name"][0]["family"] == "Nguyễn"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"id": "x"}, "resourceType"),
        ({"resourceType": "patient", "id": "x"}, "resourceType"),
        ({"resourceType": "Patient", "id": "has space"}, "Patient.id"),
        ({"resourceType": "Patient", "id": "x" * 65}, "Patient.id"),
        ({"resourceType": "Patient", "id": "x", "birthDate": "1990-13-45"}, "1990-13-45"),
    ],
)
def test_invalid_resources_are_refused_with_the_field_named(store, bad, message):
    with pytest.raises(InvalidResource, match=message):
        store.create(bad)
    assert row_counts(store)["resource"] == 0


def test_index_rows_follow_the_current_version(store):
    store.create(patient())
    assert find(store, "Patient", name="nguyen") == ["p1"]
    assert find(
        store, "Patient", identifier="http://fhir.ehealth.gov.vn/core/sid/national_id|027090001234"
    ) == ["p1"]
    store.update(patient(family="Trần"))
    assert find(store, "Patient", name="nguyen") == []
    assert find(store, "Patient", family="tran") == ["p1"]
    store.delete("Patient", "p1")
    assert find(store, "Patient", family="tran") == []
    counts = row_counts(store)
    assert counts["resource"] == 3
    assert sum(counts[kind] for kind in INDEX_TABLES) == 0


def test_a_failed_transaction_writes_nothing(store):
    store.create(patient("kept"))
    before = row_counts(store)
    with pytest.raises(RuntimeError, match="forced"):
        with store.transaction() as writer:
            writer.create(patient("a"))
            writer.update(patient("kept", family="Trần"))
            writer.delete("Patient", "kept")
            raise RuntimeError("forced failure after three writes")
    assert row_counts(store) == before
    assert store.read("Patient", "kept")["name"][0]["family"] == "Nguyễn"


def test_a_bulk_write_failing_midway_writes_nothing(store, monkeypatch):
    """Force the index extraction to fail on the 3rd of 5 resources: no row of any kind stays."""
    real_extract = store_module.extract
    calls = {"n": 0}

    def failing_extract(res):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("forced failure in the middle of the batch")
        return real_extract(res)

    monkeypatch.setattr(store_module, "extract", failing_extract)
    with pytest.raises(RuntimeError, match="forced"):
        store.create_many([patient(f"p{i}") for i in range(5)])
    assert calls["n"] == 3
    assert row_counts(store) == dict.fromkeys(row_counts(store), 0)


def test_a_duplicate_inside_a_batch_writes_nothing(store):
    batch = [patient("a"), patient("b"), patient("a"), patient("c")]
    with pytest.raises(VersionConflict):
        store.create_many(batch)
    assert row_counts(store)["resource"] == 0
    assert store.count_by_type() == {}


def test_concurrent_updates_lose_no_version(store):
    """Two writers updating the same resource: every update gets its own version."""
    store.create(patient())
    errors: list[Exception] = []

    def writer(family: str) -> None:
        try:
            for _ in range(15):
                store.update(patient(family=family))
        except Exception as exc:  # collected and reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f,)) for f in ("Trần", "Lê")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.read("Patient", "p1")["meta"]["versionId"] == "31"
    assert len(store.history("Patient", "p1")) == 31


def test_count_by_type_counts_live_resources(store):
    store.create_many([patient("a"), patient("b"), {"resourceType": "Organization", "id": "o"}])
    store.delete("Patient", "b")
    assert store.count_by_type() == {"Organization": 1, "Patient": 1}


def _committed_meanwhile(store, res: dict) -> bool:
    """Whether another thread's transaction creating `res` commits within 5 s."""
    thread = threading.Thread(target=store.create, args=(res,))
    thread.start()
    thread.join(timeout=5)
    return not thread.is_alive()


def test_a_transaction_begun_on_first_use_lets_other_writers_commit_until_then(store):
    """Until the block first uses `writer.conn` it holds no lock and no snapshot: another
    transaction commits meanwhile, and the block, once begun, sees it."""
    with store.transaction(begin_on_first_use=True) as writer:
        assert _committed_meanwhile(store, patient("other"))
        writer.create(patient("mine"))
        seen = writer.conn.execute(
            select(func.count()).where(resource.c.res_id.in_(["mine", "other"]))
        ).scalar()
    assert seen == 2
    assert store.count_by_type() == {"Patient": 2}


def test_a_transaction_begun_on_entry_makes_other_sqlite_writers_wait(store):
    """The default: on SQLite the block holds the write lock from its start, so that its reads
    through other connections see no other writer's commits before its own."""
    if store.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL transactions take no lock up front")
    released = threading.Event()
    thread = threading.Thread(target=lambda: (released.wait(), store.create(patient("other"))))
    with store.transaction() as writer:
        thread.start()
        released.set()
        thread.join(timeout=0.5)
        assert thread.is_alive(), "the other writer waited for this transaction"
        assert store.count_by_type() == {}
        writer.create(patient("mine"))
    thread.join(timeout=10)
    assert store.count_by_type() == {"Patient": 2}


def test_staged_creates_go_in_at_the_next_use_of_the_connection_or_the_commit(store):
    """A staged create touches no database until the block reads through `writer.conn` (which
    then sees it) or ends; meanwhile, on SQLite too, another writer commits."""
    with store.transaction(begin_on_first_use=True) as writer:
        writer.create_many([patient("staged")], stage=True)
        assert _committed_meanwhile(store, patient("other"))
        assert writer.conn.execute(select(func.count()).select_from(resource)).scalar() == 2
        writer.create_many([patient("at-commit")], stage=True)
    assert store.count_by_type() == {"Patient": 3}
    assert store.read("Patient", "at-commit")["meta"]["versionId"] == "1"


def test_a_staged_create_of_an_existing_id_fails_the_transaction_at_the_commit(store):
    store.create(patient("taken", family="Trần"))
    with pytest.raises(VersionConflict, match="already exists"):
        with store.transaction() as writer:
            writer.create_many([patient("new"), patient("taken")], stage=True)
    assert store.count_by_type() == {"Patient": 1}
    assert store.read("Patient", "taken")["name"][0]["family"] == "Trần"
