"""Retried writes make one write (issue 19, item 8), on both backends:

- the API honours an `Idempotency-Key` on POST create and on transaction and batch Bundles
  (draft-ietf-httpapi-idempotency-key-header-07): a retry gets the first response again, the key
  with another request is 422, a retry while the first is in flight is 409;
- `songkhoe fhir import` run again skips the files it committed, and writes its AuditEvents;
- one CCCD for one living person through /fhir: a second Patient with it is 409 without naming
  the holder, a conditional create on it answers with the holder (200), and two creates at once
  make one.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import orjson
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from songkhoe.app import create_app
from songkhoe.auth.service import create_user, issue_token
from songkhoe.db.tables import retry_key
from songkhoe.fhir import identifiers
from songkhoe.fhir.commands import fhir
from songkhoe.fhir.search import SearchRequest, page
from songkhoe.fhir.store import Writer
from songkhoe.fhir.systems import CCCD
from songkhoe.places.catalog import communes

HOME, ELSEWHERE = communes("24")[0].code, communes("33")[0].code
FHIR_JSON = {"Content-Type": "application/fhir+json"}
TAKEN = "027160000001"


def person(commune_code: str, cccd: str | None = None, pid: str | None = None) -> dict:
    res: dict = {
        "resourceType": "Patient",
        "name": [{"family": "Nguyễn", "given": ["Thị", "Lan"]}],
        "managingOrganization": {"reference": f"Organization/tyt-{commune_code}"},
    }
    if cccd is not None:
        res["identifier"] = [{"system": CCCD, "value": cccd}]
    if pid is not None:
        res["id"] = pid
    return res


def resources(store, resource_type: str) -> list[dict]:
    with store.engine.connect() as conn:
        return [r for _, r in page(conn, resource_type, SearchRequest(count=1000))]


def audits(store, code: str) -> list[dict]:
    return [e for e in resources(store, "AuditEvent") if e["subtype"][0]["code"] == code]


@pytest.fixture
def api(store):
    """`api(username, role, place)`: a TestClient speaking as a new user with a bearer token."""
    app = create_app(store=store)

    def speaking_as(username: str, role: str = "admin", place: str = "national") -> TestClient:
        user_id = create_user(
            store.engine,
            username=username,
            password="mật-khẩu-đủ-dài",
            role=role,
            place=place,
            full_name=username,
        )
        token = issue_token(
            store.engine, scopes="user/*.*", expires_in=timedelta(hours=1), user_id=user_id
        )
        client = TestClient(app)
        client.headers.update({"Authorization": f"Bearer {token}", **FHIR_JSON})
        return client

    return speaking_as


def post(client: TestClient, path: str, body: dict, **headers: str):
    return client.post(path, content=orjson.dumps(body), headers=headers)


# --- Idempotency-Key --------------------------------------------------------------------------


def test_a_retried_create_writes_once_and_answers_as_the_first_time(store, api):
    admin = api("admin")
    first = post(admin, "/fhir/Patient", person(HOME), **{"Idempotency-Key": '"k-1"'})
    assert first.status_code == 201, first.text
    again = post(admin, "/fhir/Patient", person(HOME), **{"Idempotency-Key": '"k-1"'})
    assert again.status_code == 201, again.text
    assert again.content == first.content
    for header in ("Location", "ETag", "Last-Modified", "Content-Type"):
        assert again.headers[header] == first.headers[header]
    assert len(resources(store, "Patient")) == 1
    (created,) = audits(store, "create")
    (replayed,) = audits(store, "read")
    reference = f"Patient/{first.json()['id']}"
    assert reference in [e["what"]["reference"] for e in created["entity"]]
    assert reference in [e["what"]["reference"] for e in replayed["entity"]]
    assert "Idempotency-Key" in replayed["outcomeDesc"]
    # without the key, the same request is a second create (and nothing is remembered for it)
    assert post(admin, "/fhir/Patient", person(HOME)).status_code == 201
    assert len(resources(store, "Patient")) == 2


def bundle(kind: str, family: str = "Trần") -> dict:
    patient = {**person(HOME), "name": [{"family": family}]}
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
        "subject": {"reference": "urn:uuid:0b8e5c0e-3f0a-4a57-9d0c-6a2f3f1e2d11"},
        "valueQuantity": {"value": 150, "unit": "mm[Hg]"},
    }
    entries = [
        {
            "fullUrl": "urn:uuid:0b8e5c0e-3f0a-4a57-9d0c-6a2f3f1e2d11",
            "resource": patient,
            "request": {"method": "POST", "url": "Patient"},
        },
        {"resource": observation, "request": {"method": "POST", "url": "Observation"}},
    ]
    if kind == "batch":
        entries = entries[:1]
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


@pytest.mark.parametrize("kind", ["transaction", "batch"])
def test_a_retried_bundle_writes_once(store, api, kind):
    admin = api("admin")
    first = post(admin, "/fhir", bundle(kind), **{"Idempotency-Key": "bundle-1"})
    assert first.status_code == 200, first.text
    again = post(admin, "/fhir", bundle(kind), **{"Idempotency-Key": "bundle-1"})
    assert (again.status_code, again.content) == (200, first.content)
    assert len(resources(store, "Patient")) == 1
    assert len(resources(store, "Observation")) == (1 if kind == "transaction" else 0)


def test_the_key_with_another_request_is_422_and_writes_nothing(store, api):
    admin = api("admin")
    key = {"Idempotency-Key": '"k-2"'}
    assert post(admin, "/fhir", bundle("transaction"), **key).status_code == 200
    other = post(admin, "/fhir", bundle("transaction", family="Lê"), **key)
    assert other.status_code == 422, other.text
    outcome = other.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "Idempotency-Key" in outcome["issue"][0]["diagnostics"]
    assert post(admin, "/fhir/Patient", person(HOME), **key).status_code == 422
    assert len(resources(store, "Patient")) == 1


def test_keys_are_the_callers_own_and_kept_24_hours(store, api):
    admin, other = api("admin"), api("admin2")
    key = {"Idempotency-Key": "k-3"}
    assert post(admin, "/fhir/Patient", person(HOME), **key).status_code == 201
    assert post(other, "/fhir/Patient", person(HOME), **key).status_code == 201
    assert len(resources(store, "Patient")) == 2
    with store.engine.begin() as conn:
        conn.execute(update(retry_key).values(created="2000-01-01T00:00:00.000000Z"))
    assert post(admin, "/fhir/Patient", person(HOME), **key).status_code == 201
    assert len(resources(store, "Patient")) == 3
    with store.engine.connect() as conn:
        assert len(conn.execute(select(retry_key.c.key)).all()) == 1, "expired keys are purged"


@pytest.mark.parametrize("value", ['""', "x" * 256, '"a"b"', "é"])
def test_a_malformed_key_is_400(store, api, value):
    admin = api("admin")
    answer = admin.post(
        "/fhir/Patient",
        content=orjson.dumps(person(HOME)),
        headers={"Idempotency-Key": value.encode()},
    )
    assert answer.status_code == 400, answer.text
    assert "Idempotency-Key" in answer.json()["issue"][0]["diagnostics"]
    assert resources(store, "Patient") == []


def test_a_retry_while_the_first_is_in_flight_is_409(store, api, monkeypatch):
    """The first request's transaction is slowed down before its commit: the retry finds no
    stored response, and is refused when it comes to store its own."""
    real = Writer.create

    def slow(self, res):
        created = real(self, res)
        time.sleep(0.4)
        return created

    monkeypatch.setattr(Writer, "create", slow)
    admin = api("admin")
    clients = [TestClient(admin.app, headers=admin.headers) for _ in range(2)]
    start = threading.Barrier(2)

    def send(client: TestClient):
        start.wait()
        return post(client, "/fhir/Patient", person(HOME), **{"Idempotency-Key": "k-4"})

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(send, clients))
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 409)
    assert "Idempotency-Key" in refused.json()["issue"][0]["diagnostics"]
    assert len(resources(store, "Patient")) == 1


# --- songkhoe fhir import -----------------------------------------------------------------------


@pytest.fixture
def cli(store, monkeypatch):
    url = store.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("SONGKHOE_DATABASE_URL", url)
    return lambda *args: CliRunner().invoke(fhir, list(args))


def test_an_import_run_again_skips_the_files_it_committed(store, tmp_path, cli):
    folder = tmp_path / "in"
    folder.mkdir()
    lines = [orjson.dumps({**person(HOME), "name": [{"family": f"F{i}"}]}) for i in range(3)]
    (folder / "a.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    (folder / "b.json").write_bytes(orjson.dumps(bundle("transaction")))
    (folder / "c.ndjson").write_bytes(b"{not json\n")
    done = cli("import", str(folder))
    assert done.exit_code == 2 and "c.ndjson:1: not JSON" in done.output
    assert len(resources(store, "Patient")) == 4, "a and b were committed"
    (folder / "c.ndjson").write_bytes(lines[0] + b"\n")
    done = cli("import", str(folder))
    assert done.exit_code == 0, done.output
    assert f"skipped {folder / 'a.ndjson'}: already imported" in done.output
    assert f"skipped {folder / 'b.json'}: already imported" in done.output
    assert "imported 1 resources from 1 files" in done.output
    assert len(resources(store, "Patient")) == 5
    assert len(resources(store, "Observation")) == 1
    done = cli("import", str(folder / "c.ndjson"))
    assert done.exit_code == 0 and "skipped" in done.output
    assert len(resources(store, "Patient")) == 5


def test_the_cli_import_is_audited(store, tmp_path, cli):
    path = tmp_path / "b.json"
    path.write_bytes(orjson.dumps(bundle("transaction")))
    assert cli("import", str(path)).exit_code == 0
    (event,) = resources(store, "AuditEvent")
    who = event["agent"][0]["who"]
    assert who["identifier"]["value"] == "cli"
    assert who["display"]
    assert event["outcome"] == "0"
    assert str(path) in event["outcomeDesc"]
    assert "Observation 1" in event["outcomeDesc"] and "Patient 1" in event["outcomeDesc"]


# --- one CCCD for one living person -------------------------------------------------------------


@pytest.fixture
def holder(store):
    """A Patient of another province holding TAKEN."""
    return store.create(person(ELSEWHERE, TAKEN))


def test_a_second_patient_with_a_cccd_is_409_without_naming_the_holder(store, api, holder):
    worker = api("worker", "commune_health_worker", f"commune:{HOME}")
    answer = post(worker, "/fhir/Patient", person(HOME, TAKEN))
    assert answer.status_code == 409, answer.text
    assert holder["id"] not in answer.text
    issue = answer.json()["issue"][0]
    assert issue["expression"] == ["Patient.identifier"]
    admin = api("admin")
    assert post(admin, "/fhir/Patient", person(HOME, TAKEN)).status_code == 409
    in_bundle = bundle("transaction")
    in_bundle["entry"][0]["resource"] = person(HOME, TAKEN)
    answer = post(admin, "/fhir", in_bundle)
    assert answer.status_code == 409, answer.text
    assert answer.json()["issue"][0]["expression"] == ["Bundle.entry[0].resource.identifier"]
    assert [p["id"] for p in resources(store, "Patient")] == [holder["id"]]


def test_a_conditional_create_on_the_cccd_answers_with_its_holder(store, api, holder):
    condition = {"If-None-Exist": f"identifier={CCCD}|{TAKEN}"}
    admin = api("admin")
    found = post(admin, "/fhir/Patient", person(HOME, TAKEN), **condition)
    assert (found.status_code, found.json()["id"]) == (200, holder["id"])
    worker = api("worker", "commune_health_worker", f"commune:{HOME}")
    hidden = post(worker, "/fhir/Patient", person(HOME, TAKEN), **condition)
    assert hidden.status_code == 409, hidden.text
    assert holder["id"] not in hidden.text
    assert len(resources(store, "Patient")) == 1


def test_an_update_to_anothers_cccd_is_409(store, api, holder):
    admin = api("admin")
    mine = store.create(person(HOME, "027160000002"))
    taking = {**mine, "identifier": [{"system": CCCD, "value": TAKEN}]}
    answer = admin.put(f"/fhir/Patient/{mine['id']}", content=orjson.dumps(taking))
    assert answer.status_code == 409, answer.text
    assert holder["id"] not in answer.text
    keeping = {**mine, "name": [{"family": "Lê"}]}
    assert admin.put(f"/fhir/Patient/{mine['id']}", content=orjson.dumps(keeping)).is_success
    moved = {k: v for k, v in holder.items() if k != "identifier"}
    assert admin.put(f"/fhir/Patient/{holder['id']}", content=orjson.dumps(moved)).is_success
    assert admin.put(f"/fhir/Patient/{mine['id']}", content=orjson.dumps(taking)).is_success


def test_two_patients_of_one_bundle_with_one_cccd_are_409(store, api):
    both = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": person(HOME, TAKEN), "request": {"method": "POST", "url": "Patient"}},
            {"resource": person(HOME, TAKEN), "request": {"method": "POST", "url": "Patient"}},
        ],
    }
    answer = post(api("admin"), "/fhir", both)
    assert answer.status_code == 409, answer.text
    assert answer.json()["issue"][0]["expression"] == ["Bundle.entry[1].resource.identifier"]
    assert resources(store, "Patient") == []


def test_two_creates_of_one_cccd_at_once_make_one_patient(store, api, monkeypatch):
    """Each look for the CCCD's holders is slowed down: unless the look and the create are one
    step under the CCCD's lock, both find none and both create."""
    real = identifiers.holders

    def slow(*args, **kwargs):
        found = real(*args, **kwargs)
        time.sleep(0.3)
        return found

    monkeypatch.setattr(identifiers, "holders", slow)
    clients = [api("admin"), api("admin2")]
    start = threading.Barrier(2)

    def send(client: TestClient):
        start.wait()
        return post(client, "/fhir/Patient", person(HOME, TAKEN))

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(send, clients))
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    assert len(resources(store, "Patient")) == 1


def test_the_capability_statement_documents_the_retry_key(store, api):
    (rest,) = api("admin").get("/fhir/metadata").json()["rest"]
    for said in ("Idempotency-Key", "24 hours", "422", "409", CCCD):
        assert said in rest["documentation"]
