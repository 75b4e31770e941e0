"""Each role's access through the FHIR API, allowed and refused, and the audit trail it leaves."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from songkhoe.app import create_app
from songkhoe.auth.service import (
    create_client,
    create_user,
    grant_access,
    issue_token,
)
from songkhoe.fhir.store import TABLES
from songkhoe.places.catalog import communes

FHIR_JSON = {"Content-Type": "application/fhir+json"}
HOME, NEIGHBOUR = (c.code for c in communes("24")[:2])
ELSEWHERE = communes("33")[0].code  # Hưng Yên
PASSWORD = "mật-khẩu-đủ-dài"


def person(pid: str, commune_code: str) -> dict:
    return {
        "resourceType": "Patient",
        "id": pid,
        "name": [{"family": "Nguyễn", "given": ["Văn", pid]}],
        "managingOrganization": {"reference": f"Organization/tyt-{commune_code}"},
    }


def reading(oid: str, pid: str) -> dict:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "valueQuantity": {
            "value": 150,
            "unit": "mmHg",
            "system": "http://unitsofmeasure.org",
            "code": "mm[Hg]",
        },
    }


class Api:
    """A TestClient that speaks as one user."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client, self.headers = client, {"Authorization": f"Bearer {token}", **FHIR_JSON}

    def get(self, path: str, **params):
        return self.client.get(f"/fhir/{path}", params=params, headers=self.headers)

    def post(self, path: str, body: dict):
        return self.client.post(f"/fhir/{path}", json=body, headers=self.headers)

    def put(self, path: str, body: dict):
        return self.client.put(f"/fhir/{path}", json=body, headers=self.headers)

    def delete(self, path: str):
        return self.client.delete(f"/fhir/{path}", headers=self.headers)

    def ids(self, path: str, **params) -> list[str]:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        entries = response.json().get("entry", [])
        return sorted(e["resource"]["id"] for e in entries if e["search"]["mode"] != "outcome")


@pytest.fixture
def world(store):
    store.create_many(
        [
            person("home1", HOME),
            person("home2", HOME),
            person("next1", NEIGHBOUR),
            person("far1", ELSEWHERE),
            reading("o-home1", "home1"),
            reading("o-next1", "next1"),
            reading("o-far1", "far1"),
            {"resourceType": "Location", "id": "loc1", "name": "Trạm y tế"},
        ]
    )
    client = TestClient(create_app(store=store))
    engine = store.engine

    def user(username: str, role: str, place: str, *, names: bool = False) -> tuple[str, Api]:
        user_id = create_user(
            engine,
            username=username,
            password=PASSWORD,
            role=role,
            place=place,
            full_name=username,
            can_see_names=names,
        )
        scopes = "user/*.read" if role.endswith("manager") else "user/*.*"
        token = issue_token(engine, scopes=scopes, expires_in=timedelta(hours=1), user_id=user_id)
        return user_id, Api(client, token)

    users = {
        "worker": user("worker", "commune_health_worker", f"commune:{HOME}"),
        "doctor": user("doctor", "doctor", "province:24"),
        "specialist": user("specialist", "specialist", "facility:bv-bach-mai"),
        "manager": user("manager", "provincial_manager", "province:24"),
        "manager_named": user("manager.named", "provincial_manager", "province:24", names=True),
        "admin": user("admin", "admin", "national"),
    }
    return store, client, users


def audit_events(store) -> list[dict]:
    from songkhoe.fhir.search import SearchRequest, page

    with store.engine.connect() as conn:
        return [r for _, r in page(conn, "AuditEvent", SearchRequest(count=1000))]


def test_commune_worker_sees_only_their_commune(world):
    _, _, users = world
    worker = users["worker"][1]
    assert worker.ids("Patient") == ["home1", "home2"]
    assert worker.get("Patient/home1").status_code == 200
    assert worker.ids("Observation") == ["o-home1"]
    assert worker.ids("Location") == ["loc1"]


def test_guessing_another_communes_id_is_refused_and_audited(world):
    store, _, users = world
    worker_id, worker = users["worker"]
    for path in (
        "Patient/next1",
        "Patient/far1",
        "Observation/o-next1",
        "Patient/next1/_history",
        "Patient/next1/_history/1",
        "Patient/next1/$everything",
    ):
        response = worker.get(path)
        assert response.status_code == 404, path
        assert response.json()["resourceType"] == "OperationOutcome"
    refused = [e for e in audit_events(store) if e["outcome"] == "4"]
    assert len(refused) == 6
    assert {e["agent"][0]["who"]["identifier"]["value"] for e in refused} == {worker_id}
    assert any(x["what"]["reference"] == "Patient/far1" for e in refused for x in e["entity"])


