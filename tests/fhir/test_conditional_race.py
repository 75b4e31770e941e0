"""Conditional creates that race (http://hl7.org/fhir/R4/http.html#ccreate): two requests with
the same If-None-Exist, or two transaction Bundles with the same `ifNoneExist`, sent at once make
one resource, on both backends.

Each request runs on an event loop of its own (as in two server processes), and every search
sleeps after it has run: unless the search and the create are one atomic step, both requests
find nothing and both create.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient

from songkhoe.app import create_app
from songkhoe.fhir import bundles, search
from songkhoe.fhir.store import ResourceStore

CCCD = "http://fhir.ehealth.gov.vn/core/sid/national_id"
CONDITION = f"identifier={CCCD}|001090004321"
PAUSE = 0.3  # seconds each search waits before it returns


def patient() -> dict:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": CCCD, "value": "001090004321"}],
        "name": [{"family": "Lê", "given": ["Thị", "Hoa"]}],
        "birthDate": "1990-06-01",
    }


@pytest.fixture
def slow_search(monkeypatch: pytest.MonkeyPatch) -> None:
    real = search.page

    def slow(*args, **kwargs):
        found = real(*args, **kwargs)
        time.sleep(PAUSE)
        return found

    monkeypatch.setattr(search, "page", slow)
    monkeypatch.setattr(bundles, "page", slow)


def at_once(store: ResourceStore, token: str, path: str, bodies: list[dict], headers: dict):
    """POST each body from a thread of its own, all released together; the responses."""
    app = create_app(store=store)
    start = threading.Barrier(len(bodies))

    def send(body: dict) -> httpx.Response:
        client = TestClient(app)  # each request gets an event loop of its own
        client.headers.update({"Authorization": f"Bearer {token}", **headers})
        start.wait()
        return client.post(path, json=body, headers={"Content-Type": "application/fhir+json"})

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(send, bodies))


def patients(store: ResourceStore) -> list[dict]:
    with store.engine.connect() as conn:
        request = search.parse_query("Patient", [("identifier", f"{CCCD}|001090004321")])
        return [content for _, content in search.page(conn, "Patient", request)]


def test_two_concurrent_if_none_exist_creates_make_one_resource(store, system_token, slow_search):
    responses = at_once(
        store, system_token, "/fhir/Patient", [patient(), patient()], {"If-None-Exist": CONDITION}
    )
    assert sorted(r.status_code for r in responses) == [200, 201], [r.text for r in responses]
    (only,) = patients(store)
    assert {r.json()["id"] for r in responses} == {only["id"]}


def test_two_concurrent_transactions_with_if_none_exist_make_one_resource(
    store, system_token, slow_search
):
    def transaction(value: int) -> dict:
        observation = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
            "subject": {"reference": "urn:uuid:6f1d0c2e-4a8b-4c5d-9e7f-0a1b2c3d4e5f"},
            "valueQuantity": {"value": value, "unit": "mm[Hg]"},
        }
        return {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "fullUrl": "urn:uuid:6f1d0c2e-4a8b-4c5d-9e7f-0a1b2c3d4e5f",
                    "resource": patient(),
                    "request": {"method": "POST", "url": "Patient", "ifNoneExist": CONDITION},
                },
                {"resource": observation, "request": {"method": "POST", "url": "Observation"}},
            ],
        }

    responses = at_once(store, system_token, "/fhir", [transaction(120), transaction(135)], {})
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    statuses = sorted(r.json()["entry"][0]["response"]["status"] for r in responses)
    assert statuses == ["200 OK", "201 Created"]
    (only,) = patients(store)
    with store.engine.connect() as conn:
        request = search.parse_query("Observation", [("subject", f"Patient/{only['id']}")])
        request.count = 10
        assert len(search.page(conn, "Observation", request)) == 2
