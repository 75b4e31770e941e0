"""The telehealth and prescription routes as the app serves them: logged-in only, forms checked
for their CSRF token, and the escalation of overdue consultations running with the app."""

import re
import threading

from fastapi.testclient import TestClient

from songkhoe.app import create_app
from songkhoe.telehealth import service, views

from .conftest import PASSWORD
from .test_access import open_xray_case


def logged_in(store, username: str) -> TestClient:
    client = TestClient(create_app(store=store))
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)[1]
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf": token})
    return client


def test_visitors_are_sent_to_login(world):
    case = open_xray_case(world)
    client = TestClient(create_app(store=world.store))
    pages = ["/telehealth", "/telehealth/cases/new?patient=lan", f"/telehealth/cases/{case.id}",
             "/telehealth/referrals/new?patient=lan", "/prescriptions/new?patient=lan",
             "/prescriptions/RX1/pdf"]  # fmt: skip
    for path in pages:
        answer = client.get(path, follow_redirects=False)
        assert (answer.status_code, answer.headers.get("location")) == (303, "/login"), path
    for path in ("/telehealth/cases", f"/telehealth/cases/{case.id}/accept", "/prescriptions"):
        answer = client.post(path, data={"csrf": "x"}, follow_redirects=False)
        assert (answer.status_code, answer.headers.get("location")) == (303, "/login"), path


def test_a_form_without_the_session_token_changes_nothing(world):
    case = open_xray_case(world)
    specialist = logged_in(world.store, "bs.xquang")
    forged = specialist.post(f"/telehealth/cases/{case.id}/accept", data={"csrf": "forged"})
    assert forged.status_code == 403
    assert service.load_case(world.caller("bs.xquang"), case.id).status == "requested"
    assert specialist.post("/prescriptions", data={"patient": "lan"}).status_code == 403


def test_the_app_escalates_overdue_cases_while_it_runs(world, monkeypatch):
    started = []

    def start(store, interval_s: int) -> threading.Event:
        started.append((store, interval_s, threading.Event()))
        return started[-1][2]

    monkeypatch.setattr(views, "start_escalation", start)
    monkeypatch.setenv("SONGKHOE_ESCALATION_INTERVAL_S", "60")
    with TestClient(create_app(store=world.store)):
        assert [(store, interval) for store, interval, _ in started] == [(world.store, 60)]
        assert not started[0][2].is_set()
    assert started[0][2].is_set(), "stopped with the app"
    monkeypatch.setenv("SONGKHOE_ESCALATION_INTERVAL_S", "0")
    with TestClient(create_app(store=world.store)):
        assert len(started) == 1, "0: never"
