"""Signing through the prescription page: warnings come from the person's record (medicines
taken, allergies), must each be acknowledged, and are kept as DetectedIssues; the signed
prescription is valid FHIR and exports to the national JSON."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from songkhoe.auth.audit import RequestContext
from songkhoe.auth.caller import Caller
from songkhoe.auth.service import create_user, user_id_of, user_principal
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.search import SearchRequest, page
from songkhoe.fhir.validation import validate
from songkhoe.prescribing import service
from songkhoe.prescribing.dosing import InvalidLine, parse_line
from songkhoe.prescribing.export import national_payload

from .conftest import HOME, PASSWORD, caller_of, logged_in


def count(store, resource_type: str) -> int:
    with store.engine.connect() as conn:
        return len(page(conn, resource_type, SearchRequest(count=1000)))


def test_warnings_are_flagged_and_must_be_acknowledged_to_sign(record):
    client = logged_in(record)
    token = re.search(r'name="csrf" value="([^"]+)"',
                      client.get("/prescriptions/new?patient=hoa").text)[1]  # fmt: skip
    form = {"csrf": token, "patient": "hoa", "diagnosis": "M54.5", "drug_1": "IBU400",
            "dose_1": "1", "per_day_1": "2", "days_1": "5", "drug_2": "AMX500", "dose_2": "1",
            "per_day_2": "3", "days_2": "7"}  # fmt: skip
    checked = client.post("/prescriptions", data={**form, "step": "check"})
    assert checked.status_code == 200
    assert "Ibuprofen" in checked.text and "Coumadin" in checked.text  # with the warfarin taken
    assert "Dị ứng đã ghi nhận (Penicilin)" in checked.text
    keys = re.findall(r'name="ack" value="([^"]+)"', checked.text)
    assert len(keys) == 2
    before = count(record, "MedicationRequest")
    refused = client.post("/prescriptions", data={**form, "step": "sign", "ack": keys[:1]})
    assert refused.status_code == 409 and count(record, "MedicationRequest") == before
    signed = client.post(
        "/prescriptions", data={**form, "step": "sign", "ack": keys}, follow_redirects=False
    )
    assert signed.status_code == 303
    code = signed.headers["location"].rsplit("/", 1)[1]
    shown = client.get(f"/prescriptions/{code}")
    assert code in shown.text and "Amoxicilin" in shown.text and "Coumadin" in shown.text
    assert count(record, "MedicationRequest") == before + 2
    with record.engine.connect() as conn:
        issues = [r for _, r in page(conn, "DetectedIssue", SearchRequest(count=10))]
    assert len(issues) == 2
    for issue in issues:
        validate(issue)
        assert issue["mitigation"][0]["author"]["display"] == "bs.xa"


def test_a_signed_prescription_is_fhir_and_exports(record):
    principal = user_principal(record.engine, user_id_of(record.engine, "bs.xa"))
    caller = Caller(record, principal, RequestContext(None))
    lines = [parse_line(1, "AML5", "1", "1", "30"), parse_line(2, "MTF500", "1", "2", "30")]
    with pytest.raises(service.PrescriptionError, match="diagnosis"):
        service.sign(caller, patient_id="hoa", lines=lines, diagnoses=["X99.99"],
                     acknowledged=set(), advice="", now=datetime.now(UTC))  # fmt: skip
    at = datetime(2025, 3, 1, 3, 4, 5, tzinfo=UTC)
    rx = service.sign(caller, patient_id="hoa", lines=lines, diagnoses=["I10", "E11.9"],
                      acknowledged=set(), advice="Ăn nhạt", now=at)  # fmt: skip
    for request in rx.requests:
        validate(request)
    loaded = service.load(caller, rx.code)
    assert [r["id"] for r in loaded.requests] == [r["id"] for r in rx.requests]
    payload = national_payload(loaded, caller.read("read", "Patient", "hoa"))
    assert payload["ma_don_thuoc"] == rx.code and payload["loai_don_thuoc"] == "c"
    assert payload["ho_ten_benh_nhan"] == "Lê Thị Hoa"
    assert payload["ma_dinh_danh_cong_dan"] == "027150000009"
    assert payload["ngay_sinh_benh_nhan"] == "02/01/1950" and payload["gioi_tinh"] == 3
    assert payload["ngay_gio_ke_don"] == "2025-03-01 10:04:05"  # Vietnam time
    assert [c["ma_chan_doan"] for c in payload["chan_doan"]] == ["I10", "E11.9"]
    assert payload["thong_tin_don_thuoc"][1] == {
        "ma_thuoc": "MTF500",
        "biet_duoc": "Metformin 500 mg, viên nén bao phim",
        "ten_thuoc": "Metformin 500 mg, viên nén bao phim",
        "don_vi_tinh": "viên",
        "so_luong": 60,
        "cach_dung": "Uống 1 viên x 2 lần/ngày, 30 ngày",
    }
    assert payload["loi_dan"] == "Ăn nhạt"
    patient = caller.read("read", "Patient", "hoa")
    unknown_birth = {k: v for k, v in patient.items() if k != "birthDate"}
    assert national_payload(loaded, unknown_birth)["ngay_sinh_benh_nhan"] == ""  # not "01/01/"


def test_a_finished_course_is_not_a_current_medicine(record):
    caller = caller_of(record, "bs.xa")
    at = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)
    service.sign(caller, patient_id="hoa", lines=[parse_line(1, "MTF500", "1", "2", "30")],
                 diagnoses=["E11.9"], acknowledged=set(), advice="", now=at)  # fmt: skip
    again = [parse_line(1, "MTF850", "1", "1", "30")]
    during = service.review(caller, patient_id="hoa", lines=again, now=at + timedelta(days=29))
    assert [i.kind for i in during if "metformin" in i.key] == ["duplicate-ingredient"]
    after = service.review(caller, patient_id="hoa", lines=again, now=at + timedelta(days=31))
    assert not [i for i in after if "metformin" in i.key]
    later = at + timedelta(days=365)  # warfarin has no supply duration: taken until stopped
    ibuprofen = [parse_line(1, "IBU400", "1", "2", "5")]
    issues = service.review(caller, patient_id="hoa", lines=ibuprofen, now=later)
    assert [i.kind for i in issues] == ["interaction"]


def test_only_prescribers_sign(record):
    for username, role, place in (("ktv.xq", "radiologist", f"commune:{HOME}"),
                                  ("quantri", "admin", "national")):  # fmt: skip
        create_user(record.engine, username=username, password=PASSWORD, role=role,
                    place=place, full_name=username)  # fmt: skip
        with pytest.raises(service.NotPrescriber):
            service.sign(caller_of(record, username), patient_id="hoa",
                         lines=[parse_line(1, "AML5", "1", "1", "30")], diagnoses=["I10"],
                         acknowledged=set(), advice="", now=datetime.now(UTC))  # fmt: skip
    client = logged_in(record, "ktv.xq")
    assert client.get("/prescriptions/new?patient=hoa").status_code == 403
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)[1]
    posted = client.post("/prescriptions", data={"csrf": token, "patient": "hoa", "step": "sign",
                                                 "drug_1": "AML5", "diagnosis": "I10"})  # fmt: skip
    assert posted.status_code == 403 and count(record, "MedicationRequest") == 1


def test_a_refused_record_is_a_page_not_raw_json(record, monkeypatch):
    def refused(*args, **kwargs):
        raise FhirError.single(403, "forbidden", "refused by the access policy")

    monkeypatch.setattr(service, "review", refused)
    client = logged_in(record)
    token = re.search(r'name="csrf" value="([^"]+)"',
                      client.get("/prescriptions/new?patient=hoa").text)[1]  # fmt: skip
    page_ = client.post("/prescriptions", data={"csrf": token, "patient": "hoa", "step": "check",
                                                "drug_1": "AML5", "dose_1": "1", "per_day_1": "1",
                                                "days_1": "30", "diagnosis": "I10"})  # fmt: skip
    assert page_.status_code == 403 and page_.headers["content-type"].startswith("text/html")


def test_long_text_is_a_field_error_not_cut(record):
    with pytest.raises(InvalidLine, match="line 1, note"):
        parse_line(1, "AML5", "1", "1", "30", "x" * 201)
    with pytest.raises(service.PrescriptionError, match="advice"):
        service.sign(caller_of(record, "bs.xa"), patient_id="hoa",
                     lines=[parse_line(1, "AML5", "1", "1", "30")], diagnoses=["I10"],
                     acknowledged=set(), advice="y" * 1001, now=datetime.now(UTC))  # fmt: skip
    assert count(record, "MedicationRequest") == 1


def test_the_printed_date_is_the_vietnam_date(record):
    evening = datetime(2025, 3, 1, 20, 0, tzinfo=UTC)  # 03:00 on the 2nd in Hà Nội
    rx = service.sign(caller_of(record, "bs.xa"), patient_id="hoa",
                      lines=[parse_line(1, "AML5", "1", "1", "30")], diagnoses=["I10"],
                      acknowledged=set(), advice="", now=evening)  # fmt: skip
    shown = logged_in(record).get(f"/prescriptions/{rx.code}").text
    assert "2025-03-02" in shown and "2025-03-01" not in shown
