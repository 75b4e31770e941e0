"""What sharing a record for one case opens, and for how long: a consultation (its
ServiceRequest, Task and Communications) is seen through /fhir and on the chart only by its
participants; grants end with the case, move with an escalation, and are written with the case
or not at all."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from songkhoe.app import create_app
from songkhoe.auth.service import InvalidAccount, issue_token
from songkhoe.auth.tables import access_grant
from songkhoe.clinical.records import Share, write
from songkhoe.fhir.outcomes import FhirError
from songkhoe.telehealth import referrals, service
from songkhoe.telehealth.escalation import escalate_overdue
from songkhoe.telehealth.queues import configure_queue
from songkhoe.telehealth.views import chart_panel
from songkhoe.web.pages import Viewer

from .conftest import T0
from .test_access import open_xray_case


def answered_pair(world):
    """Case A (radiology, bs.xquang) and case B (pulmonology, bs.khac) about Lan, both answered."""
    configure_queue(world.store, facility_id="bv-bach-mai", specialty="pulmonology",
                    specialists=["bs.khac"], backups=[])  # fmt: skip
    first = open_xray_case(world)
    second = service.open_case(world.caller("yta.xa"), patient_id="lan",
                               queue_id="q-bv-bach-mai-pulmonology", urgency="urgent",
                               question="Khó thở", attachments=[], now=T0)  # fmt: skip
    for case, user, advice in ((first, "bs.xquang", "Lời khuyên A"), (second, "bs.khac", "B")):
        specialist = world.caller(user)
        service.recommend(specialist, case=service.load_case(specialist, case.id),
                          action="follow-up", advice=advice, diagnosis="", refer_to="",
                          now=T0)  # fmt: skip
    return first, second


def fhir_client(world, username: str) -> TestClient:
    token = issue_token(world.store.engine, scopes="user/*.read", expires_in=timedelta(hours=1),
                        user_id=world.ids[username])  # fmt: skip
    client = TestClient(create_app(store=world.store))
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def ids(bundle: dict) -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", [])}


def test_fhir_shows_a_consultation_to_its_participants_only(world):
    first, second = answered_pair(world)
    searches = [
        ("Task", "patient=Patient/lan"),
        ("ServiceRequest", "subject=Patient/lan"),
        ("Communication", "subject=Patient/lan"),
    ]
    seen = {}
    for user in ("yta.xa", "bs.khac", "bs.tinh", "quantri"):
        client = fhir_client(world, user)
        found = [ids(client.get(f"/fhir/{t}?{q}").json()) for t, q in searches]
        seen[user] = found
        reads = {
            t: client.get(f"/fhir/{t}/{first.id}").status_code for t in ("Task", "ServiceRequest")
        }
        assert reads == ({"Task": 200, "ServiceRequest": 200} if user in ("yta.xa", "quantri")
                         else {"Task": 404, "ServiceRequest": 404}), user  # fmt: skip
    assert seen["yta.xa"][0] == seen["quantri"][0] == {first.id, second.id}
    assert seen["bs.khac"][0] == seen["bs.khac"][1] == {second.id}  # shared for case B only
    assert len(seen["bs.khac"][2]) == 1 and len(seen["yta.xa"][2]) == 2
    assert seen["bs.tinh"] == [set(), set(), set()]  # sees Lan's record, not her consultations
    assert fhir_client(world, "bs.tinh").get("/fhir/Patient/lan").status_code == 200


def test_nobody_outside_a_consultation_adds_to_it_through_fhir(world):
    """bs.tinh sees Lan's record but takes no part in case A: no message, no task on it."""
    first, _ = answered_pair(world)
    token = issue_token(world.store.engine, scopes="user/*.*", expires_in=timedelta(hours=1),
                        user_id=world.ids["bs.tinh"])  # fmt: skip
    client = TestClient(create_app(store=world.store))
    client.headers["Authorization"] = f"Bearer {token}"
    about_lan = {"subject": {"reference": "Patient/lan"}}
    message = {"resourceType": "Communication", "status": "completed", **about_lan,
               "basedOn": [{"reference": f"ServiceRequest/{first.id}"}],
               "payload": [{"contentString": "Tôi xin nhận ca này"}]}  # fmt: skip
    task = {"resourceType": "Task", "status": "requested", "intent": "order", "for":
            about_lan["subject"], "focus": {"reference": f"ServiceRequest/{first.id}"}}  # fmt: skip
    client.headers["Content-Type"] = "application/fhir+json"
    for resource in (message, task):
        answer = client.post(f"/fhir/{resource['resourceType']}", json=resource)
        assert answer.status_code == 403, answer.text
        assert "consultation you do not take part in" in answer.text
    plain = {k: v for k, v in message.items() if k != "basedOn"}  # outside any consultation
    assert client.post("/fhir/Communication", json=plain).status_code == 201
    mine = world.caller("yta.xa")  # the requester may add to her own case
    with world.store.engine.connect() as conn:
        assert mine.access.attachment_refusal(conn, message) is None


