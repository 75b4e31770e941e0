"""A missed response target escalates the case to the queue's backup (controlled clock)."""

from datetime import timedelta

import pytest

from songkhoe.fhir.outcomes import FhirError
from songkhoe.telehealth import service
from songkhoe.telehealth.escalation import escalate_overdue

from .conftest import T0
from .test_access import open_xray_case


def test_an_emergency_unanswered_for_an_hour_goes_to_the_backup(world):
    case = open_xray_case(world, urgency="emergency")
    routine = open_xray_case(world, urgency="routine")
    assert escalate_overdue(world.store, T0 + timedelta(minutes=59)) == []
    assert escalate_overdue(world.store, T0 + timedelta(minutes=61)) == [case.id]

    task = world.store.read("Task", case.id)
    assert task["owner"]["reference"] == f"Practitioner/{world.ids['bs.duphong']}"
    assert task["businessStatus"] == {"text": "escalated"}
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
    assert flagged["businessStatus"] == {"text": "overdue"}
    assert flagged["owner"] == task["owner"]
    escalate_overdue(world.store, T0 + timedelta(hours=4))
    assert world.store.history("Task", case.id)[0].version == 3 == int(flagged["meta"]["versionId"])


def test_an_accepted_case_is_not_escalated(world):
    case = open_xray_case(world, urgency="emergency")
    specialist = world.caller("bs.xquang")
    service.accept(specialist, service.load_case(specialist, case.id), T0)
    assert escalate_overdue(world.store, T0 + timedelta(hours=2)) == []
    assert world.store.read("Task", case.id)["owner"]["reference"].endswith(world.ids["bs.xquang"])
    assert escalate_overdue(world.store, T0 + timedelta(days=4)) == []
