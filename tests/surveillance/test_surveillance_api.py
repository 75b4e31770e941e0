"""The surveillance API on each backend: alerts for the officers of the place, the review by API,
weekly counts and forecasts, and refusals."""

import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from songkhoe.app import create_app
from songkhoe.auth.service import create_user, issue_token, user_id_of
from songkhoe.db.tables import metadata
from songkhoe.fhir.store import ResourceStore
from songkhoe.places.catalog import communes
from songkhoe.surveillance import aggregation as agg
from songkhoe.surveillance import service
from songkhoe.surveillance.alerts import Signal, alert_resource
from songkhoe.surveillance.synth_cases import registered_people, synthetic_province

PROVINCE = "12"
PASSWORD = "mật-khẩu-đủ-dài"


@pytest.fixture(scope="module")
def world(migrated_engine):
    with migrated_engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    store = ResourceStore(migrated_engine)
    outbreak = synthetic_province(store, province_code=PROVINCE, people=500, seed=9,
                                  as_of=date(2026, 6, 30))  # fmt: skip
    service.run_weekly(store, week=outbreak.week)
    tokens = {}
    for name, role, place in (
        ("ql.tinh", "provincial_manager", f"province:{PROVINCE}"),
        ("bs.tinh", "doctor", f"province:{PROVINCE}"),
        ("bs.xa", "doctor", "province:24"),
        ("yt.xa", "commune_health_worker", f"commune:{outbreak.commune}"),
        ("xq.tinh", "radiologist", f"province:{PROVINCE}"),
    ):
        uid = create_user(store.engine, username=name, password=PASSWORD, role=role,
                          place=place, full_name=name)  # fmt: skip
        scopes = "user/*.read" if role.endswith("manager") else "user/*.*"
        tokens[name] = issue_token(store.engine, scopes=scopes, expires_in=timedelta(hours=1),
                                   user_id=uid)  # fmt: skip
    patient = str(registered_people(store, PROVINCE)[outbreak.commune].ids[0])
    tokens["patient-app"] = issue_token(  # a patient's app, through the manager's account
        store.engine, scopes="patient/*.read", expires_in=timedelta(hours=1),
        user_id=user_id_of(store.engine, "ql.tinh"), patient_id=patient,
    )  # fmt: skip
    client = TestClient(create_app(store=store))

    def call(method: str, who: str | None, path: str, **kwargs):
        headers = {"Authorization": f"Bearer {tokens[who]}"} if who else {}
        return client.request(method, f"/api/surveillance{path}", headers=headers, **kwargs)

    call.client = client
    return store, outbreak, call


def test_officers_of_the_place_list_the_alerts(world):
    _, outbreak, call = world
    listed = call("GET", "ql.tinh", "/alerts", params={"state": "all"}).json()
    hit = [a for a in listed["alerts"] if a["commune"] == outbreak.commune]
    assert len(hit) == 1 and hit[0]["week"] == agg.week_label(outbreak.week)
    assert hit[0]["disease"] == "dengue" and hit[0]["count"] >= outbreak.cases
    assert listed["total"] == len(listed["alerts"]) >= 1
    assert call("GET", "bs.xa", "/alerts").json()["total"] == 0  # another province
    assert call("GET", "bs.xa", f"/alerts/{hit[0]['id']}").status_code == 404
    assert call("GET", "yt.xa", "/alerts").status_code == 403
    assert call("GET", None, "/alerts").status_code == 401
    assert call("GET", "ql.tinh", "/alerts", params={"state": "maybe"}).status_code == 400


def test_the_review_by_api(world):
    _, outbreak, call = world
    alert = next(a for a in call("GET", "bs.tinh", "/alerts").json()["alerts"]
                 if a["commune"] == outbreak.commune)  # fmt: skip
    path = f"/alerts/{alert['id']}"
    assert call("POST", "bs.tinh", f"{path}/dismiss", json={}).status_code == 400
    bad_owner = call("POST", "bs.tinh", f"{path}/confirm", json={"owner": "bv-bach-mai"})
    assert bad_owner.status_code == 400 and bad_owner.json()["issue"][0]["expression"] == ["owner"]
    regional = next(o for o in service.owner_choices(outbreak.commune) if o.startswith("bv-"))
    done = call("POST", "ql.tinh", f"{path}/confirm", json={"owner": regional})
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "confirmed"
    assert done.json()["task"]["owner"]["reference"] == f"Organization/{regional}"
    detail = call("GET", "ql.tinh", path).json()
    assert [h["state"] for h in detail["history"]] == ["open", "confirmed"]
    assert detail["task"]["status"] == "requested"
    assert call("POST", "ql.tinh", f"{path}/dismiss", json={"reason": "x" * 5}).status_code == 409
    assert call("GET", "ql.tinh", "/alerts", params={"state": "confirmed"}).json()["total"] == 1


