"""Transaction and batch Bundles (http://hl7.org/fhir/R4/http.html#transaction) on both backends."""

import threading

import pytest

from songkhoe.fhir import store as store_module
from songkhoe.fhir.bundles import CreateFailed, create_all, process_bundle
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.store import ResourceGone

BASE = "https://songkhoe.example/fhir"
CCCD = "http://fhir.ehealth.gov.vn/core/sid/national_id"


def patient(cccd: str = "027090001234", **extra) -> dict:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": CCCD, "value": cccd}],
        "name": [{"family": "Nguyễn", "given": ["Văn", "An"]}],
        "gender": "male",
        "birthDate": "1990-04-12",
        **extra,
    }


def observation(subject: str) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
        "subject": {"reference": subject},
        "valueQuantity": {"value": 150, "unit": "mm[Hg]"},
    }


def entry(method: str, url: str, res: dict | None = None, **request) -> dict:
    item: dict = {"request": {"method": method, "url": url, **request}}
    if res is not None:
        item["resource"] = res
    return item


def bundle(*entries: dict, kind: str = "transaction") -> dict:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def run(store, *entries: dict, kind: str = "transaction") -> list[dict]:
    response = process_bundle(store, bundle(*entries, kind=kind), base_url=BASE)
    assert response["type"] == f"{kind}-response"
    return [e["response"] for e in response["entry"]]


def created_id(response: dict) -> str:
    return response["location"].split("/")[1]


def test_transaction_rewrites_urn_uuid_references(store):
    patient_entry = {**entry("POST", "Patient", patient()), "fullUrl": "urn:uuid:1"}
    obs_entry = {**entry("POST", "Observation", observation("urn:uuid:1")), "fullUrl": "urn:uuid:2"}
    first, second = run(store, patient_entry, obs_entry)
    assert first["status"] == "201 Created"
    assert first["etag"] == 'W/"1"'
    assert first["location"].startswith("Patient/") and first["location"].endswith("/_history/1")
    stored = store.read("Observation", created_id(second))
    assert stored["subject"] == {"reference": f"Patient/{created_id(first)}"}
    assert obs_entry["resource"]["subject"]["reference"] == "urn:uuid:1", "input not modified"


def test_reference_to_a_put_entry_by_its_full_url(store):
    put = {**entry("PUT", "Patient/p1", patient()), "fullUrl": f"{BASE}/Patient/p1"}
    obs = entry("POST", "Observation", observation(f"{BASE}/Patient/p1"))
    responses = run(store, obs, put)
    assert responses[1]["status"] == "201 Created"
    assert store.read("Observation", created_id(responses[0]))["subject"]["reference"] == (
        "Patient/p1"
    )


def test_unknown_urn_uuid_reference_fails(store):
    with pytest.raises(FhirError) as caught:
        run(store, entry("POST", "Observation", observation("urn:uuid:nowhere")))
    assert caught.value.issues[0].expression == ("Bundle.entry[0]",)
    assert store.count_by_type() == {}


def test_conditional_create_with_if_none_exist(store):
    condition = f"identifier={CCCD}|027090001234"
    (made,) = run(store, entry("POST", "Patient", patient(), ifNoneExist=condition))
    assert made["status"] == "201 Created"
    (again,) = run(store, entry("POST", "Patient", patient(), ifNoneExist=f"Patient?{condition}"))
    assert again["status"] == "200 OK"
    assert again["location"] == made["location"]
    store.create(patient())  # a second match
    with pytest.raises(FhirError) as caught:
        run(store, entry("POST", "Patient", patient(), ifNoneExist=condition))
    assert caught.value.status == 412
    assert store.count_by_type() == {"Patient": 2}


def test_conditional_update(store):
    url = f"Patient?identifier={CCCD}|027090001234"
    (made,) = run(store, entry("PUT", url, patient()))
    assert made["status"] == "201 Created"
    (updated,) = run(store, entry("PUT", url, patient(gender="female")))
    assert updated["status"] == "200 OK"
    assert updated["location"] == made["location"].replace("_history/1", "_history/2")
    assert store.read("Patient", created_id(made))["gender"] == "female"
    store.create(patient())
    with pytest.raises(FhirError) as caught:
        run(store, entry("PUT", url, patient()))
    assert caught.value.status == 412


def test_conditional_reference_resolves_to_the_single_match(store):
    existing = store.create(patient())
    conditional = f"Patient?identifier={CCCD}|027090001234"
    (made,) = run(store, entry("POST", "Observation", observation(conditional)))
    stored = store.read("Observation", created_id(made))
    assert stored["subject"]["reference"] == f"Patient/{existing['id']}"
    with pytest.raises(FhirError) as caught:
        run(store, entry("POST", "Observation", observation(f"Patient?identifier={CCCD}|0")))
    assert caught.value.status == 412


def test_invalid_third_entry_writes_nothing_and_names_the_entry(store):
    bad = patient(birthDate="12/04/1990")
    with pytest.raises(FhirError) as caught:
        run(
            store,
            entry("POST", "Patient", patient()),
            entry("PUT", "Patient/p2", patient()),
            entry("POST", "Patient", bad),
        )
    assert caught.value.status == 400
    assert any("Bundle.entry[2]" in e for i in caught.value.issues for e in i.expression)
    assert str(caught.value).startswith("Bundle.entry[2]")
    assert store.count_by_type() == {}


