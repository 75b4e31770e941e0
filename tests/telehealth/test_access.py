"""Only the assigned specialist and the referring clinician (and administrators) open a case, and
every access, granted or refused, is one AuditEvent."""

import re

import pytest

from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.search import SearchRequest, page
from songkhoe.fhir.validation import validate
from songkhoe.telehealth import service
from songkhoe.telehealth.models import Case
from songkhoe.telehealth.queues import QueueError, configure_queue, queues_of

from .conftest import T0


def open_xray_case(world, urgency: str = "routine"):
    return service.open_case(
        world.caller("yta.xa"),
        patient_id="lan",
        queue_id="q-bv-bach-mai-radiology",
        urgency=urgency,
        question="Ho kéo dài 3 tuần, sốt nhẹ. Nhờ đọc phim X-quang.",
        attachments=["ImagingStudy/xq-lan", "Media/heatmap-lan"],
        now=T0,
    )


def audit_events(store) -> list[dict]:
    with store.engine.connect() as conn:
        return [r for _, r in page(conn, "AuditEvent", SearchRequest(count=1000))]


def by_agent(events: list[dict], user_id: str) -> list[dict]:
    return [e for e in events if e["agent"][0]["who"]["identifier"]["value"] == user_id]


def test_a_case_is_valid_fhir_and_goes_to_the_queue_specialist(world, jitsi):
    case = open_xray_case(world)
    for resource in (case.request, case.task):
        validate(resource)
    assert case.task["owner"] == {
        "reference": f"Practitioner/{world.ids['bs.xquang']}",
        "display": "bs.xquang",
    }
    assert case.request["performer"][0]["reference"] == "Organization/q-bv-bach-mai-radiology"
    assert case.request["supportingInfo"] == [
        {"reference": "ImagingStudy/xq-lan"},
        {"reference": "Media/heatmap-lan"},
    ]
    assert case.task["restriction"]["period"]["end"] == "2025-03-04T02:00:00.000Z"  # 72 h
    room = case.task_input("video-room")
    assert re.fullmatch(re.escape(jitsi) + r"/SongKhoe-[A-Za-z0-9_-]{22}", room)  # 128 bits
    assert room != open_xray_case(world).task_input("video-room")
    assert service.room_link(case) == room


def test_no_video_room_without_a_configured_server_and_none_elsewhere(world, monkeypatch):
    monkeypatch.delenv("SONGKHOE_JITSI_URL", raising=False)
    case = open_xray_case(world)
    assert case.task_input("video-room") is None and service.room_link(case) is None
    monkeypatch.setenv("SONGKHOE_JITSI_URL", "https://jitsi.songkhoe.example")
    for elsewhere in ("https://evil.example/SongKhoe-x", "https://jitsi.songkhoe.example.evil/x",
                      "javascript:alert(1)"):  # fmt: skip
        task = {**case.task, "input": [{"type": {"text": "video-room"}, "valueUrl": elsewhere}]}
        assert service.room_link(Case(case.request, task)) is None, elsewhere


def test_only_the_assigned_specialist_and_the_referrer_read_the_case(world):
    case = open_xray_case(world)
    assigned = service.load_case(world.caller("bs.xquang"), case.id)
    assert assigned.id == case.id
    assert service.load_case(world.caller("yta.xa"), case.id).id == case.id
    assert service.load_case(world.caller("quantri"), case.id).id == case.id
    # a provincial doctor and radiologist see the person, but not the consultation
    assert world.caller("bs.tinh").read("read", "Patient", "lan")["id"] == "lan"
    for outsider in ("bs.khac", "bs.duphong", "yta.ben", "bs.tinh", "ktv.tinh"):
        with pytest.raises(FhirError) as refused:
            service.load_case(world.caller(outsider), case.id)
        assert refused.value.status == 404, outsider
    # the assigned specialist sees the person, shared under a recorded reason
    assert world.caller("bs.xquang").read("read", "Patient", "lan")["id"] == "lan"
    with pytest.raises(FhirError):
        world.caller("bs.khac").read("read", "Patient", "lan")


def test_a_specialist_with_the_record_shared_for_another_case_cannot_open_this_one(world):
    first = open_xray_case(world)
    configure_queue(
        world.store,
        facility_id="bv-bach-mai",
        specialty="pulmonology",
        specialists=["bs.khac"],
        backups=[],
    )
    second = service.open_case(
        world.caller("yta.xa"),
        patient_id="lan",
        queue_id="q-bv-bach-mai-pulmonology",
        urgency="urgent",
        question="Khó thở",
        attachments=[],
        now=T0,
    )
    assert service.load_case(world.caller("bs.khac"), second.id).id == second.id
    with pytest.raises(FhirError):
        service.load_case(world.caller("bs.khac"), first.id)
    assert [q.id for q in queues_of(world.store, world.ids["bs.khac"])] == [
        "q-bv-bach-mai-pulmonology"
    ]


