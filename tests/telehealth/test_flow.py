"""End to end through the live server: a commune worker asks for a reading of an X-ray, the
specialist answers in the live chat (WebSocket) and recommends a referral, the referral is sent,
received and answered, the recommendation and the advice show on the person's chart, and a
prescription is signed and exported for the national system."""

import io
import json
import re

import httpx
import pytest
from pypdf import PdfReader
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from songkhoe.fhir.search import page as search_page
from songkhoe.fhir.search import parse_query
from songkhoe.prescribing.codes import CODE_PATTERN

from .conftest import HOME, PASSWORD

QUEUE = "q-bv-bach-mai-radiology"


def login(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=20)
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)[1]
    done = client.post("/login", data={"username": username, "password": PASSWORD, "csrf": token})
    assert done.status_code == 303, done.text
    return client


def csrf(client: httpx.Client, path: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)[1]


def socket(base: str, client: httpx.Client, case_id: str, origin: str | None = None):
    url = base.replace("http://", "ws://") + f"/telehealth/cases/{case_id}/ws"
    cookie = f"sk_session={client.cookies['sk_session']}"
    return connect(
        url, additional_headers={"Cookie": cookie}, origin=origin or base, open_timeout=5
    )


def pdf_text(content: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)


def communications(store, case_id: str) -> list[str]:
    query = parse_query(
        "Communication", [("based-on", f"ServiceRequest/{case_id}"), ("_sort", "sent")]
    )
    with store.engine.connect() as conn:
        return [
            r["payload"][0]["contentString"] for _, r in search_page(conn, "Communication", query)
        ]


