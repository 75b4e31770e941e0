"""Signed prescriptions sent to the national e-prescription system, against the STAND-IN of
tests/prescribing/standin_national.py (the real system cannot be reached from here): the
documented requests (paths, headers, JSON fields), the facility's and the doctor's log-ins, a
rejection with the system's message, the corrected prescription sent again, a send with no
answer settled by a look-up, and the prescription page in each state."""

import json
import re
import socket
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from songkhoe.clinical.records import write
from songkhoe.config import SettingError, get_settings
from songkhoe.db.tables import resource
from songkhoe.fhir.systems import CCCD
from songkhoe.fhir.validation import validate
from songkhoe.prescribing import national, service
from songkhoe.prescribing.dosing import parse_line
from songkhoe.prescribing.national_client import NationalClient, Refused, Unreachable

from .conftest import HOME, caller_of, logged_in
from .standin_national import (
    APP_KEY,
    APP_NAME,
    DOCTOR,
    DOCTOR_PASSWORD,
    FACILITY,
    FACILITY_PASSWORD,
    StandIn,
    serve,
)

AT = datetime(2026, 12, 8, 2, 30, tzinfo=UTC)  # 09:30 in Hà Nội
SETTINGS = {"SONGKHOE_DTQG_FACILITY_CODE": FACILITY,
            "SONGKHOE_DTQG_FACILITY_PASSWORD": FACILITY_PASSWORD,
            "SONGKHOE_DTQG_APP_NAME": APP_NAME, "SONGKHOE_DTQG_APP_KEY": APP_KEY}  # fmt: skip


@pytest.fixture
def system():
    """The stand-in, running on a free port, and its base URL."""
    standin = StandIn()
    server, url = serve(standin)
    yield standin, url
    server.shutdown()
    server.server_close()


@pytest.fixture
def client(system):
    _, url = system
    with NationalClient(url, FACILITY, FACILITY_PASSWORD, app_name=APP_NAME, app_key=APP_KEY,
                        timeout_s=2.0) as national_client:  # fmt: skip
        yield national_client


@pytest.fixture
def without_cccd(record):
    """A second person of the station, with no CCCD on record yet."""
    record.create({"resourceType": "Patient", "id": "lan", "name": [{"text": "Trần Thị Lan"}],
                   "gender": "female", "birthDate": "1962-04-05",
                   "managingOrganization": {"reference": f"Organization/tyt-{HOME}"}})  # fmt: skip
    return record


def signed(store, patient_id: str = "hoa", drug: str = "AML5") -> service.Prescription:
    """A prescription signed by bs.xa (a different `drug` each time for one person: the same
    one twice would be a duplicate to acknowledge)."""
    return service.sign(caller_of(store, "bs.xa"), patient_id=patient_id,
                        lines=[parse_line(1, drug, "1", "1", "30")], diagnoses=["I10"],
                        acknowledged=set(), advice="Ăn nhạt", now=AT)  # fmt: skip


def send(store, client, code: str, password: str = DOCTOR_PASSWORD) -> national.Submission:
    return national.send(caller_of(store, "bs.xa"), code, doctor_code=DOCTOR, password=password,
                         client=client, now=AT)  # fmt: skip


def test_a_first_send_logs_the_facility_and_the_doctor_in(record, system, client):
    standin, _ = system
    rx = signed(record)
    assert len(rx.code) == 14 and rx.code[5:12].isalnum() and rx.code[12:] == "-c"  # 5+7+"-c"
    done = send(record, client, rx.code)
    # The doctor's first log-in is refused (not at the facility yet): the facility logs in,
    # adds the doctor, the doctor logs in again, then the prescription goes.
    assert standin.paths() == [
        "/api/auth/dang-nhap-bac-si", "/api/auth/dang-nhap-co-so-kham-chua-benh",
        "/api/v1/them-bac-si", "/api/auth/dang-nhap-bac-si", "/api/v1/gui-don-thuoc",
    ]  # fmt: skip
    doctor_login, facility_login, add, _, sent = standin.received
    assert doctor_login.body == {"ma_lien_thong_bac_si": DOCTOR, "password": DOCTOR_PASSWORD,
                                 "ma_lien_thong_co_so_kham_chua_benh": FACILITY}  # fmt: skip
    assert facility_login.body == {"ma_lien_thong_co_so_kham_chua_benh": FACILITY,
                                   "password": FACILITY_PASSWORD}  # fmt: skip
    assert add.body == {"ma_lien_thong_bac_si": DOCTOR}
    assert add.headers["authorization"] == "Bearer tok-1"  # the facility's token
    assert sent.headers["authorization"] == "Bearer tok-2"  # the doctor's token
    assert sent.headers["content-type"] == "application/json"
    assert sent.body["ma_don_thuoc"] == rx.code and sent.body["loai_don_thuoc"] == "c"
    assert sent.body["ma_dinh_danh_cong_dan"] == "027150000009"
    assert sent.body["ngay_gio_ke_don"] == "2026-12-08 09:30:00"  # 02:30 UTC in Hà Nội
    assert sent.body["thong_tin_don_thuoc"][0]["so_luong"] == 30  # 1 tablet a day, 30 days
    assert done.state == national.ACCEPTED and done.message == "Gửi đơn thuốc thành công"
    task = done.task
    validate(task)
    assert task["status"] == "completed" and task["identifier"][0]["value"] == rx.code
    assert task["basedOn"] == [{"reference": f"MedicationRequest/{rx.requests[0]['id']}"}]
    assert task["input"][0]["valueString"] == DOCTOR
    # The code is kept on the doctor's Practitioner: the next prescription needs no facility.
    assert national.doctor_code_of(caller_of(record, "bs.xa")) == DOCTOR
    second = signed(record, drug="MTF500")
    send(record, client, second.code)
    assert standin.paths()[5:] == ["/api/auth/dang-nhap-bac-si", "/api/v1/gui-don-thuoc"]
    with pytest.raises(national.NationalStateError, match="already received"):
        send(record, client, rx.code)
    assert len(standin.received) == 7  # nothing sent for a received prescription


