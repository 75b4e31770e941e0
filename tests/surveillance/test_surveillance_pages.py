"""Surveillance pages as plain HTML on each backend: alerts and their review form (CSRF-checked),
the case-report form with its errors, the province chart (SVG) and forecast, the home panel."""

import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from songkhoe.app import create_app
from songkhoe.auth.service import create_user
from songkhoe.db.tables import metadata, resource
from songkhoe.fhir.store import ResourceStore
from songkhoe.surveillance import service
from songkhoe.surveillance.aggregation import today
from songkhoe.surveillance.cases import CaseInput, case_condition
from songkhoe.surveillance.diseases import DISEASES, REPORT_WITHIN_HOURS, category, concept
from songkhoe.surveillance.synth_cases import registered_people, synthetic_province
from songkhoe.surveillance.views import BACKTEST_WEEKS
from songkhoe.timezones import local_time

PROVINCE = "12"
PASSWORD = "mật-khẩu-đủ-dài"


@pytest.fixture(scope="module")
def world(migrated_engine):
    with migrated_engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    store = ResourceStore(migrated_engine)
    outbreak = synthetic_province(store, province_code=PROVINCE, people=500, seed=13,
                                  as_of=date(2026, 6, 30))  # fmt: skip
    service.run_weekly(store, week=outbreak.week)
    for name, role, place in (
        ("ql.trang", "provincial_manager", f"province:{PROVINCE}"),
        ("yt.trang", "commune_health_worker", f"commune:{outbreak.commune}"),
        ("cg.trang", "specialist", "national"),
    ):
        create_user(store.engine, username=name, password=PASSWORD, role=role, place=place,
                    full_name=name)  # fmt: skip
    return store, outbreak


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html)[1]


def logged_in(store, username: str) -> TestClient:
    client = TestClient(create_app(store=store))
    form = client.get("/login")
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                           "csrf": csrf_of(form.text)}, follow_redirects=False)  # fmt: skip
    assert response.status_code == 303
    return client


def conditions(store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).where(resource.c.res_type == "Condition",
                            resource.c.is_current)).scalar_one()  # fmt: skip


