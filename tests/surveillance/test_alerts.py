"""The weekly job on a synthetic province with an injected outbreak, on each backend: the alert is
raised in the right commune and week and agrees with `songkhoe surveillance detect` run on the
aggregated CSV; running it again adds nothing; the review flow keeps the status history.

The province is built once per module (a few seconds); each test looks only at the alerts of its
own method and week and reviews an alert no other test touches, so any order works."""

import csv
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from songkhoe.auth.audit import RequestContext
from songkhoe.auth.caller import Caller
from songkhoe.auth.service import create_user, user_principal
from songkhoe.cli import main
from songkhoe.db.tables import metadata, resource
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.store import ResourceStore
from songkhoe.fhir.validation import validate
from songkhoe.places.catalog import communes
from songkhoe.surveillance import aggregation as agg
from songkhoe.surveillance import service
from songkhoe.surveillance.alerts import signal_of, state_of
from songkhoe.surveillance.synth_cases import DEMO_DISEASES, synthetic_province

PROVINCE = "12"  # Lai Châu: 38 communes
AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def world(migrated_engine):
    with migrated_engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    store = ResourceStore(migrated_engine)
    outbreak = synthetic_province(store, province_code=PROVINCE, people=600, seed=5, as_of=AS_OF)
    report = service.run_weekly(store, week=outbreak.week)
    return store, outbreak, report


def count(store, resource_type: str) -> int:
    with store.engine.connect() as conn:
        return conn.execute(
            select(func.count()).where(resource.c.res_type == resource_type, resource.c.is_current)
        ).scalar_one()


def officer(store, name: str, role: str, place: str) -> Caller:
    user_id = create_user(store.engine, username=name, password="mật-khẩu-đủ-dài", role=role,
                          place=place, full_name=name)  # fmt: skip
    return Caller(store, user_principal(store.engine, user_id), RequestContext("127.0.0.1"))


# The synthetic province has cases of each of the DEMO_DISEASES and of no other disease, and
# the weekly job evaluates one series per commune for each disease with a case up to the week.
SERIES = len(communes(PROVINCE)) * len(DEMO_DISEASES)  # 38 x 6 = 228


def alerts_of(store, method: str, week: date) -> list[dict]:
    return [a for a in service.all_alerts(store)
            if (signal_of(a).method, signal_of(a).week) == (method, week)]  # fmt: skip


def test_the_outbreak_raises_an_alert_in_its_commune_and_week(world):
    store, outbreak, report = world
    alerts = alerts_of(store, "noufaily", outbreak.week)
    signals = [signal_of(a) for a in alerts]
    hits = [s for s in signals if (s.commune, s.disease) == (outbreak.commune, "dengue")]
    assert len(hits) == 1, signals
    hit = hits[0]
    assert hit.count >= outbreak.cases and hit.upperbound < hit.count
    assert hit.recent[-1] == hit.count and len(hit.recent) == 8
    assert report.series == SERIES == 228
    assert report.alarms == len(alerts) and report.created == len(alerts)
    assert len(alerts) <= 5, "a handful of false alarms at most in 228 series"
    for alert in alerts:
        first = store.history("DetectedIssue", alert["id"])[-1].resource  # as the job wrote it
        validate(first)
        assert state_of(first) == "open" and first["meta"]["versionId"] == "1"


def test_the_week_before_the_outbreak_has_no_alarm_there(world):
    store, outbreak, _ = world
    week = outbreak.week - timedelta(weeks=1)
    before = service.run_weekly(store, week=week)
    earlier = [signal_of(a) for a in alerts_of(store, "noufaily", week)]
    assert not [s for s in earlier if (s.commune, s.disease) == (outbreak.commune, "dengue")]
    assert before.series == SERIES and before.alarms == len(earlier)


def test_running_the_job_again_adds_no_alert(world):
    store, outbreak, _ = world
    alerts = count(store, "DetectedIssue")
    again = service.run_weekly(store, week=outbreak.week)
    assert again.created == 0 and again.alarms >= 1
    assert count(store, "DetectedIssue") == alerts