def test_doctor_sees_the_province(world):
    doctor = world[2]["doctor"][1]
    assert doctor.ids("Patient") == ["home1", "home2", "next1"]
    assert doctor.get("Patient/far1").status_code == 404
    assert doctor.ids("Observation", _include="Observation:subject") == [
        "home1",
        "next1",
        "o-home1",
        "o-next1",
    ]


def test_specialist_sees_a_person_only_when_shared(world):
    store, _, users = world
    specialist_id, specialist = users["specialist"]
    assert specialist.ids("Patient") == []
    assert specialist.get("Patient/home1").status_code == 404
    grant_access(
        store.engine,
        user_id=specialist_id,
        patient_id="home1",
        reason="Hội chẩn tim mạch",
        basis="ServiceRequest/sr1",
        granted_by=users["admin"][0],
    )
    assert specialist.ids("Patient") == ["home1"]
    assert specialist.ids("Observation") == ["o-home1"]
    assert specialist.get("Patient/home2").status_code == 404


def test_managers_see_aggregates_not_people(world):
    users = world[2]
    manager = users["manager"][1]
    for path in ("Patient", "Observation", "Patient/home1"):
        response = manager.get(path)
        assert response.status_code == 403, path
        assert "aggregates" in response.json()["issue"][0]["diagnostics"]
    assert manager.ids("Location") == ["loc1"]
    assert users["manager_named"][1].ids("Patient") == ["home1", "home2", "next1"]
    assert manager.post("Location", {"resourceType": "Location", "name": "x"}).status_code == 403


def test_admin_sees_everyone(world):
    assert world[2]["admin"][1].ids("Patient") == ["far1", "home1", "home2", "next1"]


def test_writes_stay_within_the_place(world):
    worker = world[2]["worker"][1]
    mine = reading("new-obs", "home1")
    del mine["id"]
    assert worker.post("Observation", mine).status_code == 201
    theirs = reading("x", "next1")
    del theirs["id"]
    assert worker.post("Observation", theirs).status_code == 403
    newcomer = person("ignored", HOME)
    del newcomer["id"]
    assert worker.post("Patient", newcomer).status_code == 201
    stranger = person("ignored", NEIGHBOUR)
    del stranger["id"]
    refused = worker.post("Patient", stranger)
    assert refused.status_code == 403
    assert "managingOrganization" in refused.json()["issue"][0]["diagnostics"]
    moved = person("home2", NEIGHBOUR)
    assert worker.put("Patient/home2", moved).status_code == 403
    assert worker.delete("Observation/o-next1").status_code == 404
    assert worker.post("Location", {"resourceType": "Location", "name": "x"}).status_code == 403


def test_a_transaction_touching_another_commune_writes_nothing(world):
    store, _, users = world
    worker = users["worker"][1]
    before = store.count_by_type()
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {k: v for k, v in reading("a", "home1").items() if k != "id"},
                "request": {"method": "POST", "url": "Observation"},
            },
            {
                "resource": {k: v for k, v in reading("b", "far1").items() if k != "id"},
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    assert worker.post("", bundle).status_code == 403
    after = store.count_by_type()
    assert after["Observation"] == before["Observation"]


def test_every_access_is_audited_and_who_looked_is_answerable(world):
    store, _, users = world
    worker_id, worker = users["worker"]
    doctor_id, doctor = users["doctor"]
    worker.get("Patient/home1")
    doctor.get("Observation", subject="Patient/home1")
    update = person("home1", HOME)
    update["gender"] = "male"
    assert worker.put("Patient/home1", update).status_code == 200
    log = users["admin"][1].get("AuditEvent", patient="home1", _count="100")
    assert log.status_code == 200
    events = [e["resource"] for e in log.json()["entry"]]
    seen = {(e["agent"][0]["who"]["identifier"]["value"], e["subtype"][0]["code"]) for e in events}
    assert {(worker_id, "read"), (doctor_id, "search-type"), (worker_id, "update")} <= seen
    assert all(e["agent"][0]["network"]["address"] for e in events)
    assert all(e["purposeOfEvent"][0]["coding"][0]["code"] == "TREAT" for e in events)
    # the commune worker may see the access log of their own people, not of others
    assert worker.ids("AuditEvent", patient="home1")
    assert worker.ids("AuditEvent", patient="next1") == []


@pytest.mark.parametrize("who", ["admin", "worker"])
def test_the_audit_trail_cannot_be_altered_through_the_api(world, who):
    store, _, users = world
    api = users[who][1]
    api.get("Patient/home1")
    event = audit_events(store)[0]
    changed = {**event, "outcome": "8"}
    assert api.put(f"AuditEvent/{event['id']}", changed).status_code == 403
    assert api.delete(f"AuditEvent/{event['id']}").status_code == 403
    assert api.post("AuditEvent", {k: v for k, v in event.items() if k != "id"}).status_code == 403
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": changed, "request": {"method": "PUT", "url": f"AuditEvent/{event['id']}"}}
        ],
    }
    assert api.post("", bundle).status_code == 403
    assert store.read("AuditEvent", event["id"])["outcome"] == "0"