def test_an_officer_reviews_an_alert_in_the_pages(world):
    store, outbreak = world
    client = logged_in(store, "ql.trang")
    home = client.get("/")
    assert "Cảnh báo đang chờ xem xét" in home.text and 'href="/surveillance"' in home.text
    index = client.get("/surveillance")
    assert index.status_code == 200
    alert_id = next(
        a["id"] for a in service.list_alerts(store, service_principal(store, "ql.trang"))
        if a["implicated"][0]["reference"] == f"Location/comm-{outbreak.commune}"
    )  # fmt: skip
    assert f"/surveillance/alerts/{alert_id}" in index.text
    detail = client.get(f"/surveillance/alerts/{alert_id}")
    assert detail.status_code == 200 and "<svg" in detail.text and "Chờ xem xét" in detail.text
    assert 'style="' not in detail.text
    forged = client.post(f"/surveillance/alerts/{alert_id}",
                         data={"action": "dismiss", "reason": "xyz", "csrf": "forged"})  # fmt: skip
    assert forged.status_code == 403
    token = csrf_of(detail.text)
    blank = client.post(f"/surveillance/alerts/{alert_id}",
                        data={"action": "dismiss", "reason": "", "csrf": token})  # fmt: skip
    assert blank.status_code == 400 and "reason" in blank.text
    done = client.post(f"/surveillance/alerts/{alert_id}", data={"action": "confirm",
                       "owner": f"tyt-{outbreak.commune}", "note": "", "csrf": token},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    after = client.get(f"/surveillance/alerts/{alert_id}")
    assert "Đã xác nhận" in after.text and "Nhiệm vụ điều tra" in after.text
    assert "ql.trang" in after.text and 'name="action"' not in after.text
    for version in store.history("DetectedIssue", alert_id):  # times in Vietnam, not UTC
        stamp = version.resource["meta"]["lastUpdated"]
        assert f"<td>{local_time(stamp)}</td>" in after.text
        assert stamp[:16].replace("T", " ") not in after.text


def service_principal(store, username: str):
    from songkhoe.auth.service import user_id_of, user_principal

    return user_principal(store.engine, user_id_of(store.engine, username))


def test_a_worker_reports_a_case_with_the_form(world, monkeypatch):
    store, outbreak = world
    client = logged_in(store, "yt.trang")
    assert client.get("/surveillance/alerts/x").status_code == 403
    patient = str(registered_people(store, PROVINCE)[outbreak.commune].ids[0])
    chart = client.get(f"/people/{patient}")
    assert f"/surveillance/cases/new?patient={patient}" in chart.text
    form = client.get(f"/surveillance/cases/new?patient={patient}")
    assert form.status_code == 200 and f'value="{patient}"' in form.text
    assert "bệnh nhóm A: trong vòng 24 giờ; bệnh nhóm B: trong vòng 48 giờ." in form.text
    monkeypatch.setitem(REPORT_WITHIN_HOURS, "A", 12)  # the page follows Disease's field
    assert "bệnh nhóm A: trong vòng 12 giờ" in client.get("/surveillance/cases/new").text
    before = conditions(store)
    future = (today() + timedelta(days=3)).isoformat()
    bad = client.post("/surveillance/cases", data={"csrf": csrf_of(form.text), "patient": patient,
                      "disease": "measles", "onset": future})  # fmt: skip
    assert bad.status_code == 400 and "onset" in bad.text and "future" in bad.text
    assert f'value="{future}"' in bad.text  # the form keeps what was typed
    assert conditions(store) == before
    good = client.post("/surveillance/cases", data={"csrf": csrf_of(form.text), "patient": patient,
                       "disease": "measles", "onset": today().isoformat(), "commune": "",
                       "classification": "probable"}, follow_redirects=True)  # fmt: skip
    assert good.status_code == 200 and "Đã ghi nhận" in good.text
    assert conditions(store) == before + 1


def test_the_province_page_shows_the_chart_and_the_forecast(world):
    store, _ = world
    client = logged_in(store, "ql.trang")
    page = client.get(f"/surveillance/province/{PROVINCE}", params={"disease": "dengue"})
    assert page.status_code == 200
    assert '<svg class="surv-chart"' in page.text and 'class="bar alarm"' in page.text
    assert page.text.count('class="band95"') == 1 and "surv-backtest" in page.text
    assert "/static/surveillance.css" in page.text and 'style="' not in page.text
    assert client.get("/surveillance/province/24").status_code == 403
    assert client.get(f"/surveillance/province/{PROVINCE}?disease=x").status_code == 404
    worker = logged_in(store, "yt.trang")
    assert worker.get(f"/surveillance/province/{PROVINCE}").status_code == 403
    assert worker.get("/surveillance").status_code == 200  # the case-report link
    specialist = logged_in(store, "cg.trang")  # the whole country, but not an officer
    assert specialist.get(f"/surveillance/province/{PROVINCE}").status_code == 403


def test_the_province_page_says_how_many_reports_could_not_be_placed(world):
    store, outbreak = world
    client = logged_in(store, "ql.trang")
    url = f"/surveillance/province/{PROVINCE}"
    assert "không xếp được" not in client.get(url, params={"disease": "measles"}).text
    patient = str(registered_people(store, PROVINCE)[outbreak.commune].ids[1])
    unplaced = {  # e.g. written through /fhir without the case-commune extension
        "resourceType": "Condition",
        "category": [category(DISEASES["measles"])],
        "code": concept(DISEASES["measles"]),
        "subject": {"reference": f"Patient/{patient}"},
        "onsetDateTime": "2026-06-01",
    }
    created = store.create(unplaced)
    try:
        page = client.get(url, params={"disease": "measles"})
        assert "1 báo cáo ca bệnh không xếp được vào xã và tuần nào" in page.text
    finally:
        store.delete("Condition", created["id"])


def test_the_back_test_is_computed_once_per_series(world):
    store, outbreak = world
    client = logged_in(store, "ql.trang")
    url = f"/surveillance/province/{PROVINCE}"
    first = service.province_forecast(store, province_code=PROVINCE, disease="hfmd",
                                      backtest_weeks=BACKTEST_WEEKS)  # fmt: skip
    hits = service._forecasts.cache_info().hits
    assert client.get(url, params={"disease": "hfmd"}).status_code == 200
    assert service._forecasts.cache_info().hits == hits + 1
    again = service.province_forecast(store, province_code=PROVINCE, disease="hfmd",
                                      backtest_weeks=BACKTEST_WEEKS)  # fmt: skip
    assert again.backtest is first.backtest
    late = case_condition(  # a late report of a past week changes the series: refitted
        CaseInput(str(registered_people(store, PROVINCE)[outbreak.commune].ids[2]),
                  DISEASES["hfmd"], "B08.4", outbreak.week, outbreak.commune, "suspected", None),
        commune_code=outbreak.commune, recorded="2026-06-29T01:00:00Z",
    )  # fmt: skip
    created = store.create(late)
    try:
        changed = service.province_forecast(store, province_code=PROVINCE, disease="hfmd",
                                            backtest_weeks=BACKTEST_WEEKS)  # fmt: skip
        assert changed.counts.sum() == first.counts.sum() + 1
        assert changed.backtest is not first.backtest
    finally:
        store.delete("Condition", created["id"])