def test_alerts_agree_with_the_detect_command_on_the_aggregated_csv(world, tmp_path, monkeypatch):
    store, outbreak, _ = world
    monkeypatch.setenv("SONGKHOE_DATABASE_URL", store.engine.url.render_as_string(False))
    weekly, out = tmp_path / "weekly.csv", tmp_path / "alarms.csv"
    label = agg.week_label(outbreak.week)
    for argv in (
        ["surveillance", "aggregate", "--province", PROVINCE, "--disease", "dengue",
         "--to", label, "--output", str(weekly)],
        ["surveillance", "detect", str(weekly), "--method", "noufaily",
         "--from", outbreak.week.isoformat(), "--output", str(out)],
    ):  # fmt: skip
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 0
    with out.open() as handle:
        alarms = {row["unit"] for row in csv.DictReader(handle) if row["alarm"] == "true"}
    raised = {
        signal_of(a).commune
        for a in alerts_of(store, "noufaily", outbreak.week)
        if signal_of(a).disease == "dengue"
    }
    assert outbreak.commune in alarms and alarms == raised


def test_review_confirm_makes_a_task_and_keeps_the_history(world):
    store, outbreak, _ = world
    manager = officer(store, "pm.review", "provincial_manager", f"province:{PROVINCE}")
    target = next(a for a in alerts_of(store, "noufaily", outbreak.week)
                  if (signal_of(a).commune, signal_of(a).disease) ==
                  (outbreak.commune, "dengue"))  # fmt: skip
    done = service.review_alert(manager, target["id"], action="confirm", note="đã xác minh")
    assert state_of(done.alert) == "confirmed" and done.alert["meta"]["versionId"] == "2"
    validate(done.task)
    assert done.task["owner"]["reference"] == f"Organization/tyt-{outbreak.commune}"
    assert done.task["focus"]["reference"] == f"DetectedIssue/{target['id']}"
    history = service.alert_history(store, manager.principal, target["id"])
    assert [state_of(v) for v in history] == ["open", "confirmed"]
    with pytest.raises(FhirError) as again:
        service.review_alert(manager, target["id"], action="dismiss", note="nhầm")
    assert again.value.status == 409
    with store.engine.connect() as conn:
        events = [e for e in conn.execute(select(resource.c.content).where(
            resource.c.res_type == "AuditEvent")).scalars()
            if any(x["what"]["reference"] == f"DetectedIssue/{target['id']}"
                   for x in e.get("entity", []) if "what" in x)]  # fmt: skip
    assert len(events) == 1 and events[0]["agent"][0]["who"]["display"] == "pm.review"


def test_dismissal_needs_a_reason_and_officers_of_the_place(world):
    store, outbreak, _ = world
    doctor = officer(store, "bs.review", "doctor", f"province:{PROVINCE}")
    far = officer(store, "bs.far", "doctor", "province:24")
    worker = officer(store, "yt.review", "commune_health_worker", f"commune:{outbreak.commune}")
    service.run_weekly(store, week=outbreak.week, method="ears-c1")  # its own alerts
    target = next(a for a in service.list_alerts(store, doctor.principal)
                  if signal_of(a).method == "ears-c1")  # fmt: skip
    with pytest.raises(FhirError) as blank:
        service.review_alert(doctor, target["id"], action="dismiss", note="  ")
    assert blank.value.status == 400 and "reason" in str(blank.value)
    assert state_of(store.read("DetectedIssue", target["id"])) == "open"
    for outsider, status in ((far, 404), (worker, 403)):
        with pytest.raises(FhirError) as refused:
            service.review_alert(outsider, target["id"], action="dismiss", note="không phải dịch")
        assert refused.value.status == status
    assert service.list_alerts(store, far.principal) == []
    done = service.review_alert(doctor, target["id"], action="dismiss", note="ca nhập viện cũ")
    assert state_of(done.alert) == "dismissed" and done.task is None
    assert done.alert["mitigation"][-1]["action"]["text"] == "ca nhập viện cũ"