def test_a_rejection_is_kept_with_its_message_then_the_corrected_one_is_sent(
    without_cccd, system, client
):
    standin, _ = system
    rx = signed(without_cccd, "lan")
    refused = send(without_cccd, client, rx.code)
    assert refused.state == national.REJECTED and refused.task["status"] == "rejected"
    assert refused.message == (
        "Dữ liệu không hợp lệ: "  # the answer's error, then its list
        "ma_dinh_danh_cong_dan: Mã định danh công dân không được để trống"
    )
    assert rx.code not in standin.held
    caller = caller_of(without_cccd, "bs.xa")
    person = caller.read("read", "Patient", "lan")
    write(caller, update=[{**person, "identifier": [{"system": CCCD, "value": "027162000321"}]}])
    again = send(without_cccd, client, rx.code)
    assert again.state == national.ACCEPTED
    assert standin.held[rx.code]["ma_dinh_danh_cong_dan"] == "027162000321"  # the same code
    history = national.submissions(caller, rx.code)
    assert [s.state for s in history] == [national.ACCEPTED, national.REJECTED]
    assert "ma_dinh_danh_cong_dan" in history[1].message  # the rejection stays


def test_a_send_without_answer_is_not_repeated_and_a_look_up_settles_it(record, system, client):
    standin, url = system
    rx = signed(record)
    standin.slow_next_send_s = 3.0  # taken, but answered after the client's 2 s
    waiting = send(record, client, rx.code)
    assert waiting.state == national.SENT and waiting.task["status"] == "in-progress"
    assert "no answer" in waiting.message
    assert standin.paths().count("/api/v1/gui-don-thuoc") == 1  # never sent twice by itself
    with pytest.raises(national.NationalStateError, match="check its status"):
        send(record, client, rx.code)
    settled = national.check(caller_of(record, "bs.xa"), rx.code, client=client, now=AT)
    lookup = standin.received[-1]
    assert lookup.method == "GET" and lookup.path == f"/api/v1/thong-tin-don-thuoc/{rx.code}"
    assert (lookup.headers["app-name"], lookup.headers["app-key"]) == (APP_NAME, APP_KEY)
    assert settled.state == national.ACCEPTED and settled.notes[-1]["text"] == national.HELD

    other = signed(record, drug="MTF500")
    standin.fail_next_send = True  # HTTP 503: not taken, fate unknown to the client
    assert send(record, client, other.code).state == national.SENT
    lost = national.check(caller_of(record, "bs.xa"), other.code, client=client, now=AT)
    assert lost.state == national.FAILED and lost.message == national.NOT_HELD
    assert send(record, client, other.code).state == national.ACCEPTED  # may go again


def test_a_refused_log_in_records_nothing_and_no_password_is_kept(record, system, client):
    standin, _ = system
    rx = signed(record)
    send(record, client, rx.code)
    second = signed(record, drug="MTF500")
    with pytest.raises(Refused, match="doctor log-in: refused \\(HTTP 401\\)") as refused:
        send(record, client, second.code, password="sai mật khẩu")
    assert "sai mật khẩu" not in str(refused.value)
    assert national.submissions(caller_of(record, "bs.xa"), second.code) == []
    assert standin.paths()[-1] == "/api/auth/dang-nhap-bac-si"  # nothing sent after it
    with record.engine.connect() as conn:
        stored = [json.dumps(c, ensure_ascii=False) for (c,) in conn.execute(
            select(resource.c.content))]  # fmt: skip
    assert stored and not [s for s in stored if DOCTOR_PASSWORD in s or "sai mật khẩu" in s]


def test_a_wrong_facility_password_is_named_as_such(record, system):
    standin, url = system
    rx = signed(record)
    with NationalClient(url, FACILITY, "sai mật khẩu cơ sở") as misconfigured:
        with pytest.raises(Refused, match="facility log-in: refused \\(HTTP 401\\)"):
            send(record, misconfigured, rx.code)
    assert standin.paths() == [
        "/api/auth/dang-nhap-bac-si", "/api/auth/dang-nhap-co-so-kham-chua-benh",
    ]  # fmt: skip
    assert national.submissions(caller_of(record, "bs.xa"), rx.code) == []


