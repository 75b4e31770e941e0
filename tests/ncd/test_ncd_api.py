"""Access to the NCD API: aggregates for whoever's place covers them, worklists for the commune's
staff only, every worklist read audited, by the same rule as the worklist pages; bearer token or
UI session."""

from collections import Counter
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from songkhoe.app import create_app
from songkhoe.auth.service import create_session, create_user, issue_token, user_principal
from songkhoe.db.tables import resource
from songkhoe.web.session import SESSION_COOKIE

PASSWORD = "mật-khẩu-đủ-dài"


@pytest.fixture(scope="module")
def world(province, raw):
    app = create_app(store=province)
    client = TestClient(app)
    home, neighbour = (
        c for c, _ in Counter(raw.commune_of(p) for p in raw["Patient"]).most_common(2)
    )
    tokens, ids = {}, {}
    for username, role, place in (
        ("ncd.manager", "provincial_manager", "province:12"),
        ("ncd.worker", "commune_health_worker", f"commune:{home}"),
        ("ncd.doctor", "doctor", "province:12"),
        ("ncd.far.doctor", "doctor", "province:33"),
        ("ncd.far.admin", "admin", "province:33"),
    ):
        ids[username] = create_user(province.engine, username=username, password=PASSWORD,
                                    role=role, place=place, full_name=username)  # fmt: skip
        scopes = "user/*.read" if role.endswith("manager") else "user/*.*"
        tokens[username] = issue_token(
            province.engine, scopes=scopes, expires_in=timedelta(hours=1), user_id=ids[username]
        )

    def get(username: str | None, path: str, **params):
        headers = {"Authorization": f"Bearer {tokens[username]}"} if username else {}
        return client.get(f"/api/ncd/{path}", params=params, headers=headers)

    return province, client, get, home, neighbour, ids


def audit_queries(store) -> list[dict]:
    with store.engine.connect() as conn:
        events = conn.execute(
            select(resource.c.content)
            .where(resource.c.res_type == "AuditEvent")
            .order_by(resource.c.last_updated)
        ).scalars()
        return [e for e in events if any("query" in x for x in e.get("entity", []))]


def test_a_manager_sees_indicators_but_no_worklist(world):
    _, _, get, home, _, _ = world
    response = get("ncd.manager", "indicators", province="12", month="2026-06", by="commune")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rows"][0]["place_code"] == "12" and len(body["rows"]) == 39
    assert body["projections_as_of"]
    refused = get("ncd.manager", "worklists/overdue", commune=home)
    assert refused.status_code == 403
    assert refused.json()["resourceType"] == "OperationOutcome"


def test_a_worker_gets_their_communes_worklist_audited(world):
    store, _, get, home, neighbour, _ = world
    before = len(audit_queries(store))
    response = get("ncd.worker", "worklists/uncontrolled", commune=home, as_of="2026-06-30")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["commune"] == home and body["total"] == len(body["entries"])
    events = audit_queries(store)
    assert len(events) == before + 1
    named = {e["what"]["reference"] for e in events[-1]["entity"] if "what" in e}
    assert named == {f"Patient/{e['patient_id']}" for e in body["entries"]}
    other = get("ncd.worker", "worklists/uncontrolled", commune=neighbour)
    assert other.status_code == 403
    assert audit_queries(store)[-1]["outcome"] == "4"  # refused, and recorded


def test_a_worker_sees_their_communes_indicators_not_the_provinces(world):
    _, _, get, home, neighbour, _ = world
    assert get("ncd.worker", "indicators", commune=home, month="2026-06").status_code == 200
    assert get("ncd.worker", "indicators", commune=neighbour, month="2026-06").status_code == 403
    assert get("ncd.worker", "indicators", province="12", month="2026-06").status_code == 403


def test_doctors_of_the_province_only(world):
    _, _, get, home, _, _ = world
    assert get("ncd.doctor", "worklists/lung-screening", commune=home).status_code == 200
    assert get("ncd.far.doctor", "worklists/lung-screening", commune=home).status_code == 403


def test_the_api_and_the_pages_refuse_alike_and_audit_it(world):
    """An administrator of another province: the API used to let any unrestricted caller read
    any commune's lists, the pages only those of the viewer's place. The stricter rule holds at
    both doors, and each refusal is audited."""
    store, client, get, home, _, ids = world
    cookie, _ = create_session(store.engine, user_principal(store.engine, ids["ncd.far.admin"]))
    browser = TestClient(client.app, cookies={SESSION_COOKIE: cookie})
    before = len(audit_queries(store))
    assert get("ncd.far.admin", "worklists/overdue", commune=home).status_code == 403
    assert browser.get("/api/ncd/worklists/overdue", params={"commune": home}).status_code == 403
    page = browser.get("/worklists/overdue", params={"commune": home})
    assert page.status_code == 403 and "trạm y tế xã" in page.text
    refusals = audit_queries(store)[before:]
    assert [e["outcome"] for e in refusals] == ["4", "4", "4"]


def test_the_ui_session_works_too_and_nobody_else(world):
    store, client, get, home, _, ids = world
    cookie, _ = create_session(store.engine, user_principal(store.engine, ids["ncd.worker"]))
    browser = TestClient(client.app, cookies={SESSION_COOKIE: cookie})
    response = browser.get("/api/ncd/worklists/overdue", params={"commune": home})
    assert response.status_code == 200, response.text
    assert get(None, "worklists/overdue", commune=home).status_code == 401
    assert get(None, "indicators", province="12", month="2026-06").status_code == 401


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("indicators", {"province": "12", "month": "2026-13"}, 400),
        ("indicators", {"province": "99", "month": "2026-06"}, 400),
        ("indicators", {"month": "2026-06"}, 400),
        ("worklists/nope", {"commune": "HOME"}, 404),
        ("worklists/overdue", {"commune": "HOME", "as_of": "yesterday"}, 400),
    ],
)
def test_bad_requests_are_named(world, path, params, status):
    _, _, get, home, _, _ = world
    params = {k: home if v == "HOME" else v for k, v in params.items()}
    response = get("ncd.doctor", path, **params)
    assert response.status_code == status, response.text
    assert response.json()["resourceType"] == "OperationOutcome"


def test_a_deleted_person_leaves_the_worklist_before_the_next_refresh(world):
    """The lists come from projections rebuilt in bulk; the API answers with live, visible
    Patients only (a person deleted or moved away since the refresh is left out)."""
    store, _, get, home, _, _ = world
    path = "worklists/overdue"
    listed = get("ncd.worker", path, commune=home, as_of="2026-06-30").json()
    assert listed["entries"], "the test province should have someone overdue"
    gone = listed["entries"][0]["patient_id"]
    content = store.read("Patient", gone)
    store.delete("Patient", gone)
    try:
        after = get("ncd.worker", path, commune=home, as_of="2026-06-30")
        body = after.json()
        assert gone not in {e["patient_id"] for e in body["entries"]}
        assert body["total"] == listed["total"] - 1
    finally:
        store.update({k: v for k, v in content.items() if k != "meta"})
