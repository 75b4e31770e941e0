"""Every page and document that shows a person copes with any valid R4 Patient: no name, several
names (the official one is shown), only a `text`, no family name, and no birth date, sex,
identifier, telecom or address. Where there is no name they say "(chưa có tên)" / "(no name)"."""

import io
import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from pydicom.uid import generate_uid
from pypdf import PdfReader

from songkhoe.fhir.names import full_name
from songkhoe.fhir.systems import CCCD
from songkhoe.imaging import resources as imaging
from songkhoe.imaging.inference import Analysis
from songkhoe.imaging.ingest import Film
from songkhoe.ncd.service import refresh
from songkhoe.places.facilities import commune_station_id
from songkhoe.telehealth.queues import configure_queue

from .conftest import HOME, add_users, blood_pressure, csrf_of, logged_in

NO_NAME = "(chưa có tên)"
PEOPLE = {  # id: what the Patient holds besides its station; what a page shows for it
    "vo-danh": ({"identifier": [{"system": CCCD, "value": "027160000111"}]}, NO_NAME),
    "trong": ({}, NO_NAME),
    "chi-text": (
        {
            "name": [{"text": "Hà Văn Bản"}],
            "identifier": [{"value": "HS-7"}],
            "telecom": [{"system": "email", "value": "ha@example.vn"}],
            "address": [{"city": "Xã Đông Hồ"}],
        },
        "Hà Văn Bản",
    ),
    "nhieu-ten": (
        {
            "name": [
                {"use": "old", "family": "Cũ", "given": ["Tên", "Xưa"]},
                {"use": "nickname", "text": "Bé Bi"},
                {"use": "official", "family": "Phạm", "given": ["Văn", "Chính"]},
            ],
            "gender": "other",
            "birthDate": "1970",
        },
        "Phạm Văn Chính",
    ),
    "chi-ten-goi": ({"name": [{"given": ["Út", "Nhỏ"]}], "birthDate": "1980-02"}, "Út Nhỏ"),
}
QUEUE = "q-bv-bach-mai-radiology"


@pytest.mark.parametrize(
    ("names", "shown"),
    [
        (None, ""),
        ([], ""),
        ([{"use": "official"}], ""),
        ([{"text": "  "}, {"family": "Lê"}], "Lê"),
        ([{"text": "Đỗ Thị Hoa", "family": "Đỗ", "given": ["Hoa"]}], "Đỗ Thị Hoa"),
        ([{"family": "Lê", "given": ["Thị", "Hoa"]}], "Lê Thị Hoa"),
        ([{"given": ["Hoa"]}], "Hoa"),
        ([{"family": "Lê"}], "Lê"),
        ([{"family": "Lê", "given": [None, "Hoa"], "_given": [{"id": "x"}, None]}], "Lê Hoa"),
        ([{"use": "nickname", "text": "Bé"}, {"use": "usual", "text": "Hoa"}], "Hoa"),
        ([{"use": "usual", "text": "Hoa"}, {"use": "official", "text": "Lê Hoa"}], "Lê Hoa"),
        ([{"use": "official"}, {"use": "usual", "text": "Hoa"}], "Hoa"),
        ([{"use": "old", "text": "Cũ"}, {"text": "Mới"}], "Mới"),
        ([{"text": "Một"}, {"text": "Hai"}], "Một"),
        ([{"use": "maiden", "text": "Cũ"}], "Cũ"),
    ],
)
def test_full_name_of_every_shape(names, shown):
    person = {"resourceType": "Patient"} if names is None else {"name": names}
    assert full_name(person) == shown


@pytest.fixture
def station(store):
    """The people above at a commune station, its health worker, a doctor (prescribes, reads
    films) and a specialist's consultation queue at Bạch Mai."""
    org = {"reference": f"Organization/{commune_station_id(HOME)}"}
    store.create_many(
        {"resourceType": "Patient", "id": pid, "managingOrganization": org, **holds}
        for pid, (holds, _) in PEOPLE.items()
    )
    add_users(
        store,
        {
            "yta": ("commune_health_worker", f"commune:{HOME}"),
            "bs.xa": ("doctor", f"commune:{HOME}"),
            "bs.xquang": ("specialist", "facility:bv-bach-mai"),
        },
    )
    configure_queue(
        store, facility_id="bv-bach-mai", specialty="radiology", specialists=["bs.xquang"],
        backups=[],
    )  # fmt: skip
    return store


def link_text(html: str, href: str) -> str:
    """The text of the first link to `href`."""
    return re.search(rf'<a href="{re.escape(href)}"[^>]*>([^<]*)</a>', html)[1].strip()


def pdf_text(content: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)


def test_the_people_search_lists_anyone(station):
    worker = logged_in(station, "yta")
    for query, pid in [("027160000111", "vo-danh"), ("Hà", "chi-text"), ("Phạm", "nhieu-ten"),
                       ("Út", "chi-ten-goi")]:  # fmt: skip
        found = worker.get("/people", params={"q": query})
        assert found.status_code == 200, found.text
        assert link_text(found.text, f"/people/{pid}") == PEOPLE[pid][1]
    assert "Cũ Tên Xưa" not in worker.get("/people", params={"q": "Cũ"}).text
    worker.cookies.set("lang", "en")
    english = worker.get("/people", params={"q": "027160000111"})
    assert link_text(english.text, "/people/vo-danh") == "(no name)"


