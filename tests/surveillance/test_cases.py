"""Case reports: the disease catalogue, validation (nothing written on bad input), the Condition's
shape, access and the audit trail, through POST /api/surveillance/cases on each backend."""

import re
from datetime import timedelta

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from songkhoe.app import create_app
from songkhoe.auth.service import create_user, issue_token
from songkhoe.db.tables import resource
from songkhoe.fhir.systems import EXT_COMMUNE
from songkhoe.fhir.validation import validate
from songkhoe.places.catalog import communes
from songkhoe.surveillance.aggregation import today
from songkhoe.surveillance.cases import EXT_CASE_COMMUNE
from songkhoe.surveillance.diseases import (
    DISEASE_SYSTEM,
    DISEASES,
    UnknownDisease,
    by_icd10,
    resolve,
)

HOME, NEIGHBOUR, ELSEWHERE = (c.code for c in communes("24")[:3])
PASSWORD = "mật-khẩu-đủ-dài"


def test_icd10_codes_of_bhyt_and_who_2019_map_to_one_disease():
    assert {by_icd10(c).key for c in ("A90", "A91", "A97", "A97.0", "a97.2")} == {"dengue"}
    assert by_icd10("B08.4").key == "hfmd" and by_icd10("U07.1").key == "covid19"
    assert resolve("measles") is DISEASES["measles"] and resolve("B05.9").key == "measles"
    with pytest.raises(UnknownDisease, match="'I10'"):
        by_icd10("I10")
    with pytest.raises(UnknownDisease):
        by_icd10("B08")  # the category is not HFMD, only B08.4
    assert DISEASES["cholera"].report_within_hours == 24
    assert DISEASES["dengue"].report_within_hours == 48
    required = {"dengue", "hfmd", "measles", "ili", "diarrhoea", "covid19"}
    assert required <= set(DISEASES) and {d.group for d in DISEASES.values()} == {"A", "B"}


def person(pid: str, commune_code: str, lives_in: str | None = None) -> dict:
    patient = {
        "resourceType": "Patient",
        "id": pid,
        "birthDate": "2015-03-01",
        "managingOrganization": {"reference": f"Organization/tyt-{commune_code}"},
    }
    if lives_in:
        patient["address"] = [{"use": "home", "extension": [
            {"url": EXT_COMMUNE, "valueCode": lives_in}]}]  # fmt: skip
    return patient


@pytest.fixture
def api(store):
    store.create_many([person("an", HOME, lives_in=NEIGHBOUR), person("binh", ELSEWHERE)])
    tokens = {}
    for name, role, place in (
        ("yt.xa", "commune_health_worker", f"commune:{HOME}"),
        ("bs.tinh", "doctor", "province:24"),
        ("ql.tinh", "provincial_manager", "province:24"),
    ):
        uid = create_user(store.engine, username=name, password=PASSWORD, role=role,
                          place=place, full_name=name)  # fmt: skip
        scopes = "user/*.read" if role.endswith("manager") else "user/*.*"
        tokens[name] = issue_token(store.engine, scopes=scopes, expires_in=timedelta(hours=1),
                                   user_id=uid)  # fmt: skip
    client = TestClient(create_app(store=store))

    def post(who: str, body):
        """POST the body as JSON with the user's bearer token (None: a text/plain body)."""
        headers = {"Authorization": f"Bearer {tokens[who]}"}
        if body is None:
            return client.post("/api/surveillance/cases", content=b"{}",
                               headers={**headers, "Content-Type": "text/plain"})  # fmt: skip
        return client.post("/api/surveillance/cases", json=body, headers=headers)

    return store, post


def rows(store, resource_type: str) -> list[dict]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(resource.c.content).where(
            resource.c.res_type == resource_type, resource.c.is_current)).scalars())  # fmt: skip