def test_bad_input_and_an_unreachable_system_are_named(record):
    rx = signed(record)
    with pytest.raises(national.NationalStateError, match="doctor_code"):
        national.send(caller_of(record, "bs.xa"), rx.code, doctor_code="mã có dấu cách",
                      password="x", client=None, now=AT)  # type: ignore[arg-type]  # fmt: skip
    with pytest.raises(national.NationalStateError, match="password"):
        national.send(caller_of(record, "bs.xa"), rx.code, doctor_code=DOCTOR, password="",
                      client=None, now=AT)  # type: ignore[arg-type]  # fmt: skip
    with socket.socket() as closed:  # a free port, closed again: nothing listens there
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with NationalClient(f"http://127.0.0.1:{port}", FACILITY, FACILITY_PASSWORD,
                        timeout_s=1.0) as nowhere:  # fmt: skip
        with pytest.raises(Unreachable, match="facility log-in: the national system could not"):
            nowhere.facility_token()


def test_the_settings_parse_and_keep_the_secrets_out_of_reprs(monkeypatch):
    monkeypatch.setenv("SONGKHOE_DTQG_URL", "api.donthuocquocgia.vn")
    with pytest.raises(SettingError, match="SONGKHOE_DTQG_URL: expected an http"):
        get_settings()
    monkeypatch.setenv("SONGKHOE_DTQG_URL", "https://api.donthuocquocgia.vn")
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    settings = get_settings()
    assert settings.dtqg_facility_password == FACILITY_PASSWORD
    shown = repr(settings)
    assert FACILITY in shown and FACILITY_PASSWORD not in shown and APP_KEY not in shown
    with NationalClient.from_settings(settings) as from_settings:
        assert FACILITY_PASSWORD not in repr(from_settings)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html)[1]


def state_of(html: str) -> str:
    return re.search(r'id="rx-national-state" data-state="(\w+)">([^<]+)<', html).groups()


def test_the_prescription_page_sends_and_shows_each_state(without_cccd, system, monkeypatch):
    standin, url = system
    monkeypatch.delenv("SONGKHOE_DTQG_URL", raising=False)
    page = logged_in(without_cccd)
    rx = signed(without_cccd, "lan")
    shown = page.get(f"/prescriptions/{rx.code}").text
    assert "Chưa cấu hình kết nối" in shown and 'id="rx-national-send"' not in shown
    monkeypatch.setenv("SONGKHOE_DTQG_URL", url)
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    shown = page.get(f"/prescriptions/{rx.code}").text
    assert state_of(shown) == ("none", "Chưa gửi")
    assert "Gửi lên hệ thống đơn thuốc quốc gia" in shown and 'type="password"' in shown

    def post(path: str, **form: str):
        token = csrf_of(page.get(f"/prescriptions/{rx.code}").text)
        return page.post(f"/prescriptions/{rx.code}{path}", data={"csrf": token, **form},
                         follow_redirects=False)  # fmt: skip

    wrong = post("/national", doctor_code=DOCTOR, password="sai mật khẩu")
    assert wrong.status_code == 400 and "doctor log-in: refused" in wrong.text
    assert "sai mật khẩu" not in wrong.text and state_of(wrong.text)[0] == "none"
    assert post("/national", doctor_code=DOCTOR, password=DOCTOR_PASSWORD).status_code == 303
    shown = page.get(f"/prescriptions/{rx.code}").text
    assert state_of(shown) == ("rejected", "Bị từ chối")
    assert "Mã định danh công dân không được để trống" in shown
    assert "Gửi lại đơn đã sửa" in shown and f'value="{DOCTOR}"' in shown  # the code is kept

    caller = caller_of(without_cccd, "bs.xa")
    person = caller.read("read", "Patient", "lan")
    write(caller, update=[{**person, "identifier": [{"system": CCCD, "value": "027162000321"}]}])
    standin.fail_next_send = True
    post("/national", doctor_code=DOCTOR, password=DOCTOR_PASSWORD)
    shown = page.get(f"/prescriptions/{rx.code}").text
    assert state_of(shown) == ("sent", "Đã gửi, chưa có kết quả")
    assert 'id="rx-national-send"' not in shown and 'id="rx-national-check"' in shown
    assert post("/national/status").status_code == 303
    shown = page.get(f"/prescriptions/{rx.code}").text
    assert state_of(shown) == ("failed", "Gửi không thành công")
    post("/national", doctor_code=DOCTOR, password=DOCTOR_PASSWORD)
    shown = page.get(f"/prescriptions/{rx.code}").text
    assert state_of(shown) == ("accepted", "Đã được tiếp nhận")
    assert "Gửi đơn thuốc thành công" in shown and 'id="rx-national-send"' not in shown
    assert len(re.findall(r"<li>", shown.split('id="rx-national-history"')[1])) == 3
    page.cookies.set("lang", "en")
    english = page.get(f"/prescriptions/{rx.code}").text
    assert state_of(english) == ("accepted", "Received") and "Check the status" in english
    again = post("/national", doctor_code=DOCTOR, password=DOCTOR_PASSWORD)
    assert again.status_code == 409 and "already received" in again.text
