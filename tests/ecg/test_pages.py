"""The ECG pages end to end: a commune health worker uploads from the person's chart, the strip is
drawn with its R-peaks, only doctors read and confirm, a confirmed AF is on the problem list,
the reading list puts the likely AF first, and another commune's staff are refused."""

import re

import pytest

from songkhoe.auth.audit import RequestContext
from songkhoe.auth.caller import Caller
from songkhoe.auth.service import user_id_of, user_principal
from songkhoe.ecg import records
from songkhoe.fhir.search import SearchRequest, page
from songkhoe.fhir.validation import validate
from songkhoe.places.catalog import communes

from ..web.conftest import add_users, csrf_of, logged_in
from .test_records import beats_csv

HOME, NEIGHBOUR = (c.code for c in communes("24")[:2])
NORMAL, AF = "A00001", "A00004"  # labelled N and A in the shared REFERENCE.csv


def everything(store, resource_type: str) -> list[dict]:
    with store.engine.connect() as conn:
        return [r for _, r in page(conn, resource_type, SearchRequest(count=1000))]


@pytest.fixture
def clinic(store):
    store.create_many(
        [
            {
                "resourceType": "Patient",
                "id": pid,
                "name": [{"family": "Trần", "given": ["Văn", given]}],
                "gender": "male",
                "birthDate": "1950-04-02",
                "managingOrganization": {"reference": f"Organization/tyt-{code}"},
            }
            for pid, given, code in (("hung", "Hùng", HOME), ("dung", "Dũng", NEIGHBOUR))
        ]
    )
    add_users(
        store,
        {
            "bacsi": ("doctor", "province:24"),
            "yta": ("commune_health_worker", f"commune:{HOME}"),
            "khac": ("commune_health_worker", f"commune:{NEIGHBOUR}"),
        },
    )
    return store


def caller_of(store, username: str) -> Caller:
    principal = user_principal(store.engine, user_id_of(store.engine, username))
    return Caller(store, principal, RequestContext(None, "TREAT"))


def upload(client, patient: str, files: list[tuple[str, bytes]]):
    form = client.get("/ecg/upload", params={"patient": patient})
    assert form.status_code == 200
    return client.post(
        "/ecg/upload",
        data={"csrf": csrf_of(form.text), "patient": patient},
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
        follow_redirects=False,
    )


def record_id_of(answer) -> str:
    assert answer.status_code == 303, answer.text
    return answer.headers["location"].removeprefix("/ecg/recordings/")


def test_a_worker_uploads_a_doctor_confirms(clinic):
    nurse = logged_in(clinic, "yta")
    chart = nurse.get("/people/hung")
    assert "Điện tâm đồ (ECG)" in chart.text and "/ecg/upload?patient=hung" in chart.text
    bad = upload(nurse, "hung", [("strip.csv", b"time,II\n0,1\n0.004,x\n")])
    assert bad.status_code == 400 and "strip.csv: row 3, column II: &#39;x&#39;" in bad.text
    assert everything(clinic, "Observation") == [], "nothing written"

    record_id = record_id_of(upload(nurse, "hung", [("strip.csv", beats_csv())]))
    shown = nurse.get(f"/ecg/recordings/{record_id}")
    assert shown.status_code == 200 and "AI hỗ trợ — bác sĩ xác nhận" in shown.text
    found = records.record(caller_of(clinic, "bacsi"), record_id)  # the R-peaks it holds
    marks = re.findall(r'class="ecg-r-peak"[^>]*><title>R ([0-9.]+) s</title>', shown.text)
    assert [float(m) for m in marks] == found.proposal.r_peaks_s and len(marks) >= 36
    assert 'viewBox="0 0 250 90"' in shown.text, "30 s: 3 rows of 10 s × 25 mm, 30 mm each"
    assert 'name="decision"' not in shown.text, "a commune health worker does not confirm"
    refused = nurse.post(
        f"/ecg/recordings/{record_id}/review",
        data={"csrf": csrf_of(shown.text), "decision": "confirm"},
    )
    assert refused.status_code == 403 and everything(clinic, "DiagnosticReport") == []
    assert nurse.get("/ecg/reading-list").status_code == 403

    other = logged_in(clinic, "khac")
    assert other.get(f"/ecg/recordings/{record_id}").status_code == 404
    assert other.get("/ecg/upload", params={"patient": "hung"}).status_code == 404

    doctor = logged_in(clinic, "bacsi")
    listed = doctor.get("/ecg/reading-list")
    assert f'data-record="{record_id}"' in listed.text and "Trần Văn Hùng" in listed.text
    form = doctor.get(f"/ecg/recordings/{record_id}")
    assert 'name="decision"' in form.text
    saved = doctor.post(
        f"/ecg/recordings/{record_id}/review",
        data={"csrf": csrf_of(form.text), "decision": "correct", "rhythm": "A", "conclusion": ""},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    after = doctor.get(f"/ecg/recordings/{record_id}")
    assert "Rung nhĩ (Atrial fibrillation)" in after.text and "I48.9" in after.text
    assert f'data-record="{record_id}"' not in doctor.get("/ecg/reading-list").text
    (condition,) = everything(clinic, "Condition")
    assert condition["code"]["coding"][0]["code"] == "I48.9"
    (report,) = everything(clinic, "DiagnosticReport")
    observations = {o["id"]: o for o in everything(clinic, "Observation")}
    assert set(observations) == {record_id, f"{record_id}-ai"}
    assert report["result"] == [{"reference": f"Observation/{record_id}-ai"}]
    for res in [condition, report, *observations.values()]:
        validate({k: v for k, v in res.items() if k != "meta"})
    panel = nurse.get("/people/hung").text
    assert f"/ecg/recordings/{record_id}" in panel and "Bác sĩ đã đọc" in panel


def test_shared_recordings_af_first_on_the_reading_list(clinic, cinc):
    nurse = logged_in(clinic, "yta")
    ids = {}
    for name in (NORMAL, AF):
        pair = [(f"{name}.{e}", (cinc / "records" / f"{name}.{e}").read_bytes())
                for e in ("hea", "mat")]  # fmt: skip
        ids[name] = record_id_of(upload(nurse, "hung", pair))
    doctor = logged_in(clinic, "bacsi")
    listed = re.findall(r'data-record="([^"]+)"', doctor.get("/ecg/reading-list").text)
    assert listed == [ids[AF], ids[NORMAL]]
    form = doctor.get(f"/ecg/recordings/{ids[AF]}")
    assert "Rung nhĩ" in form.text
    doctor.post(
        f"/ecg/recordings/{ids[AF]}/review",
        data={"csrf": csrf_of(form.text), "decision": "confirm", "rhythm": "", "conclusion": ""},
    )
    (condition,) = everything(clinic, "Condition")
    assert condition["code"]["coding"][0]["code"] == "I48.9"