def test_consultation_chat_referral_and_prescription(live_server, world, jitsi):
    worker = login(live_server, "yta.xa")
    chart = worker.get("/people/lan")
    assert "/telehealth/cases/new?patient=lan" in chart.text
    form = worker.get("/telehealth/cases/new", params={"patient": "lan"})
    assert "ImagingStudy/xq-lan" in form.text and "Media/heatmap-lan" in form.text
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)[1]
    created = worker.post(
        "/telehealth/cases",
        data={"csrf": token, "patient": "lan", "queue": QUEUE, "urgency": "urgent",
              "question": "Ho 3 tuần, sốt chiều. Nhờ đọc phim.",
              "attachment": ["ImagingStudy/xq-lan", "Media/heatmap-lan"]},
    )  # fmt: skip
    assert created.status_code == 303, created.text
    case_id = created.headers["location"].rsplit("/", 1)[1]

    specialist = login(live_server, "bs.xquang")
    assert f"/telehealth/cases/{case_id}" in specialist.get("/telehealth").text
    page = specialist.get(f"/telehealth/cases/{case_id}")
    assert page.status_code == 200 and 'src="data:image/png;base64,' in page.text
    assert f'href="{jitsi}/SongKhoe-' in page.text
    outsider = login(live_server, "bs.khac")
    assert outsider.get(f"/telehealth/cases/{case_id}").status_code == 404
    assert outsider.get("/people/lan").status_code == 404
    token = csrf(specialist, f"/telehealth/cases/{case_id}")
    accepted = specialist.post(f"/telehealth/cases/{case_id}/accept", data={"csrf": token})
    assert accepted.status_code == 303

    # live chat: a message goes to the other side's socket, persisted as a Communication first
    with socket(live_server, worker, case_id) as w, socket(live_server, specialist, case_id) as s:
        s.send(json.dumps({"text": "Phim có đám mờ thùy trên phải. Có ho ra máu không?"}))
        heard = json.loads(w.recv(timeout=10))
        assert heard["text"].startswith("Phim có đám mờ") and heard["sender"] == "bs.xquang"
        assert json.loads(s.recv(timeout=10))["id"] == heard["id"]
        # the plain form post (no JavaScript) reaches the sockets too
        token = csrf(worker, f"/telehealth/cases/{case_id}")
        posted = worker.post(
            f"/telehealth/cases/{case_id}/messages", data={"csrf": token, "text": "Không ho máu."}
        )
        assert posted.status_code == 303
        assert json.loads(s.recv(timeout=10))["text"] == "Không ho máu."
    assert communications(world.store, case_id)[:2] == [
        "Phim có đám mờ thùy trên phải. Có ho ra máu không?",
        "Không ho máu.",
    ]
    with pytest.raises(InvalidStatus):  # another site's page, with the user's cookie
        socket(live_server, worker, case_id, origin="http://evil.example")
    with pytest.raises(InvalidStatus):  # a specialist not assigned to the case
        socket(live_server, outsider, case_id)

    token = csrf(specialist, f"/telehealth/cases/{case_id}")
    advice = "Nghi lao phổi: chuyển Bệnh viện tỉnh xét nghiệm đờm AFB, GeneXpert."
    answered = specialist.post(
        f"/telehealth/cases/{case_id}/recommend",
        data={"csrf": token, "action": "refer", "diagnosis": "A16.2",
              "refer_to": "bv-dk-24", "advice": advice},
    )  # fmt: skip
    assert answered.status_code == 303
    assert advice in worker.get("/people/lan").text

    # the referral, from the case
    token = csrf(worker, f"/telehealth/referrals/new?patient=lan&case={case_id}")
    sent = worker.post(
        "/telehealth/referrals",
        data={"csrf": token, "patient": "lan", "case": case_id, "to_facility": "bv-dk-24",
              "diagnosis": "A16.2", "summary": "Ho 3 tuần, sốt chiều, X-quang đám mờ đỉnh phải.",
              "reason": "Cần xét nghiệm chẩn đoán lao", "urgent": "1"},
    )  # fmt: skip
    assert sent.status_code == 303, sent.text
    referral_id = sent.headers["location"].rsplit("/", 1)[1]
    letter = worker.get(f"/telehealth/referrals/{referral_id}/letter.pdf")
    assert letter.headers["content-type"] == "application/pdf"
    text = pdf_text(letter.content)
    assert "GIẤY CHUYỂN TUYẾN" in text and "Nguyễn Thị Lan" in text and "A16.2" in text
    assert "Bệnh viện" in text and "xét nghiệm chẩn đoán lao" in text

    hospital = login(live_server, "bs.tinh")
    assert f"/telehealth/referrals/{referral_id}" in hospital.get("/telehealth").text
    token = csrf(hospital, f"/telehealth/referrals/{referral_id}")
    assert (
        worker.post(  # only the receiving facility records the arrival
            f"/telehealth/referrals/{referral_id}/receive",
            data={"csrf": csrf(worker, "/telehealth")},
        ).status_code
        == 400
    )
    received = hospital.post(f"/telehealth/referrals/{referral_id}/receive", data={"csrf": token})
    assert received.status_code == 303
    back = "Lao phổi AFB(+): điều trị phác đồ 2RHZE/4RH, trạm y tế theo dõi uống thuốc hằng ngày."
    outcome = hospital.post(
        f"/telehealth/referrals/{referral_id}/outcome",
        data={"csrf": token, "outcome": "treated-returned", "advice": back},
    )
    assert outcome.status_code == 303
    chart = worker.get("/people/lan").text
    assert back in chart and advice in chart

    # a prescription, checked, signed, printed and exported
    token = csrf(worker, "/prescriptions/new?patient=lan")
    lines = {"csrf": token, "patient": "lan", "diagnosis": "A16.2", "advice": "Tái khám sau 5 ngày",
             "drug_1": "PAR500", "dose_1": "1", "per_day_1": "3", "days_1": "5",
             "note_1": "khi sốt trên 38,5 độ", "drug_2": "OME20", "dose_2": "1", "per_day_2": "1",
             "days_2": "5"}  # fmt: skip
    checked = worker.post("/prescriptions", data={**lines, "step": "check"})
    assert checked.status_code == 200 and "Không có cảnh báo" in checked.text
    signed = worker.post("/prescriptions", data={**lines, "step": "sign"})
    assert signed.status_code == 303, signed.text
    code = signed.headers["location"].rsplit("/", 1)[1]
    assert CODE_PATTERN.fullmatch(code) and code.startswith(HOME)
    exported = worker.get(f"/prescriptions/{code}/national.json").json()
    assert exported["ma_don_thuoc"] == code and exported["loai_don_thuoc"] == "c"
    assert exported["chan_doan"][0]["ma_chan_doan"] == "A16.2"
    assert [(d["ma_thuoc"], d["so_luong"]) for d in exported["thong_tin_don_thuoc"]] == [
        ("PAR500", 15),
        ("OME20", 5),
    ]
    assert exported["thong_tin_don_thuoc"][0]["cach_dung"] == (
        "Uống 1 viên x 3 lần/ngày, 5 ngày, khi sốt trên 38,5 độ"
    )
    assert "Paracetamol" in pdf_text(worker.get(f"/prescriptions/{code}/pdf").content)
    assert code in worker.get("/people/lan").text
    assert outsider.get(f"/prescriptions/{code}/national.json").status_code == 404


def closed_with(sock) -> int | None:
    """The close code the server sent, once the socket is closed."""
    try:
        sock.recv(timeout=10)
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None
    return None


def test_the_chat_is_authorised_message_by_message(live_server, world):
    from datetime import UTC, datetime

    from songkhoe.telehealth.escalation import escalate_overdue

    from .test_access import open_xray_case

    case = open_xray_case(world, urgency="emergency")  # at T0: already past its deadline
    worker, specialist = login(live_server, "yta.xa"), login(live_server, "bs.xquang")
    with socket(live_server, worker, case.id) as w, socket(live_server, specialist, case.id) as s:
        s.send(json.dumps({"text": "Chào chị"}))
        assert json.loads(w.recv(timeout=10))["text"] == "Chào chị"
        assert json.loads(s.recv(timeout=10))["text"] == "Chào chị"
        # the specialist is replaced: their open socket hears nothing more and is closed
        assert escalate_overdue(world.store, datetime.now(UTC)) == [case.id]
        w.send(json.dumps({"text": "Bác sĩ còn đó không?"}))
        assert json.loads(w.recv(timeout=10))["text"] == "Bác sĩ còn đó không?"
        assert closed_with(s) == 1008
        # the worker logs out: their next message is refused and the socket closed
        token = csrf(worker, "/telehealth")
        assert worker.post("/logout", data={"csrf": token}).status_code == 303
        w.send(json.dumps({"text": "sau khi đăng xuất"}))
        assert closed_with(w) == 1008
    assert "sau khi đăng xuất" not in communications(world.store, case.id)