def test_the_chart_shows_the_advice_of_the_cases_the_viewer_may_open(world):
    answered_pair(world)

    def advice(user: str) -> list[str]:
        panel = chart_panel(world.store, Viewer(world.caller(user), "csrf"), "lan")
        return [m["text"] for m in panel["recommendations"]]

    assert sorted(advice("yta.xa")) == ["B", "Lời khuyên A"]
    assert advice("bs.khac") == ["B"]
    assert advice("bs.tinh") == []


def grants(world, user: str) -> list:
    with world.store.engine.connect() as conn:
        return conn.execute(
            select(access_grant).where(access_grant.c.user_id == world.ids[user])
        ).all()


def expires(row) -> datetime:
    return datetime.fromisoformat(row.expires.replace("Z", "+00:00")).replace(tzinfo=UTC)


def test_grants_end_after_the_case_and_move_with_an_escalation(world):
    started = datetime.now(UTC)
    case = open_xray_case(world, urgency="emergency")
    (grant,) = grants(world, "bs.xquang")
    assert grant.basis == f"ServiceRequest/{case.id}"
    # the deadline (1 h after T0) + 30 days, counted from now
    wanted = started + (case.deadline - T0) + timedelta(days=30)
    assert abs(expires(grant) - wanted) < timedelta(minutes=1)

    assert escalate_overdue(world.store, T0 + timedelta(hours=2)) == [case.id]
    with pytest.raises(FhirError):  # the replaced specialist no longer has the record
        world.caller("bs.xquang").read("read", "Patient", "lan")
    assert expires(grants(world, "bs.xquang")[0]) <= datetime.now(UTC)
    assert world.caller("bs.duphong").read("read", "Patient", "lan")["id"] == "lan"
    (backup,) = grants(world, "bs.duphong")
    assert expires(backup) > datetime.now(UTC) + timedelta(days=29)


def test_a_referral_shares_the_record_with_the_receivers_for_30_days(world):
    started = datetime.now(UTC)
    referral = referrals.create_referral(
        world.caller("yta.xa"), patient_id="lan", to_facility="bv-bach-mai", diagnosis="I10",
        summary="THA khó kiểm soát", reason="Điều chỉnh thuốc", urgent=False, case_id=None,
        now=T0,
    )  # fmt: skip
    for user in ("bs.xquang", "bs.duphong", "bs.khac"):  # Bạch Mai's specialists
        (grant,) = grants(world, user)
        assert grant.basis == f"ServiceRequest/{referral.id}"
        assert abs(expires(grant) - (started + timedelta(days=30))) < timedelta(minutes=1)
    assert grants(world, "bs.tinh") == []  # another hospital


def test_a_case_and_its_share_are_written_together_or_not_at_all(world):
    caller = world.caller("yta.xa")
    note = {"resourceType": "Communication", "id": "note-1", "status": "completed",
            "subject": {"reference": "Patient/lan"}}  # fmt: skip
    bad = Share(world.ids["bs.khac"], "lan", "   ", "Communication/note-1", timedelta(days=1))
    with pytest.raises(InvalidAccount, match="reason"):
        write(caller, create=[note], share=[bad])
    with pytest.raises(LookupError):
        world.store.read("Communication", "note-1")
    (stored,) = write(caller, create=[note])
    good = Share(world.ids["bs.khac"], "lan", "Hội chẩn", "Communication/note-1", timedelta(days=1))
    write(caller, update=[stored])  # now at version 2: `stored` is stale
    with pytest.raises(FhirError) as conflict:
        write(caller, update=[stored], share=[good])
    assert conflict.value.status == 409 and grants(world, "bs.khac") == []
