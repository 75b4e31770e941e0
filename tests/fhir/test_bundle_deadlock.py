"""Two transactions that write the same resources in opposite orders, at once, on both backends.

Every update sleeps after it has taken its resource's lock: if a Bundle took its locks in entry
order, PUT a, b against PUT b, a would hold one lock each and wait for the other's (a deadlock,
which PostgreSQL breaks by aborting one of them).
"""

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from songkhoe.fhir.bundles import process_bundle
from songkhoe.fhir.outcomes import from_exception
from songkhoe.fhir.store import ResourceStore, TransactionConflict, Writer

PAUSE = 0.1  # seconds each update waits while it holds its lock
ROUNDS = 3


def at_once(*tasks: Callable[[], object]) -> list:
    """Run each task in a thread of its own, all released together; their results (or the
    exceptions they raised)."""
    start = threading.Barrier(len(tasks))

    def call(task: Callable[[], object]) -> object:
        start.wait()
        try:
            return task()
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(len(tasks)) as pool:
        return list(pool.map(call, tasks))


def put_all(store: ResourceStore, ids: list[str]) -> Callable[[], dict]:
    entries = [
        {
            "resource": {"resourceType": "Patient", "id": i, "gender": "female"},
            "request": {"method": "PUT", "url": f"Patient/{i}"},
        }
        for i in ids
    ]
    body = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    return lambda: process_bundle(store, body, base_url="")


def test_bundles_writing_in_opposite_orders_both_succeed(store, monkeypatch):
    real = Writer.update

    def slow(self: Writer, res: dict, **kwargs) -> dict:
        stored = real(self, res, **kwargs)
        time.sleep(PAUSE)
        return stored

    monkeypatch.setattr(Writer, "update", slow)
    for round_ in range(ROUNDS):
        results = at_once(put_all(store, ["a", "b"]), put_all(store, ["b", "a"]))
        errors = [r for r in results if isinstance(r, Exception)]
        assert not errors, errors
        for i in ("a", "b"):
            assert store.read("Patient", i)["meta"]["versionId"] == str(2 * round_ + 2)


def test_a_deadlock_the_database_breaks_is_a_409_to_retry(store):
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no deadlock to break")

    def lock(first: str, second: str) -> None:
        with store.transaction() as writer:
            writer.lock_resource("Patient", first)
            time.sleep(PAUSE)
            writer.lock_resource("Patient", second)

    results = at_once(lambda: lock("a", "b"), lambda: lock("b", "a"))
    (conflict,) = [r for r in results if isinstance(r, Exception)]
    assert isinstance(conflict, TransactionConflict), repr(conflict)
    error = from_exception(conflict)
    assert error.status == 409
    assert "retry" in str(error)
