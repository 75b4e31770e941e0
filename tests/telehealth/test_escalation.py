"""A missed response target escalates the case to the queue's backup (controlled clock), until
the recommendation; a case changed meanwhile is never escalated over, nor flagged twice."""

from datetime import timedelta

import pytest

from songkhoe.auth.audit import RequestContext
from songkhoe.auth.caller import Caller
from songkhoe.fhir.outcomes import FhirError
from songkhoe.telehealth import escalation, service
from songkhoe.telehealth.escalation import ESCALATOR, escalate, escalate_overdue, overdue
from songkhoe.telehealth.models import business_status
from songkhoe.telehealth.queues import configure_queue

from .conftest import T0
from .test_access import open_xray_case


def test_an_emergency_unanswered_for_an_hour_goes_to_the_backup(world):
    case = open_xray_case(world, urgency="emergency")
    routine = open_xray_case(world, urgency="routine")
    assert escalate_overdue(world.store, T0 + timedelta(minutes=59)) == []
    assert escalate_overdue(world.store, T0 + timedelta(minutes=61)) == [case.id]

    task = world.store.read("Task", case.id)
    assert task["owner"]["reference"] == f"Practitioner/{world.ids['bs.duphong']}"
    assert task["businessStatus"] == business_status("escalated")
    assert task["restriction"]["period"]["end"] == "2025-03-01T04:01:00.000Z"  # a new hour
    backup = service.load_case(world.caller("bs.duphong"), case.id)
    assert backup.owner_id == world.ids["bs.duphong"]
    with pytest.raises(FhirError):  # no longer the first specialist's case
        service.load_case(world.caller("bs.xquang"), case.id)
    assert world.store.read("Task", routine.id)["owner"]["reference"].endswith(
        world.ids["bs.xquang"]
    )

    # the backup misses it too: nobody is left, so the case is flagged overdue, once
    assert escalate_overdue(world.store, T0 + timedelta(hours=3)) == []
    flagged = world.store.read("Task", case.id)
    assert flagged["businessStatus"] == business_status("overdue")
    assert flagged["owner"] == task["owner"]
    escalator = Caller(world.store, ESCALATOR, RequestContext(None))
    assert case.id not in [c.id for c in overdue(escalator, T0 + timedelta(hours=4))]
    escalate_overdue(world.store, T0 + timedelta(hours=4))
    assert world.store.history("Task", case.id)[0].version == 3 == int(flagged["meta"]["versionId"])


def test_an_accepted_case_unanswered_past_its_deadline_is_escalated(world):
    case = open_xray_case(world, urgency="emergency")
    specialist = world.caller("bs.xquang")
    service.accept(specialist, case=service.load_case(specialist, case.id), now=T0)
    service.post_message(specialist, case=service.load_case(specialist, case.id),
                         text="Đang xem phim", now=T0)  # fmt: skip
    assert escalate_overdue(world.store, T0 + timedelta(minutes=30)) == []
    assert escalate_overdue(world.store, T0 + timedelta(hours=2)) == [case.id]
    task = world.store.read("Task", case.id)
    assert task["owner"]["reference"].endswith(world.ids["bs.duphong"])
    assert task["status"] == "requested"  # for the backup to accept
    answered = open_xray_case(world, urgency="emergency")
    service.recommend(specialist, case=service.load_case(specialist, answered.id),
                      action="follow-up", advice="Ổn", diagnosis="", refer_to="",
                      now=T0)  # fmt: skip
    assert escalate_overdue(world.store, T0 + timedelta(days=4)) == []  # answered in time


def test_a_case_changed_after_the_scan_is_left_alone(world):
    case = open_xray_case(world, urgency="emergency")
    escalator = Caller(world.store, ESCALATOR, RequestContext(None))
    (scanned,) = overdue(escalator, T0 + timedelta(hours=2))
    specialist = world.caller("bs.xquang")  # accepts late, between the scan and the write
    service.accept(specialist, case=service.load_case(specialist, case.id), now=T0)
    assert escalate(escalator, case=scanned, now=T0 + timedelta(hours=2)) is False
    task = world.store.read("Task", case.id)
    assert task["status"] == "accepted" and task["owner"]["reference"].endswith(
        world.ids["bs.xquang"]
    )


def test_a_late_accept_cannot_undo_an_escalation(world):
    case = open_xray_case(world, urgency="emergency")
    specialist = world.caller("bs.xquang")
    stale = service.load_case(specialist, case.id)  # the page opened before the deadline
    assert escalate_overdue(world.store, T0 + timedelta(hours=2)) == [case.id]
    with pytest.raises(FhirError):
        service.accept(specialist, case=stale, now=T0 + timedelta(hours=2))
    assert world.store.read("Task", case.id)["owner"]["reference"].endswith(world.ids["bs.duphong"])


def test_the_scan_pages_through_every_overdue_case(world, monkeypatch):
    monkeypatch.setattr(escalation, "PAGE", 2)
    cases = [open_xray_case(world, urgency="urgent") for _ in range(5)]
    done = escalate_overdue(world.store, T0 + timedelta(hours=25))
    assert sorted(done) == sorted(c.id for c in cases)


def test_cases_go_to_the_least_loaded_specialist(world):
    configure_queue(world.store, facility_id="bv-bach-mai", specialty="radiology",
                    specialists=["bs.xquang", "bs.khac"], backups=["bs.duphong"])  # fmt: skip
    owners = [open_xray_case(world).owner_id for _ in range(3)]
    assert owners == [world.ids["bs.xquang"], world.ids["bs.khac"], world.ids["bs.xquang"]]
    specialist = world.caller("bs.xquang")
    for case_id in {c.id for c in service.cases_for(specialist)}:
        service.recommend(specialist, case=service.load_case(specialist, case_id),
                          action="follow-up", advice="Ổn", diagnosis="", refer_to="",
                          now=T0)  # fmt: skip
    assert open_xray_case(world).owner_id == world.ids["bs.xquang"]  # answered: 0 open vs 1