def test_weekly_counts_and_forecast(world):
    store, outbreak, call = world
    weekly = call("GET", "ql.tinh", "/weekly", params={"province": PROVINCE, "disease": "dengue"})
    body = weekly.json()
    assert weekly.status_code == 200 and outbreak.commune in body["units"]
    column = body["weeks"].index(outbreak.week.isoformat())
    assert body["counts"][body["units"].index(outbreak.commune)][column] >= outbreak.cases
    fc = call("GET", "bs.tinh", "/forecast",
              params={"province": PROVINCE, "disease": "ili", "backtest": 8}).json()  # fmt: skip
    assert len(fc["weeks"]) == len(fc["mean"]) == 4
    low95, high95 = fc["interval95"]
    assert all(lo <= m <= hi for lo, m, hi in zip(low95, fc["mean"], high95, strict=True))
    assert fc["backtest"]["model"]["n"] == 8 * 4 - 6 and fc["backtest"]["origins"] == 8
    for params, field in (
        ({"province": "99", "disease": "ili"}, "province"),
        ({"province": PROVINCE, "disease": "plague"}, "disease"),
        ({"disease": "ili"}, "province"),
    ):
        bad = call("GET", "bs.tinh", "/forecast", params=params)
        assert bad.status_code == 400 and bad.json()["issue"][0]["expression"] == [field]
    assert call("GET", "yt.xa", "/weekly",
                params={"province": PROVINCE, "disease": "ili"}).status_code == 403  # fmt: skip


@pytest.mark.parametrize("path", ["/weekly", "/forecast", "/alerts"])
def test_aggregates_are_for_officers_and_never_for_a_patient_token(world, path):
    _, _, call = world
    params = {"province": PROVINCE, "disease": "measles"}
    for who in ("patient-app", "xq.tinh", "yt.xa"):
        refused = call("GET", who, path, params=params)
        assert refused.status_code == 403, (who, refused.text)
    assert call("GET", "ql.tinh", path, params=params).status_code == 200


def test_a_detected_issue_that_is_not_an_alert_is_not_found(world):
    store, _, call = world
    warning = store.create({
        "resourceType": "DetectedIssue", "status": "final", "severity": "high",
        "code": {"text": "Tương tác thuốc"}, "detail": "a prescription warning",
    })  # fmt: skip
    path = f"/alerts/{warning['id']}"
    for method, suffix, body in (("GET", "", None), ("POST", "/dismiss", {"reason": "không"})):
        response = call(method, "ql.tinh", path + suffix, json=body)
        assert response.status_code == 404, response.text
        assert response.json()["resourceType"] == "OperationOutcome"
    assert warning["id"] not in {a["id"] for a in call("GET", "ql.tinh", "/alerts",
                                 params={"state": "all"}).json()["alerts"]}  # fmt: skip
    assert store.read("DetectedIssue", warning["id"])["meta"]["versionId"] == "1"


def test_a_review_with_the_session_cookie_needs_this_site_or_the_token(world):
    store, outbreak, call = world
    client = TestClient(create_app(store=store))
    form = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)[1]
    client.post("/login", data={"username": "bs.tinh", "password": PASSWORD, "csrf": csrf})
    elsewhere = next(c.code for c in communes(PROVINCE) if c.code != outbreak.commune)
    week = outbreak.week - timedelta(weeks=10)
    target = alert_resource(
        Signal("measles", elsewhere, week, "cusum", {}, 3, 1.5, (0, 0, 0, 0, 0, 0, 1, 3), 40)
    )  # this test's own alert
    store.create_many([target])
    url = f"/api/surveillance/alerts/{target['id']}/dismiss"
    body = {"reason": "ca cũ đã điều tra"}
    cross_site = {"Origin": "https://evil.example"}
    assert client.post(url, json=body).status_code == 403  # no Origin, Referer nor token
    assert client.post(url, json=body, headers=cross_site).status_code == 403
    assert client.post(url, data=body, headers={"Origin": "http://testserver"}).status_code == 415
    assert store.read("DetectedIssue", target["id"])["status"] == "preliminary"
    done = client.post(url, json=body, headers={"Origin": "http://testserver"})
    assert done.status_code == 200 and done.json()["state"] == "dismissed"


def test_a_review_whose_fields_are_not_text_is_refused(world):
    """Found by schemathesis: an owner, note or reason that is not text was a 500."""
    _, outbreak, call = world
    alert = next(a for a in call("GET", "bs.tinh", "/alerts", params={"state": "all"}).json()
                 ["alerts"] if a["commune"] == outbreak.commune)  # fmt: skip
    for action, body in (("confirm", {"owner": [None]}), ("confirm", {"note": 7}),
                         ("dismiss", {"reason": True})):  # fmt: skip
        refused = call("POST", "bs.tinh", f"/alerts/{alert['id']}/{action}", json=body)
        assert refused.status_code == 400, refused.text
        assert refused.json()["issue"][0]["expression"] == list(body)