def test_a_failing_write_rolls_back_the_earlier_ones(store):
    store.create(patient(id="p1"))
    with pytest.raises(FhirError) as caught:
        run(
            store,
            entry("POST", "Patient", patient("027090004321")),
            entry("PUT", "Patient/p1", patient(), ifMatch='W/"7"'),
        )
    assert caught.value.status == 412
    assert caught.value.issues[0].expression == ("Bundle.entry[1]",)
    assert store.count_by_type() == {"Patient": 1}


def test_batch_answers_each_entry_on_its_own(store):
    responses = run(
        store,
        entry("POST", "Patient", patient()),
        entry("POST", "Patient", patient(birthDate="12/04/1990")),
        entry("GET", "Patient/nobody"),
        entry("PUT", "Patient/p9", patient("027090004321")),
        kind="batch",
    )
    assert [r["status"] for r in responses] == [
        "201 Created",
        "400 Bad Request",
        "404 Not Found",
        "201 Created",
    ]
    outcome = responses[1]["outcome"]
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"][0].startswith("Bundle.entry[1].resource.birthDate")
    assert store.count_by_type() == {"Patient": 2}


def test_delete_then_get_in_the_order_the_specification_sets(store):
    store.create(patient(id="p1"))
    store.create(patient(id="p3", gender="female"))
    response = process_bundle(
        store,
        bundle(
            entry("GET", "Patient/p2"),
            entry("PUT", "Patient/p2", patient(gender="other")),
            entry("DELETE", "Patient/p1"),
            entry("DELETE", "Patient?gender=female"),
        ),
        base_url=BASE,
    )
    read, put, deleted, conditional = response["entry"]
    assert read["resource"]["gender"] == "other", "GET runs after the writes"
    assert read["fullUrl"] == f"{BASE}/Patient/p2"
    assert read["response"]["status"] == "200 OK"
    assert put["response"]["status"] == "201 Created"
    assert deleted["response"]["status"] == "204 No Content"
    assert conditional["response"]["etag"] == 'W/"2"'
    with pytest.raises(ResourceGone):
        store.read("Patient", "p1")
    assert store.count_by_type() == {"Patient": 1}


def test_two_entries_on_one_resource_fail(store):
    with pytest.raises(FhirError) as caught:
        run(store, entry("PUT", "Patient/p1", patient()), entry("DELETE", "Patient/p1"))
    assert caught.value.status == 400
    assert "also the target" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (bundle(kind="collection"), 400, "invalid"),
        (bundle(entry("PATCH", "Patient/p1")), 400, "not-supported"),
        (bundle(entry("POST", "Nonsense", patient())), 400, "invalid"),
        (bundle(entry("POST", "Observation", patient())), 400, "invalid"),
        (bundle(entry("DELETE", "Patient?nonsense=1")), 400, "not-supported"),
        (bundle(entry("GET", "Patient/missing")), 404, "not-found"),
    ],
)
def test_bad_bundles_are_refused(store, body, status, code):
    with pytest.raises(FhirError) as caught:
        process_bundle(store, body, base_url=BASE)
    assert (caught.value.status, caught.value.issues[0].code) == (status, code)


def test_create_all_names_the_resource_at_fault(store):
    """An id given twice is refused before anything is staged; the transaction stays usable."""
    with store.transaction() as writer:
        with pytest.raises(CreateFailed) as caught:
            create_all(writer, [patient(id="a"), patient(id="b"), patient(id="a")])
        assert caught.value.index == 2
        writer.create(patient(id="c"))
    assert store.count_by_type() == {"Patient": 1}


@pytest.mark.parametrize("reference", ["Patient?nosuchparam=1", "Patient?birthdate=notadate"])
def test_a_conditional_reference_with_a_bad_query_names_its_entry(store, reference):
    entries = (
        entry("POST", "Observation", observation("Patient/p1")),
        entry("POST", "Observation", observation(reference)),
    )
    with pytest.raises(FhirError) as caught:
        run(store, *entries)
    assert caught.value.status == 400
    assert caught.value.issues[0].expression == ("Bundle.entry[1]",)
    assert str(caught.value).startswith("Bundle.entry[1]: ")
    assert store.count_by_type() == {}
    first, second = run(store, *entries, kind="batch")
    assert (first["status"], second["status"]) == ("201 Created", "400 Bad Request")
    assert second["outcome"]["issue"][0]["expression"] == ["Bundle.entry[1]"]
    assert store.count_by_type() == {"Observation": 1}


def test_a_transaction_prepares_its_rows_before_it_holds_the_database(store, monkeypatch):
    """Ids, references, access checks and index rows of a transaction's creates are computed
    before its database transaction begins: meanwhile another writer commits (on SQLite it
    would otherwise wait for the write lock), so concurrent Bundles overlap."""
    real_table_rows, committed = store_module.table_rows, []
    bundle_thread = threading.get_ident()

    def table_rows_while_another_writer_commits(stored, version, timestamp):
        if threading.get_ident() == bundle_thread and not committed:
            other = threading.Thread(target=store.create, args=(patient("079090005678"),))
            other.start()
            other.join(timeout=5)
            committed.append(not other.is_alive())
        return real_table_rows(stored, version, timestamp)

    monkeypatch.setattr(store_module, "table_rows", table_rows_while_another_writer_commits)
    patient_entry = {**entry("POST", "Patient", patient()), "fullUrl": "urn:uuid:1"}
    responses = run(store, patient_entry, entry("POST", "Observation", observation("urn:uuid:1")))
    assert committed == [True]
    assert [r["status"] for r in responses] == ["201 Created", "201 Created"]
    assert store.count_by_type() == {"Observation": 1, "Patient": 2}