def test_tokens_are_required_and_checked(world):
    store, client, users = world
    assert client.get("/fhir/Patient").status_code == 401
    bad = client.get("/fhir/Patient", headers={"Authorization": "Bearer sk_nothing"})
    assert bad.status_code == 401
    assert client.get("/fhir/metadata").status_code == 200
    worker_id = users["worker"][0]
    expired = issue_token(
        store.engine, scopes="user/*.*", expires_in=timedelta(seconds=-1), user_id=worker_id
    )
    assert Api(client, expired).get("Patient").status_code == 401


def test_smart_scopes_limit_types_and_access(world):
    store, client, users = world
    worker_id = users["worker"][0]
    token = issue_token(
        store.engine,
        scopes="user/Observation.read",
        expires_in=timedelta(hours=1),
        user_id=worker_id,
    )
    api = Api(client, token)
    assert api.ids("Observation") == ["o-home1"]
    assert api.get("Patient").status_code == 403
    new = reading("x", "home1")
    del new["id"]
    assert api.post("Observation", new).status_code == 403
    one = issue_token(
        store.engine,
        scopes="patient/*.read",
        expires_in=timedelta(hours=1),
        user_id=worker_id,
        patient_id="home2",
    )
    assert Api(client, one).ids("Patient") == ["home2"]
    assert Api(client, one).ids("Observation") == []


def test_client_credentials_grant(world):
    store, client, _ = world
    secret = create_client(
        store.engine,
        client_id="his-bv-24",
        scopes="system/*.read",
        place="province:24",
        with_secret=True,
    )
    form = {"grant_type": "client_credentials", "client_id": "his-bv-24", "client_secret": secret}
    issued = client.post("/auth/token", data=form)
    assert issued.status_code == 200, issued.text
    assert issued.json()["token_type"] == "bearer"
    api = Api(client, issued.json()["access_token"])
    assert api.ids("Patient") == ["home1", "home2", "next1"]
    new = person("x", HOME)
    del new["id"]
    assert api.post("Patient", new).status_code == 403
    wrong = client.post("/auth/token", data={**form, "client_secret": "wrong"})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    too_much = client.post("/auth/token", data={**form, "scope": "system/*.*"})
    assert too_much.status_code == 400


def test_conditional_matches_in_a_bundle_see_only_the_callers_people(world):
    store, _, users = world
    worker = users["worker"][1]
    obs = {k: v for k, v in reading("x", "home1").items() if k != "id"}

    def with_focus(query: str) -> dict:
        return {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "resource": {**obs, "focus": [{"reference": query}]},
                    "request": {"method": "POST", "url": "Observation"},
                }
            ],
        }

    elsewhere = worker.post("", with_focus("Patient?_id=far1"))
    nobody = worker.post("", with_focus("Patient?_id=no-such-person"))
    assert elsewhere.status_code == nobody.status_code == 412
    assert elsewhere.json()["issue"][0]["diagnostics"].replace("far1", "?") == nobody.json()[
        "issue"
    ][0]["diagnostics"].replace("no-such-person", "?")
    twin = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": person("ignored", HOME),
                "request": {"method": "POST", "url": "Patient", "ifNoneExist": "_id=far1"},
            }
        ],
    }
    answer = worker.post("", twin).json()["entry"][0]["response"]
    assert answer["status"] == "201 Created" and "far1" not in answer["location"]


