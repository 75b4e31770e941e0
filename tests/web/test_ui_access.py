"""Access through the UI: login with CSRF and throttling, sessions, and what each role may see."""

import pytest
from fastapi.testclient import TestClient

from songkhoe.app import create_app
from songkhoe.auth.service import grant_access

from .conftest import HOME, NEIGHBOUR, PASSWORD, add_users, csrf_of, logged_in, patient


@pytest.fixture
def ui(store):
    store.create_many(
        [
            patient("lan", HOME, "Nguyễn", "Thị Lan", "027160000001"),
            patient("mai", NEIGHBOUR, "Nguyễn", "Thị Mai", "027160000002"),
        ]
    )
    roles = {
        "worker": ("commune_health_worker", f"commune:{HOME}"),
        "manager": ("provincial_manager", "province:24"),
        "specialist": ("specialist", "facility:bv-bach-mai"),
    }
    return store, add_users(store, roles)


def test_visitors_are_sent_to_login(ui):
    client = TestClient(create_app(store=ui[0]))
    for path in ("/", "/people?q=lan", "/people/lan"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/login"
    page = client.get("/login")
    assert 'lang="vi"' in page.text and "Đăng nhập" in page.text


def test_login_needs_the_csrf_token(ui):
    client = TestClient(create_app(store=ui[0]))
    client.get("/login")
    forged = client.post(
        "/login", data={"username": "worker", "password": PASSWORD, "csrf": "forged"}
    )
    assert forged.status_code == 403
    assert "sk_session" not in forged.headers.get("set-cookie", "")


def test_repeated_failures_are_throttled(ui):
    client = TestClient(create_app(store=ui[0]))
    statuses = []
    for _ in range(6):
        form = client.get("/login")
        statuses.append(
            client.post(
                "/login",
                data={"username": "worker", "password": "wrong", "csrf": csrf_of(form.text)},
            ).status_code
        )
    assert statuses == [401] * 5 + [429]
    form = client.get("/login")
    right = client.post(
        "/login",
        data={"username": "worker", "password": PASSWORD, "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert right.status_code == 429, "even the right password waits out the window"


def test_worker_finds_their_people_only(ui):
    client = logged_in(ui[0], "worker")
    found = client.get("/people", params={"q": "nguyen thi"})
    assert "/people/lan" in found.text and "/people/mai" not in found.text
    by_cccd = client.get("/people", params={"q": "027160000001"})
    assert "/people/lan" in by_cccd.text
    assert "/people/mai" not in client.get("/people", params={"q": "027160000002"}).text
    record = client.get("/people/lan")
    assert record.status_code == 200 and "027160000001" in record.text


def test_guessing_another_communes_id_in_the_ui_is_refused_and_audited(ui):
    store, ids = ui
    client = logged_in(store, "worker")
    refused = client.get("/people/mai")
    assert refused.status_code == 404
    assert "Nguyễn Thị Mai" not in refused.text and "027160000002" not in refused.text
    log = logged_in(store, "worker").get("/people/lan/access-log")
    assert log.status_code == 200
    from songkhoe.fhir.search import SearchRequest, page

    with store.engine.connect() as conn:
        events = [r for _, r in page(conn, "AuditEvent", SearchRequest(count=100))]
    refusals = [e for e in events if e["outcome"] == "4"]
    assert [x["what"]["reference"] for x in refusals[0]["entity"]] == ["Patient/mai"]
    assert refusals[0]["agent"][0]["who"]["identifier"]["value"] == ids["worker"]


def test_access_log_shows_who_looked(ui):
    store, _ = ui
    worker = logged_in(store, "worker")
    worker.get("/people/lan")
    log = worker.get("/people/lan/access-log")
    assert log.text.count("worker") >= 2
    assert "Được phép" in log.text


def test_manager_sees_no_names(ui):
    client = logged_in(ui[0], "manager")
    assert "Tài khoản quản lý xem số liệu tổng hợp" in client.get("/").text
    assert client.get("/people", params={"q": "nguyen"}).status_code == 403
    assert client.get("/people/lan").status_code == 403


def test_specialist_sees_a_shared_person_only(ui):
    store, ids = ui
    client = logged_in(store, "specialist")
    assert client.get("/people/lan").status_code == 404
    grant_access(
        store.engine,
        user_id=ids["specialist"],
        patient_id="lan",
        reason="Hội chẩn",
        granted_by=ids["worker"],
    )
    assert client.get("/people/lan").status_code == 200
    assert client.get("/people/mai").status_code == 404


def test_logout_needs_csrf_and_ends_the_session(ui):
    client = logged_in(ui[0], "worker")
    home = client.get("/")
    assert client.post("/logout", data={"csrf": "forged"}).status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200
    client.post("/logout", data={"csrf": csrf_of(home.text)})
    assert client.get("/", follow_redirects=False).status_code == 303