def test_a_worker_reports_a_case_of_their_commune(api):
    store, post = api
    onset = (today() - timedelta(days=2)).isoformat()
    response = post("yt.xa", {"patient": "an", "disease": "A91", "onset": onset})
    assert response.status_code == 201, response.text
    condition = response.json()
    validate(condition)
    assert condition["onsetDateTime"] == onset and condition["subject"]["reference"] == "Patient/an"
    codes = {(c["system"].rsplit("/", 1)[-1], c["code"]) for c in condition["code"]["coding"]}
    assert codes == {("icd-10", "A91"), ("notifiable-disease", "dengue")}
    assert condition["extension"] == [{"url": EXT_CASE_COMMUNE, "valueCode": NEIGHBOUR}]
    assert condition["verificationStatus"]["coding"][0]["code"] == "provisional"
    assert any(c["code"] == "B" for c in condition["category"][0]["coding"])
    events = [e for e in rows(store, "AuditEvent") if e["action"] == "C"]
    assert len(events) == 1
    refs = {x["what"]["reference"] for x in events[0]["entity"]}
    assert refs == {"Patient/an", f"Condition/{condition['id']}"}
    explicit = post(
        "bs.tinh",
        {
            "patient": "binh",
            "disease": "dengue",
            "icd10": "A97.1",
            "onset": onset,
            "commune": HOME,
            "classification": "confirmed",
        },
    )
    assert explicit.status_code == 201, explicit.text
    body = explicit.json()
    assert body["extension"][0]["valueCode"] == HOME
    assert body["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert {c["code"] for c in body["code"]["coding"] if c["system"] != DISEASE_SYSTEM} == {"A97.1"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"patient": "an", "disease": "flu-ish", "onset": "2025-01-01"}, "disease"),
        ({"patient": "an", "disease": "I10", "onset": "2025-01-01"}, "disease"),
        ({"patient": "an", "disease": "dengue", "onset": "2099-01-01"}, "onset"),
        ({"patient": "an", "disease": "dengue", "onset": "01/02/2025"}, "onset"),
        ({"patient": "an", "disease": "dengue", "onset": "2025-01-01", "commune": "99999"},
         "commune"),
        ({"patient": "an", "disease": "dengue", "icd10": "B05", "onset": "2025-01-01"}, "icd10"),
        ({"patient": "an", "disease": "dengue", "onset": "2025-01-01", "classification": "x"},
         "classification"),
        ({"disease": "dengue", "onset": "2025-01-01"}, "patient"),
        ({"patient": "an", "disease": "dengue", "onset": "2025-01-01", "age": 3}, "age"),
        (["not", "an", "object"], "body"),
    ],
)  # fmt: skip
def test_bad_reports_name_the_field_and_write_nothing(api, body, field):
    store, post = api
    response = post("yt.xa", body)
    assert response.status_code == 400, response.text
    issue = response.json()["issue"][0]
    assert issue["expression"] == [field] and field in issue["diagnostics"]
    assert rows(store, "Condition") == []


def test_people_outside_the_place_and_managers_are_refused(api):
    store, post = api
    for who, body, status in (
        ("yt.xa", {"patient": "binh", "disease": "dengue", "onset": "2025-01-01"}, 404),
        ("yt.xa", {"patient": "nobody", "disease": "dengue", "onset": "2025-01-01"}, 404),
        ("ql.tinh", {"patient": "an", "disease": "dengue", "onset": "2025-01-01"}, 403),
    ):
        response = post(who, body)
        assert response.status_code == status, response.text
    assert rows(store, "Condition") == []
    refused = [e for e in rows(store, "AuditEvent") if e["outcome"] == "4"]
    assert len(refused) == 3  # the worker's two tries and the manager's, refused by role
    by_who = {e["agent"][0]["who"]["display"]: e for e in refused}
    assert {x["what"]["reference"] for x in by_who["ql.tinh"]["entity"]} == {"Patient/an"}
    assert by_who["ql.tinh"]["action"] == "C"


def logged_in(store, username: str) -> TestClient:
    client = TestClient(create_app(store=store))
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)[1]
    done = client.post("/login", data={"username": username, "password": PASSWORD,
                       "csrf": token}, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    return client


def session_csrf(client: TestClient) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/surveillance/cases/new").text)[1]


def test_json_posts_with_the_session_cookie_must_come_from_this_site(api):
    store, post = api
    client = logged_in(store, "yt.xa")
    body = {"patient": "an", "disease": "dengue", "onset": today().isoformat()}
    url = "/api/surveillance/cases"
    ours = "http://testserver"
    for headers in (
        {},  # no Origin, no Referer, no token
        {"Origin": "https://evil.example"},
        {"Origin": "null"},  # what fetch sends under Referrer-Policy: no-referrer
        {"Referer": "https://evil.example/page"},
        {"Referer": "http://testserver.evil.example/"},
        {"Origin": "https://evil.example", "X-CSRF-Token": "forged"},
        {"Origin": "null", "X-CSRF-Token": b"\xe9t\xe9"},  # not ASCII: refused, not a 500
    ):
        refused = client.post(url, json=body, headers=headers)
        assert refused.status_code == 403, headers
    plain = {"Content-Type": "text/plain", "Origin": ours}  # what a cross-site form can send
    assert client.post(url, content=orjson.dumps(body), headers=plain).status_code == 415
    assert post("yt.xa", None).status_code == 415  # a bearer caller must send JSON too
    assert rows(store, "Condition") == []
    for headers in (
        {"Origin": ours},
        {"Referer": f"{ours}/surveillance/cases/new"},
        {"Origin": "null", "X-CSRF-Token": session_csrf(client)},
    ):
        accepted = client.post(url, json=body, headers=headers)
        assert accepted.status_code == 201, (headers, accepted.text)
    assert len(rows(store, "Condition")) == 3