def test_a_deleted_record_cannot_be_taken_over(world):
    store, _, users = world
    worker, admin = users["worker"][1], users["admin"][1]
    assert admin.delete("Patient/next1").status_code == 204
    assert worker.put("Patient/next1", person("next1", HOME)).status_code == 404
    assert worker.get("Patient/next1/_history").status_code == 404
    assert worker.get("Patient/next1").status_code == 404, "not 410: no hint it existed"
    assert admin.get("Patient/next1").status_code == 410


def test_audit_events_show_only_the_callers_people_and_no_search_terms(world):
    store, _, users = world
    worker, admin = users["worker"][1], users["admin"][1]
    admin.get("Patient", identifier="027099999999")  # finds nobody: an event about nobody
    worker.get("Patient", name="nguyen")
    assert admin.get("AuditEvent").json()["total"] >= 2
    seen = worker.get("AuditEvent", _count="100").json()
    for entry in seen.get("entry", []):
        event = entry["resource"]
        assert all("query" not in e for e in event.get("entity", []))
        people = {e["what"]["reference"] for e in event["entity"] if "what" in e}
        assert people and people <= {"Patient/home1", "Patient/home2"}
    admin_view = admin.get("AuditEvent", _count="100").json()["entry"]
    assert any("query" in e for x in admin_view for e in x["resource"].get("entity", []))


def test_included_and_exported_types_need_their_own_scope(world):
    store, client, users = world
    worker_id = users["worker"][0]
    token = issue_token(
        store.engine,
        scopes="user/Observation.read",
        expires_in=timedelta(hours=1),
        user_id=worker_id,
    )
    api = Api(client, token)
    assert api.ids("Observation", _include="Observation:subject") == ["o-home1"]
    create_client(
        store.engine, client_id="patients-only", scopes="system/Patient.read", with_secret=False
    )
    exporter = Api(
        client,
        issue_token(
            store.engine,
            scopes="system/Patient.read",
            expires_in=timedelta(hours=1),
            client_id="patients-only",
        ),
    )
    headers = {"Prefer": "respond-async"}
    assert (
        client.get(
            "/fhir/$export",
            params={"_type": "Observation"},
            headers={**exporter.headers, **headers},
        ).status_code
        == 403
    )
    assert client.get("/fhir/$export", headers={**exporter.headers, **headers}).status_code == 403


def test_a_transaction_bundle_and_its_audit_event_go_in_with_one_insert_per_table(world):
    """The Bundle's creates are staged and inserted together with its AuditEvent at the end:
    each table gets one statement, so that on SQLite the write lock is held for those alone."""
    store, client, users = world
    if store.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's COPY runs outside SQLAlchemy's statement events")
    worker = users["worker"][1]
    patient = {k: v for k, v in person("new", HOME).items() if k != "id"}
    observation = {**reading("x", "x"), "subject": {"reference": "urn:uuid:new"}}
    del observation["id"]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:new",
                "resource": patient,
                "request": {"method": "POST", "url": "Patient"},
            },
            {"resource": observation, "request": {"method": "POST", "url": "Observation"}},
        ],
    }
    store_tables, inserted = {table.name for table in TABLES.values()}, []

    def note(_conn, _cursor, statement: str, *_args) -> None:
        words = statement.split()
        if words[:2] == ["INSERT", "INTO"] and words[2] in store_tables:
            inserted.append(words[2])

    event.listen(store.engine, "before_cursor_execute", note)
    try:
        response = client.post("/fhir", json=bundle, headers=worker.headers)
    finally:
        event.remove(store.engine, "before_cursor_execute", note)
    assert response.status_code == 200, response.text
    assert sorted(inserted) == sorted(set(inserted))
    assert {"resource", "idx_reference"} <= set(inserted)
    new_patient = response.json()["entry"][0]["response"]["location"].split("/_history")[0]
    (audit,) = [e for e in audit_events(store) if e["subtype"][0]["code"] == "transaction"]
    assert new_patient in [entity["what"]["reference"] for entity in audit["entity"]]


def test_refused_writes_are_audited(world):
    store, _, users = world
    worker_id, worker = users["worker"]
    theirs = {k: v for k, v in reading("x", "next1").items() if k != "id"}
    assert worker.post("Observation", theirs).status_code == 403
    refused = [
        e
        for e in audit_events(store)
        if e["outcome"] == "4" and e["subtype"][0]["code"] == "create"
    ]
    assert refused and refused[0]["agent"][0]["who"]["identifier"]["value"] == worker_id