@pytest.mark.parametrize("pid", PEOPLE)
def test_every_page_about_a_person_shows_them(station, pid):
    shown = PEOPLE[pid][1]
    worker, doctor = logged_in(station, "yta"), logged_in(station, "bs.xa")
    chart = worker.get(f"/people/{pid}")
    assert chart.status_code == 200, chart.text
    assert f"<h1>{shown}</h1>" in chart.text
    forms = ("/telehealth/cases/new", "/telehealth/referrals/new", "/imaging/upload")
    for path in (f"/people/{pid}/checkup", *(f"{form}?patient={pid}" for form in forms)):
        answer = worker.get(path)
        assert answer.status_code == 200, (path, answer.text)
        assert link_text(answer.text, f"/people/{pid}") == shown, path
    prescribing = doctor.get(f"/prescriptions/new?patient={pid}")
    assert link_text(prescribing.text, f"/people/{pid}") == shown
    report = worker.get(f"/surveillance/cases/new?patient={pid}")
    assert report.status_code == 200 and f'value="{pid}"' in report.text


def test_a_record_without_facts_says_so(station):
    worker = logged_in(station, "yta")
    bare = worker.get("/people/trong").text
    facts = re.search(r'<dl class="facts">(.*?)</dl>', bare, re.S)[1]
    assert re.findall(r"<dd>([^<]*)</dd>", facts) == ["—", "Không rõ"]
    some = worker.get("/people/chi-text").text
    assert "<dd>ha@example.vn</dd>" in some and "<dd>Xã Đông Hồ</dd>" in some
    assert "Khác" in worker.get("/people/nhieu-ten").text


def test_the_worklist_names_everyone(station):
    taken = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="seconds")
    station.create(blood_pressure("trong", taken, 172, 104))
    refresh(store=station)
    listed = logged_in(station, "yta").get(f"/worklists/undiagnosed-htn?commune={HOME}")
    assert listed.status_code == 200, listed.text
    assert link_text(listed.text, "/people/trong") == NO_NAME


def test_consultations_referrals_and_prescriptions_of_someone_without_a_name(station):
    worker = logged_in(station, "yta")
    token = csrf_of(worker.get("/telehealth/cases/new?patient=trong").text)
    opened = worker.post(
        "/telehealth/cases",
        data={"csrf": token, "patient": "trong", "queue": QUEUE, "urgency": "routine",
              "question": "Ho kéo dài, nhờ tư vấn."},
        follow_redirects=False,
    )  # fmt: skip
    assert opened.status_code == 303, opened.text
    case = opened.headers["location"]
    assert link_text(worker.get(case).text, "/people/trong") == NO_NAME
    assert link_text(worker.get("/telehealth").text, case) == NO_NAME

    sent = worker.post(
        "/telehealth/referrals",
        data={"csrf": token, "patient": "trong", "to_facility": "bv-dk-24", "diagnosis": "J18.9",
              "summary": "Sốt, ho 5 ngày.", "reason": "Cần chụp X-quang"},
        follow_redirects=False,
    )  # fmt: skip
    assert sent.status_code == 303, sent.text
    referral = sent.headers["location"]
    assert link_text(worker.get(referral).text, "/people/trong") == NO_NAME
    assert link_text(worker.get("/telehealth").text, referral) == NO_NAME
    letter = worker.get(f"{referral}/letter.pdf")
    assert letter.status_code == 200 and f"Họ và tên: {NO_NAME}" in pdf_text(letter.content)

    doctor = logged_in(station, "bs.xa")
    lines = {"csrf": csrf_of(doctor.get("/prescriptions/new?patient=trong").text),
             "patient": "trong", "diagnosis": "J18.9", "drug_1": "PAR500", "dose_1": "1",
             "per_day_1": "3", "days_1": "5", "step": "sign"}  # fmt: skip
    signed = doctor.post("/prescriptions", data=lines, follow_redirects=False)
    assert signed.status_code == 303, signed.text
    printed = doctor.get(signed.headers["location"])
    assert printed.status_code == 200 and f"<dd>{NO_NAME}</dd>" in printed.text
    pdf = doctor.get(f"{signed.headers['location']}/pdf")
    assert pdf.status_code == 200 and f"Họ và tên: {NO_NAME}" in pdf_text(pdf.content)


def test_films_of_someone_without_a_name(station):
    when = "2026-03-01T08:00:00Z"
    film = Film(np.zeros((64, 64), np.float32), 1.0, "image/png")
    analysis = Analysis(
        model="test", demo=False, scores={"Nodule": 0.9}, suspicion=0.9, operating_point=0.5,
        top_finding="Nodule", heat=None, region=None,
    )  # fmt: skip
    refs = {"study_id": "cxr-trong", "patient_id": "trong", "when": when}
    station.create_many(
        [
            imaging.imaging_study(
                **refs, film=film, series_uid=generate_uid(), sop_uid=generate_uid()
            ),
            imaging.ai_observation(**refs, analysis=analysis, heatmap_id=None),
            imaging.preliminary_report(**refs, heatmap_id=None),
        ]
    )
    doctor = logged_in(station, "bs.xa")
    worklist = doctor.get("/imaging")
    assert worklist.status_code == 200, worklist.text
    assert link_text(worklist.text, "/people/trong") == NO_NAME
    study = doctor.get("/imaging/studies/cxr-trong")
    assert study.status_code == 200 and link_text(study.text, "/people/trong") == NO_NAME
