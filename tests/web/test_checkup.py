"""Check-up entry: the saved check-up is shown by a page of its own (POST/redirect/GET), so that
refreshing it saves nothing; and a check-up typed with an earlier date than the one the
person's risk comes from leaves that newer risk in place."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from songkhoe.db.tables import resource
from songkhoe.ncd import checkup as ncd_checkup
from songkhoe.ncd.scores import who_cvd_lab
from songkhoe.ncd.service import assessment_id

from .conftest import HOME, NEIGHBOUR, add_users, csrf_of, logged_in, patient

PATH = "/people/lan/checkup"


@pytest.fixture
def clinic(store):
    store.create_many([patient("lan", HOME, "Nguyễn", "Thị Lan", "027160000001")])
    add_users(
        store,
        {
            "worker": ("commune_health_worker", f"commune:{HOME}"),
            "neighbour": ("commune_health_worker", f"commune:{NEIGHBOUR}"),
        },
    )
    return store


def count(store, resource_type: str) -> int:
    with store.engine.connect() as conn:
        return conn.execute(
            select(func.count()).where(resource.c.res_type == resource_type, resource.c.is_current)
        ).scalar_one()


def checkup(day: date, sbp: int, dbp: int, cholesterol: float, smoking: str = "current") -> dict:
    return {
        "day": day.isoformat(),
        "sbp": str(sbp),
        "dbp": str(dbp),
        "smoking": smoking,
        "cholesterol": str(cholesterol),
    }


def expected_risk(day: date, sbp: float, cholesterol: float, smoker: bool) -> float:
    age = (day - date(1960, 5, 1)).days / 365.25
    return round(float(who_cvd_lab(["female"], [age], [smoker], [0.0], [sbp], [cholesterol])[0]), 1)


def test_a_saved_checkup_is_shown_by_a_get_that_a_refresh_repeats_harmlessly(clinic):
    worker = logged_in(clinic, "worker")
    day = datetime.now(UTC).date() - timedelta(days=1)
    data = {"csrf": csrf_of(worker.get(PATH).text), **checkup(day, 162, 101, 6.8)}
    saved = worker.post(PATH, data=data, follow_redirects=False)
    assert saved.status_code == 303
    assert saved.headers["location"].startswith(f"{PATH}/")
    on_screen = worker.get(saved.headers["location"])
    assert on_screen.status_code == 200
    risk = expected_risk(day, 162, 6.8, True)
    assert f"<strong>{risk}%</strong>" in on_screen.text and "162/101 mmHg" in on_screen.text
    shown = worker.post(PATH, data=data)  # as a browser does: the POST, then the page
    assert count(clinic, "Encounter") == 2
    refreshed = worker.send(shown.request)  # the browser's refresh repeats the page's request
    assert refreshed.status_code == 200 and f"<strong>{risk}%</strong>" in refreshed.text
    assert count(clinic, "Encounter") == 2, "a refresh saves nothing"
    assert count(clinic, "Observation") == 2 * 3  # BP, smoking and cholesterol of each
    assert logged_in(clinic, "neighbour").get(saved.headers["location"]).status_code == 404


def test_a_back_dated_checkup_leaves_the_newer_risk_in_place(clinic):
    worker = logged_in(clinic, "worker")
    csrf = csrf_of(worker.get(PATH).text)
    day = datetime.now(UTC).date() - timedelta(days=1)
    worker.post(PATH, data={"csrf": csrf, **checkup(day, 150, 95, 6.0)})
    current = clinic.read("RiskAssessment", assessment_id("lan"))
    newer = expected_risk(day, 150, 6.0, True)
    assert round(current["prediction"][0]["probabilityDecimal"] * 100, 1) == newer

    earlier = day - timedelta(days=400)
    old = worker.post(PATH, data={"csrf": csrf, **checkup(earlier, 178, 104, 7.9, "never")})
    assert old.status_code == 200 and count(clinic, "Encounter") == 2
    assert f"<strong>{expected_risk(earlier, 178, 7.9, False)}%</strong>" in old.text
    kept = clinic.read("RiskAssessment", assessment_id("lan"))
    assert kept == current, "the risk of the newer check-up stays"
    assert "lần khám mới hơn" in old.text  # the page says the current risk is a newer one's
    chart = worker.get("/people/lan").text
    assert f"{newer}%" in chart

    worker.post(PATH, data={"csrf": csrf, **checkup(day, 128, 80, 5.0, "never")})  # same day
    latest = clinic.read("RiskAssessment", assessment_id("lan"))
    assert latest["meta"]["versionId"] == "2"
    assert round(latest["prediction"][0]["probabilityDecimal"] * 100, 1) == expected_risk(
        day, 128, 5.0, False
    )


def test_a_risk_changed_while_saving_is_compared_again(clinic, monkeypatch):
    """Another writer changes the RiskAssessment between the comparison and the write: the
    transaction's if-match fails, and the check-up is saved once, compared with the new one."""
    worker = logged_in(clinic, "worker")
    csrf = csrf_of(worker.get(PATH).text)
    day = datetime.now(UTC).date() - timedelta(days=1)
    worker.post(PATH, data={"csrf": csrf, **checkup(day, 150, 95, 6.0)})
    risk_id = assessment_id("lan")
    write = ncd_checkup.process_bundle

    def racing(store, bundle, **options):
        if store.read("RiskAssessment", risk_id)["meta"]["versionId"] == "1":
            other = store.read("RiskAssessment", risk_id)
            store.update({**other, "occurrenceDateTime": "2099-01-01T00:00:00Z"})  # a newer one
        return write(store, bundle, **options)

    monkeypatch.setattr(ncd_checkup, "process_bundle", racing)
    saved = worker.post(PATH, data={"csrf": csrf, **checkup(day, 128, 80, 5.0, "never")})
    assert saved.status_code == 200 and count(clinic, "Encounter") == 2
    kept = clinic.read("RiskAssessment", risk_id)
    assert kept["meta"]["versionId"] == "2" and kept["occurrenceDateTime"].startswith("2099")