def test_every_access_is_audited(world):
    case = open_xray_case(world)
    service.load_case(world.caller("bs.xquang"), case.id)
    with pytest.raises(FhirError):
        service.load_case(world.caller("bs.khac"), case.id)
    events = audit_events(world.store)
    seen = by_agent(events, world.ids["bs.xquang"])
    reads = [e for e in seen if e["outcome"] == "0" and e["subtype"][0]["code"] == "read"]
    read_refs = {x["what"]["reference"] for e in reads for x in e["entity"]}
    assert {f"ServiceRequest/{case.id}", f"Task/{case.id}", "Patient/lan"} <= read_refs
    refused = [e for e in by_agent(events, world.ids["bs.khac"]) if e["outcome"] == "4"]
    assert refused and any(
        x["what"]["reference"] == "Patient/lan" for e in refused for x in e["entity"]
    )
    worker = by_agent(events, world.ids["yta.xa"])
    shared = [e for e in worker if "shared with user" in e.get("outcomeDesc", "")]
    assert shared and world.ids["bs.xquang"] in shared[0]["outcomeDesc"]


def test_attachments_must_be_about_the_person_and_visible(world):
    with pytest.raises(service.CaseError, match="attachments"):
        service.open_case(
            world.caller("yta.xa"),
            patient_id="lan",
            queue_id="q-bv-bach-mai-radiology",
            urgency="routine",
            question="?",
            attachments=["ImagingStudy/xq-mai"],  # another commune's person: not visible
            now=T0,
        )
    with pytest.raises(service.CaseError, match="attachments"):
        service.open_case(
            world.caller("yta.ben"),
            patient_id="mai",
            queue_id="q-bv-bach-mai-radiology",
            urgency="routine",
            question="?",
            attachments=["Patient/mai"],
            now=T0,
        )
    with pytest.raises(FhirError):  # a person outside the worker's commune
        service.open_case(
            world.caller("yta.xa"),
            patient_id="mai",
            queue_id="q-bv-bach-mai-radiology",
            urgency="routine",
            question="?",
            attachments=[],
            now=T0,
        )


def test_a_chat_and_a_recommendation_complete_the_case(world):
    case = open_xray_case(world)
    specialist = world.caller("bs.xquang")
    case = service.accept(specialist, case=service.load_case(specialist, case.id), now=T0)
    assert case.status == "accepted"
    service.post_message(specialist, case=case, text="Có sốt về chiều không?", now=T0)
    assert world.store.read("Task", case.id)["status"] == "in-progress"
    service.post_message(world.caller("yta.xa"), case=case, text="Có, 38 độ.", now=T0)
    with pytest.raises(service.CaseError, match="owner"):
        service.recommend(
            world.caller("yta.xa"), case=case, action="refer", advice="x", diagnosis="",
            refer_to="", now=T0,
        )  # fmt: skip
    rec = service.recommend(
        specialist,
        case=service.load_case(specialist, case.id),
        action="refer",
        advice="Nghi lao phổi: chuyển bệnh viện tỉnh làm xét nghiệm đờm.",
        diagnosis="A16.2",
        refer_to="bv-dk-24",
        now=T0,
    )
    validate(rec)
    assert service.recommendation_of(rec) == {
        "action": "refer",
        "advice": "Nghi lao phổi: chuyển bệnh viện tỉnh làm xét nghiệm đờm.",
        "diagnosis": "A16.2",
        "refer_to": "bv-dk-24",
    }
    done = service.load_case(world.caller("yta.xa"), case.id)
    assert done.status == "completed" and done.request["status"] == "completed"
    texts = [m["payload"][0]["contentString"] for m in service.messages(specialist, done)]
    assert texts[:2] == ["Có sốt về chiều không?", "Có, 38 độ."] and len(texts) == 3


def test_queue_configuration_names_the_bad_field(world):
    with pytest.raises(QueueError, match="specialty"):
        configure_queue(world.store, facility_id="bv-bach-mai", specialty="x",
                        specialists=["bs.xquang"], backups=[])  # fmt: skip
    with pytest.raises(QueueError, match="backup"):
        configure_queue(world.store, facility_id="bv-bach-mai", specialty="radiology",
                        specialists=["bs.xquang"], backups=["nobody"])  # fmt: skip
    with pytest.raises(QueueError, match="facility"):
        configure_queue(world.store, facility_id="bv-none", specialty="radiology",
                        specialists=["bs.xquang"], backups=[])  # fmt: skip


def test_a_refused_case_is_audited_as_a_refusal_only(world):
    case = open_xray_case(world)
    with pytest.raises(FhirError):  # the requester, asking for it as a referral
        service.load_case(world.caller("yta.xa"), case.id, code="referral")
    with pytest.raises(FhirError):  # a doctor who sees the person
        service.load_case(world.caller("bs.tinh"), case.id)
    events = audit_events(world.store)
    for user in ("yta.xa", "bs.tinh"):
        about = [
            e
            for e in by_agent(events, world.ids[user])
            if e["subtype"][0]["code"] == "read"
            and any(x["what"]["reference"] == f"Task/{case.id}" for x in e["entity"])
        ]
        assert [e["outcome"] for e in about] == ["4"], user  # no "success" read before it
        assert {x["what"]["reference"] for x in about[0]["entity"]} == {
            f"ServiceRequest/{case.id}",
            f"Task/{case.id}",
            "Patient/lan",
        }