def test_reference_data_cannot_be_claimed_by_naming_a_person(world):
    worker = world[2]["worker"][1]
    claimed = {
        "resourceType": "Location",
        "id": "loc1",
        "name": "Của tôi",
        "extension": [
            {"url": "https://example.org/x", "valueReference": {"reference": "Patient/home1"}}
        ],
    }
    assert worker.put("Location/loc1", claimed).status_code == 403


def test_a_person_can_only_be_linked_to_visible_people(world):
    worker = world[2]["worker"][1]
    linked = person("home2", HOME)
    linked["link"] = [{"other": {"reference": "Patient/far1"}, "type": "seealso"}]
    assert worker.put("Patient/home2", linked).status_code == 403


def test_sharing_a_record_needs_to_see_it_and_is_audited(world):
    store, _, users = world
    from songkhoe.auth.audit import RequestContext
    from songkhoe.auth.caller import Caller
    from songkhoe.auth.service import user_principal
    from songkhoe.fhir.outcomes import FhirError

    worker_id, specialist_id = users["worker"][0], users["specialist"][0]
    caller = Caller(store, user_principal(store.engine, worker_id), RequestContext("10.0.0.1"))
    caller.share(
        user_id=specialist_id, patient_id="home1", reason="Hội chẩn", basis="ServiceRequest/sr1"
    )
    assert users["specialist"][1].ids("Patient") == ["home1"]
    with pytest.raises(FhirError) as refused:
        caller.share(user_id=specialist_id, patient_id="far1", reason="x")
    assert refused.value.status == 404
    shared = [e for e in audit_events(store) if "shared with" in e.get("outcomeDesc", "")]
    assert len(shared) == 1 and "Hội chẩn" in shared[0]["outcomeDesc"]


def test_each_access_writes_exactly_one_audit_event(world):
    store, _, users = world
    worker, admin = users["worker"][1], users["admin"][1]
    new = reading("x", "home1")
    del new["id"]
    accesses = [
        lambda: worker.get("Patient/home1"),  # read
        lambda: worker.get("Patient/far1"),  # refused read
        lambda: worker.get("Observation", subject="Patient/home1"),  # search
        lambda: worker.get("Patient/home1/_history/1"),  # vread
        lambda: worker.get("Patient/home1/_history"),  # history
        lambda: worker.get("Patient/home1/$everything"),  # operation
        lambda: worker.post("Observation", new),  # create
        lambda: worker.put("Patient/home2", person("home2", HOME)),  # update
        lambda: worker.post("Observation", {**new, "subject": {"reference": "Patient/far1"}}),
        lambda: admin.delete("Observation/o-next1"),  # delete
    ]
    for number, access in enumerate(accesses, start=1):
        access()
        assert len(audit_events(store)) == number, f"access {number}"


def test_a_person_named_outside_the_search_parameters_hides_the_resource_from_searches(world):
    """The search restriction sees every person a resource names, as the read check does: a
    Patient in an extension (no search parameter) is one of them."""
    store, _, users = world
    worker, admin = users["worker"][1], users["admin"][1]

    def naming(res: dict, pid: str) -> dict:
        relative = {"url": "https://example.org/relative", "valueReference": {}}
        relative["valueReference"]["reference"] = f"Patient/{pid}"
        return {**res, "extension": [relative]}

    about_far = naming(reading("o-mentions-far1", "home1"), "far1")
    about_home = naming(reading("o-mentions-home2", "home1"), "home2")
    linked = naming(person("home-linked", HOME), "far1")
    store.create_many([about_far, about_home, linked])

    assert worker.get("Observation/o-mentions-far1").status_code == 404
    assert worker.ids("Observation") == ["o-home1", "o-mentions-home2"]
    assert worker.ids("Observation", subject="Patient/home1") == ["o-home1", "o-mentions-home2"]
    assert worker.get("Patient/home-linked").status_code == 404
    assert worker.ids("Patient") == ["home1", "home2"]
    everything = admin.get("Patient/far1/$everything").json()
    assert {"o-far1", "o-mentions-far1", "home-linked"} <= {
        e["resource"]["id"] for e in everything["entry"]
    }
    assert admin.ids("Observation", _id="o-mentions-far1") == ["o-mentions-far1"]
