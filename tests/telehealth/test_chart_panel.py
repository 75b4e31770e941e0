"""The telehealth panel of a person's chart, read in one query and filtered in Python, shows each
viewer what the access rule applied in SQL (the /fhir searches) lets them open, and is audited
as one AuditEvent that lists what it shows."""

from datetime import timedelta

import pytest

from songkhoe.prescribing import service as prescribing
from songkhoe.prescribing.dosing import parse_line
from songkhoe.telehealth import referrals, service
from songkhoe.telehealth.models import MESSAGE_CATEGORY, TASK_CODE
from songkhoe.telehealth.views import chart_panel
from songkhoe.web.pages import Viewer

from .conftest import T0
from .test_access import audit_events, by_agent, open_xray_case
from .test_sharing import answered_pair

USERS = ("yta.xa", "yta.ben", "bs.xquang", "bs.khac", "bs.duphong", "bs.tinh", "quantri")


@pytest.fixture
def lan_record(world):
    """Lan's two answered consultations (A: bs.xquang, B: bs.khac), an open one with a chat
    message (C: bs.xquang), a referral to the provincial hospital from case A, two prescriptions
    signed a day apart, and a prescription from elsewhere that also names Mai (another commune)."""
    first, second = answered_pair(world)
    third = open_xray_case(world)
    specialist = world.caller("bs.xquang")
    service.post_message(specialist, case=service.load_case(specialist, third.id), text="Chào chị",
                         now=T0)  # fmt: skip
    worker = world.caller("yta.xa")
    referral = referrals.create_referral(
        worker, patient_id="lan", to_facility="bv-dk-24", diagnosis="A16.2", summary="Ho 3 tuần",
        reason="Xét nghiệm lao", urgent=True, case_id=first.id, now=T0,
    )  # fmt: skip
    codes = [
        prescribing.sign(
            worker, patient_id="lan", lines=[parse_line(1, drug, "1", "1", "5")],
            diagnoses=["I10"], acknowledged=set(), advice="", now=T0 + timedelta(days=day),
        ).code
        for day, drug in ((1, "PAR500"), (2, "OME20"))
    ]  # fmt: skip
    elsewhere = {"system": prescribing.PRESCRIPTION_CODE, "value": "KHAC-0001"}
    world.store.create(
        {"resourceType": "MedicationRequest", "id": "rx-khac", "status": "active",
         "intent": "order", "identifier": [elsewhere], "groupIdentifier": elsewhere,
         "medicationCodeableConcept": {"text": "Paracetamol 500 mg"},
         "subject": {"reference": "Patient/lan"}, "authoredOn": "2025-03-05T00:00:00.000Z",
         "performer": {"reference": "Patient/mai"}}
    )  # fmt: skip
    return first, second, third, referral, codes


def panel_of(world, user: str) -> dict:
    return chart_panel(world.store, Viewer(world.caller(user), "csrf"), "lan")


def reference(world, user: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """What the panel showed before: separate searches restricted in SQL."""
    caller = world.caller(user)

    def cases(kind: str) -> list[str]:
        base = [("patient", "Patient/lan"), ("code", f"{TASK_CODE}|{kind}"), ("_count", "200")]
        found = service.joined(caller, caller.search("Task", [*base, ("_sort", "-_lastUpdated")]))
        return [c.id for c in found]

    consultations = cases("consultation")
    based_on = ",".join(f"ServiceRequest/{i}" for i in consultations)
    advice = caller.search("Communication",
        [("based-on", based_on), ("category", f"{MESSAGE_CATEGORY}|recommendation")],
    ) if consultations else []  # fmt: skip
    found = caller.search("MedicationRequest", [("subject", "Patient/lan"), ("_count", "200")])
    codes = prescribing.prescription_codes(found)
    return consultations, cases("referral"), sorted(m["id"] for m in advice), codes


def test_each_viewer_sees_what_the_sql_rule_shows(world, lan_record):
    first, second, third, referral, (older, newer) = lan_record
    for user in USERS:
        if user in ("yta.ben", "bs.duphong"):  # they do not see Lan: no chart, no panel
            continue
        shown = panel_of(world, user)
        got = (
            [v["case"].id for v in shown["cases"]],
            [v["case"].id for v in shown["referrals"]],
            sorted(m["id"] for m in shown["recommendations"]),  # both sent at T0
            shown["prescriptions"],
        )
        assert got == reference(world, user), user
    worker, specialist, hospital, admin = (
        panel_of(world, u) for u in ("yta.xa", "bs.xquang", "bs.tinh", "quantri")
    )
    assert {v["case"].id for v in worker["cases"]} == {first.id, second.id, third.id}
    assert {v["case"].id for v in specialist["cases"]} == {first.id, third.id}
    assert hospital["cases"] == [] and hospital["recommendations"] == []
    assert [r["case"].id for r in hospital["referrals"]] == [referral.id]  # the receiving site
    assert specialist["referrals"] == []
    assert [m["text"] for m in specialist["recommendations"]] == ["Lời khuyên A"]  # no chat
    # the prescription that also names Mai: for those who see her too
    assert worker["prescriptions"] == specialist["prescriptions"] == [newer, older]
    assert hospital["prescriptions"] == admin["prescriptions"] == ["KHAC-0001", newer, older]


def test_the_panel_is_one_audit_event_listing_what_it_shows(world, lan_record):
    first, second, third, referral, codes = lan_record
    before = {e["id"] for e in audit_events(world.store)}
    shown = panel_of(world, "bs.xquang")
    (event,) = [e for e in audit_events(world.store) if e["id"] not in before]
    assert by_agent([event], world.ids["bs.xquang"]) == [event]
    assert event["subtype"][0]["code"] == "search-type" and event["outcome"] == "0"
    listed = {x["what"]["reference"] for x in event["entity"] if "what" in x}
    prescribed = [
        r["id"]
        for r in world.caller("quantri").search("MedicationRequest", [("subject", "Patient/lan")])
        if r["groupIdentifier"]["value"] in codes
    ]
    (advice,) = shown["recommendations"]
    assert listed == {
        "Patient/lan",
        *(f"{t}/{c.id}" for c in (first, third) for t in ("ServiceRequest", "Task")),
        f"Communication/{advice['id']}",
        *(f"MedicationRequest/{i}" for i in prescribed),
    }
    assert any(x["role"]["code"] == "24" for x in event["entity"])  # the query


def test_a_person_without_telehealth_records_gets_an_empty_panel(world):
    shown = panel_of(world, "yta.xa")
    assert (shown["cases"], shown["referrals"], shown["recommendations"]) == ([], [], [])
    assert shown["prescriptions"] == [] and shown["prescriber"]
