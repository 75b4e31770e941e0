"""End to end on phantom films: DICOM (MONOCHROME1 with a window) and PNG uploaded through the
UI, read by the AI worker off the request, heatmap peaks inside the nodules, the worklist most
suspicious first, the doctor's review, the DiagnosticReport with the AI's output kept apart, the
follow-up Task for the commune station; refusals for other communes' staff."""

import io
import re
import time
from datetime import timedelta

import numpy as np
import pydicom
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from songkhoe.app import create_app
from songkhoe.auth.service import create_user, issue_token, user_id_of
from songkhoe.fhir.search import SearchRequest, page
from songkhoe.fhir.validation import validate
from songkhoe.imaging import phantom, service, worker
from songkhoe.imaging.heatmap import peak
from songkhoe.imaging.inference import Analyzer
from songkhoe.imaging.ingest import read_film
from songkhoe.imaging.media import MediaFiles
from songkhoe.imaging.resources import sha256_of
from songkhoe.places.catalog import communes

from ..web.conftest import PASSWORD, Town, csrf_of

HOME, NEIGHBOUR = (c.code for c in communes("24")[:2])
IMAGING_TYPES = ("ImagingStudy", "Media", "Observation", "DiagnosticReport", "Task")


def logged_in(store, username: str) -> TestClient:
    return Town(store, HOME, NEIGHBOUR).client(username)


def everything(store, resource_type: str) -> list[dict]:
    with store.engine.connect() as conn:
        return [r for _, r in page(conn, resource_type, SearchRequest(count=1000))]


@pytest.fixture
def clinic(store, imaging_env):
    store.create_many(
        [
            {
                "resourceType": "Patient",
                "id": pid,
                "name": [{"family": "Trần", "given": ["Văn", g]}],
                "gender": "male",
                "birthDate": "1961-04-02",
                "managingOrganization": {"reference": f"Organization/tyt-{code}"},
            }
            for pid, g, code in (("hung", "Hùng", HOME), ("dung", "Dũng", NEIGHBOUR))
        ]
    )
    for username, role, place in (
        ("bacsi", "doctor", "province:24"),
        ("yta", "commune_health_worker", f"commune:{HOME}"),
        ("khac", "commune_health_worker", f"commune:{NEIGHBOUR}"),
        ("bacsi-hanoi", "doctor", "province:01"),
    ):
        create_user(
            store.engine,
            username=username,
            password=PASSWORD,
            role=role,
            place=place,
            full_name=username,
        )
    return store


def upload(client: TestClient, patient: str, name: str, data: bytes, kind: str):
    form = client.get("/imaging/upload", params={"patient": patient})
    assert form.status_code == 200
    return client.post(
        "/imaging/upload",
        data={"csrf": csrf_of(form.text), "patient": patient},
        files={"film": (name, data, kind)},
        follow_redirects=False,
    )


def test_phantom_films_from_upload_to_report(
    clinic, phantom_model, imaging_env, make_dicom, make_png
):
    store = clinic
    positives = phantom.draw(2, height=192, width=240, seed=31, positive_fraction=1.0)
    negative = phantom.draw(1, height=192, width=240, seed=32, positive_fraction=0.0)
    files = {
        "m1.dcm": (
            make_dicom(
                positives.films[0], photometric="MONOCHROME1", bits=14, window=(8000.0, 6000.0)
            ),
            "application/dicom",
        ),
        "normal.png": (make_png(negative.films[0]), "image/png"),
        "nodule.png": (make_png(positives.films[1], bits=16), "image/png"),
    }
    doctor = logged_in(store, "bacsi")

    before = {t: len(everything(store, t)) for t in IMAGING_TYPES}
    bad = upload(doctor, "hung", "notes.txt", b"not an image at all", "text/plain")
    assert bad.status_code == 400 and "notes.txt: not a DICOM, PNG or JPEG" in bad.text
    assert {t: len(everything(store, t)) for t in IMAGING_TYPES} == before, "nothing written"

    studies = {}
    for name, (data, kind) in files.items():
        answer = upload(doctor, "hung", name, data, kind)
        assert answer.status_code == 303, answer.text
        studies[name] = answer.headers["location"].removeprefix("/imaging/studies/")
    waiting = doctor.get(f"/imaging/studies/{studies['m1.dcm']}")
    assert "AI đang đọc phim này" in waiting.text, "the upload returned before the AI read it"
    assert [t["status"] for t in everything(store, "Task")] == ["requested"] * 3
    assert everything(store, "DiagnosticReport") == []

    analyzer = Analyzer(phantom_model)
    assert worker.run_once(store, MediaFiles(imaging_env), analyzer) == 3
    assert worker.run_once(store, MediaFiles(imaging_env), analyzer) == 0, "each read once"

    # the heatmap's peak falls inside each nodule, and the stored region holds its centre
    for index, name in ((0, "m1.dcm"), (1, "nodule.png")):
        film = read_film(files[name][0], name)
        result = analyzer.analyze([film])[0]
        assert result.positive, f"{name}: suspicion {result.suspicion:.3f}"
        row, col = peak(result.heat)
        centre = positives.centres[index]
        assert np.hypot(row - centre[0], col - centre[1]) <= positives.radius[index], name
        ai = store.read("Observation", f"{studies[name]}-ai")
        x, y, w, h = map(
            int,
            next(
                c["valueString"]
                for c in ai["component"]
                if c["code"]["coding"][0]["code"] == "top-finding-region"
            ).split(),
        )
        assert x <= centre[1] <= x + w and y <= centre[0] <= y + h
        assert ai["method"]["coding"][0]["code"] == "AI"
        size = [c for c in ai["component"] if c["code"]["coding"][0]["code"] == "top-finding-size"]
        assert [c["valueString"] for c in size] == (
            [f"{w * 0.2:.0f} × {h * 0.2:.0f} mm"] if name.endswith(".dcm") else []
        )

    # the worklist: the most suspicious first, the normal film last
    listing = doctor.get("/imaging")
    assert listing.status_code == 200 and "AI hỗ trợ — bác sĩ quyết định" in listing.text
    order = list(dict.fromkeys(re.findall(r"/imaging/studies/(cxr-[0-9a-f]+)", listing.text)))
    assert set(order) == set(studies.values()) and order[-1] == studies["normal.png"]
    shown = [int(p) for p in re.findall(r"<strong>(\d+)%</strong>", listing.text)]
    assert shown == sorted(shown, reverse=True) and len(shown) == 3
    assert "Mô hình minh hoạ — không dùng cho lâm sàng" in listing.text

    # the study page: film, heatmap toggle, AI scores labelled, review form
    page_ = doctor.get(f"/imaging/studies/{studies['m1.dcm']}")
    assert 'id="overlay-toggle"' in page_.text and "AI hỗ trợ — bác sĩ quyết định" in page_.text
    assert 'name="decision" value="confirm"' in page_.text
    heatmap = doctor.get(f"/imaging/media/{studies['m1.dcm']}-heatmap")
    assert heatmap.status_code == 200 and heatmap.content.startswith(b"\x89PNG")
    assert heatmap.headers["content-type"] == "image/png"

    ai_before = store.read("Observation", f"{studies['m1.dcm']}-ai")
    csrf = csrf_of(page_.text)
    review = doctor.post(
        f"/imaging/studies/{studies['m1.dcm']}/review",
        data={"csrf": csrf, "decision": "confirm", "conclusion": ""},
        follow_redirects=False,
    )
    assert review.status_code == 303
    report = store.read("DiagnosticReport", f"{studies['m1.dcm']}-report")
    assert report["status"] == "final" and report["performer"][0]["display"] == "bacsi"
    assert [c["coding"][0]["code"] for c in report["conclusionCode"]] == ["Nodule"]
    assert report["extension"][0]["valueCode"] == "confirm"
    assert report["result"] == [{"reference": f"Observation/{studies['m1.dcm']}-ai"}]
    assert store.read("Observation", f"{studies['m1.dcm']}-ai") == ai_before, "AI kept apart"
    follow_up = store.read("Task", f"{studies['m1.dcm']}-follow-up")
    assert follow_up["owner"] == {"reference": f"Organization/tyt-{HOME}"}
    assert follow_up["status"] == "requested" and follow_up["for"]["reference"] == "Patient/hung"

    doctor.post(
        f"/imaging/studies/{studies['normal.png']}/review",
        data={"csrf": csrf, "decision": "reject"},
    )
    normal = store.read("DiagnosticReport", f"{studies['normal.png']}-report")
    assert normal["status"] == "final" and "conclusionCode" not in normal
    assert normal["conclusion"] == "Không thấy bất thường."
    edited = doctor.post(
        f"/imaging/studies/{studies['nodule.png']}/review",
        data={
            "csrf": csrf,
            "decision": "edit",
            "finding": ["Nodule"],
            "conclusion": "Nốt mờ thuỳ trên phổi phải, chụp CT.",
        },
    )
    assert edited.status_code == 200 and "Nốt mờ thuỳ trên phổi phải" in edited.text
    bogus = doctor.post(
        f"/imaging/studies/{studies['nodule.png']}/review",
        data={"csrf": csrf, "decision": "edit", "finding": ["Unicorn"]},
    )
    assert bogus.status_code == 400 and "unknown finding" in bogus.text
    tasks = {t["id"]: t for t in everything(store, "Task")}
    assert f"{studies['normal.png']}-follow-up" not in tasks
    assert tasks[f"{studies['nodule.png']}-follow-up"]["status"] == "requested"
    doctor.post(
        f"/imaging/studies/{studies['nodule.png']}/review",
        data={"csrf": csrf, "decision": "reject"},
    )
    amended = store.read("DiagnosticReport", f"{studies['nodule.png']}-report")
    assert amended["status"] == "amended" and amended["extension"][0]["valueCode"] == "reject"
    assert store.read("Task", f"{studies['nodule.png']}-follow-up")["status"] == "cancelled"
    assert "Không có phim nào chờ đọc" in doctor.get("/imaging").text

    # the chart lists the person's films; the DICOM exports de-identified
    chart = doctor.get("/people/hung")
    assert "Phim X-quang ngực" in chart.text and studies["m1.dcm"] in chart.text
    export = doctor.get(f"/imaging/studies/{studies['m1.dcm']}/export.dcm")
    exported = pydicom.dcmread(io.BytesIO(export.content))
    assert exported.PatientName == studies["m1.dcm"] and exported.PatientIdentityRemoved == "YES"

    # every resource is valid R4; the worker's writes are audited under its own name
    for resource_type in IMAGING_TYPES:
        for res in everything(store, resource_type):
            validate(res)
    agents = {e["agent"][0]["who"]["identifier"]["value"] for e in everything(store, "AuditEvent")}
    assert "imaging-worker" in agents


def test_other_staff_see_only_what_their_place_allows(clinic, phantom_model, imaging_env, make_png):
    store = clinic
    film = phantom.draw(1, height=128, seed=5).films[0]
    nurse = logged_in(store, "yta")
    answer = upload(nurse, "hung", "a.png", make_png(film), "image/png")
    assert answer.status_code == 303, "the commune station can send a film"
    study_id = answer.headers["location"].removeprefix("/imaging/studies/")
    worker.run_once(store, MediaFiles(imaging_env), Analyzer(phantom_model))
    assert nurse.get("/imaging").status_code == 403, "the reading list is for doctors"
    own = nurse.get(f"/imaging/studies/{study_id}")
    assert own.status_code == 200 and 'name="decision"' not in own.text
    other = logged_in(store, "khac")
    assert other.get(f"/imaging/studies/{study_id}").status_code == 404
    assert other.get(f"/imaging/media/{study_id}-film").status_code == 404
    assert other.get("/imaging/upload", params={"patient": "hung"}).status_code == 404
    sent = other.post(
        "/imaging/upload",
        data={"csrf": csrf_of(other.get("/").text), "patient": "hung"},
        files={"film": ("b.png", make_png(film), "image/png")},
    )
    assert sent.status_code == 404 and len(everything(store, "ImagingStudy")) == 1
    forged = other.post(f"/imaging/studies/{study_id}/review", data={"csrf": "x"})
    assert forged.status_code == 403


def test_a_review_needs_the_forms_csrf_token(clinic, phantom_model, imaging_env, make_png):
    doctor = logged_in(clinic, "bacsi")
    study_id = read_one(clinic, doctor, imaging_env, phantom_model, make_png)
    for token in ("x", "", None):
        data = {"decision": "reject", **({"csrf": token} if token is not None else {})}
        forged = doctor.post(f"/imaging/studies/{study_id}/review", data=data)
        assert forged.status_code == 403, token
    assert clinic.read("DiagnosticReport", f"{study_id}-report")["status"] == "preliminary"


def test_an_upload_needs_a_session_and_the_forms_csrf_token(clinic, imaging_env, make_png):
    film = make_png(phantom.draw(1, height=128, seed=5).films[0])
    visitor = TestClient(create_app(store=clinic))
    for path in ("/imaging", "/imaging/upload?patient=hung", "/imaging/media/cxr-0-film"):
        answer = visitor.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/login", path
    doctor = logged_in(clinic, "bacsi")
    for token in ("x", "", None):
        data = {"patient": "hung", **({"csrf": token} if token is not None else {})}
        forged = doctor.post(
            "/imaging/upload", data=data, files={"film": ("a.png", film, "image/png")}
        )
        assert forged.status_code == 403 and "Biểu mẫu đã hết hạn" in forged.text, token
    assert everything(clinic, "ImagingStudy") == []


def test_a_doctor_of_another_province_gets_nothing(clinic, phantom_model, imaging_env, make_dicom):
    doctor = logged_in(clinic, "bacsi")
    study_id = read_one(clinic, doctor, imaging_env, phantom_model, make_dicom)
    assert doctor.get(f"/imaging/studies/{study_id}/export.dcm").status_code == 200
    away = logged_in(clinic, "bacsi-hanoi")
    assert away.get("/imaging").status_code == 200 and study_id not in away.get("/imaging").text
    assert away.get(f"/imaging/studies/{study_id}").status_code == 404
    for suffix in ("original", "film", "heatmap"):
        assert away.get(f"/imaging/media/{study_id}-{suffix}").status_code == 404
    assert away.get(f"/imaging/studies/{study_id}/export.dcm").status_code == 404
    review = away.post(
        f"/imaging/studies/{study_id}/review",
        data={"csrf": csrf_of(away.get("/imaging").text), "decision": "reject"},
    )
    assert review.status_code == 404
    assert clinic.read("DiagnosticReport", f"{study_id}-report")["status"] == "preliminary"


def read_one(store, client, media_dir, model, encode, patient="hung", seed=5) -> str:
    """Upload a phantom film for a person through the UI and let the AI worker read it."""
    film = phantom.draw(1, height=128, seed=seed, positive_fraction=1.0).films[0]
    answer = upload(client, patient, "a.dcm", encode(film), "application/octet-stream")
    assert answer.status_code == 303, answer.text
    worker.run_once(store, MediaFiles(media_dir), Analyzer(model))
    return answer.headers["location"].removeprefix("/imaging/studies/")


def test_a_media_written_through_fhir_cannot_fetch_another_persons_film(
    clinic, phantom_model, imaging_env, make_png
):
    """Yến (yta) may write FHIR resources for Hùng; Dũng's film, in the neighbouring commune,
    is not hers to see. Pointing her own Media at its SHA-256, or making a Media of her own
    that names it, gets her nothing."""
    store = clinic
    khac = logged_in(store, "khac")
    theirs = read_one(store, khac, imaging_env, phantom_model, make_png, patient="dung", seed=7)
    nurse = logged_in(store, "yta")
    mine = read_one(store, nurse, imaging_env, phantom_model, make_png)
    their_film = store.read("Media", f"{theirs}-film")
    secret = MediaFiles(imaging_env).get(sha256_of(their_film))
    assert sha256_of(their_film) != sha256_of(store.read("Media", f"{mine}-film"))
    assert nurse.get(f"/imaging/media/{mine}-film").status_code == 200
    token = issue_token(
        store.engine,
        scopes="user/*.*",
        expires_in=timedelta(hours=1),
        user_id=user_id_of(store.engine, "yta"),
    )
    api = TestClient(create_app(store=store), headers={"Authorization": f"Bearer {token}"})
    forged = {k: v for k, v in store.read("Media", f"{mine}-film").items() if k != "meta"}
    forged["identifier"] = their_film["identifier"]
    assert api.put(f"/fhir/Media/{mine}-film", json=forged).status_code == 200
    made = {**forged, "id": f"cxr-{'0' * 32}-film"}
    made["partOf"] = [{"reference": f"ImagingStudy/{mine}"}]
    assert api.put(f"/fhir/Media/{made['id']}", json=made).status_code in (200, 201)
    made_heatmap = {**forged, "id": f"{mine}-heatmap-2"}
    assert api.put(f"/fhir/Media/{made_heatmap['id']}", json=made_heatmap).status_code in (200, 201)
    for media_id in (f"{mine}-film", made["id"], made_heatmap["id"]):
        answer = nurse.get(f"/imaging/media/{media_id}")
        assert answer.status_code == 404 and answer.content != secret, media_id
    assert nurse.get(f"/imaging/media/{mine}-original").status_code == 200, "the rest is served"


def test_a_film_over_the_size_limit_is_refused_next_to_the_field(clinic, imaging_env, monkeypatch):
    monkeypatch.setenv("SONGKHOE_IMAGING_MAX_FILE_MB", "0.5")
    doctor = logged_in(clinic, "bacsi")
    form = doctor.get("/imaging/upload", params={"patient": "hung"})
    assert 'data-max-bytes="524288"' in form.text and "0.5 MB" in form.text
    noise = np.random.default_rng(1).integers(0, 256, (800, 800), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(noise).save(out, format="PNG")
    assert len(out.getvalue()) > 524288
    answer = upload(doctor, "hung", "big.png", out.getvalue(), "image/png")
    assert answer.status_code == 400
    error = re.search(r'<p class="field-error" id="film-error"[^>]*>([^<]*)</p>', answer.text)
    assert error and error[1] == "Tệp quá lớn.", answer.text
    assert everything(clinic, "ImagingStudy") == []


def test_times_are_shown_in_vietnam(clinic, phantom_model, imaging_env, make_png, monkeypatch):
    monkeypatch.setattr(service, "utc_now", lambda: "2026-03-01T20:30:00Z")  # 03:30 on the 2nd
    doctor = logged_in(clinic, "bacsi")
    study_id = read_one(clinic, doctor, imaging_env, phantom_model, make_png)
    listing = doctor.get("/imaging").text
    assert '<td class="optional">2026-03-02</td>' in listing
    doctor.post(
        f"/imaging/studies/{study_id}/review",
        data={"csrf": csrf_of(doctor.get("/imaging").text), "decision": "confirm"},
    )
    study_page = doctor.get(f"/imaging/studies/{study_id}").text
    assert study_page.count("2026-03-02 03:30") == 2 and "20:30" not in study_page
    chart = doctor.get("/people/hung").text
    assert f'<a href="/imaging/studies/{study_id}">2026-03-02</a>' in chart


def test_the_app_can_run_the_worker_in_a_thread(
    clinic, phantom_model, imaging_env, monkeypatch, make_png
):
    monkeypatch.setenv("SONGKHOE_IMAGING_WORKER", "thread")
    film = phantom.draw(1, height=128, seed=8).films[0]
    with TestClient(create_app(store=clinic)) as client:  # runs the app's lifespan
        form = client.get("/login")
        client.post(
            "/login", data={"username": "bacsi", "password": PASSWORD, "csrf": csrf_of(form.text)}
        )
        answer = upload(client, "hung", "a.png", make_png(film), "image/png")
        study_id = answer.headers["location"].removeprefix("/imaging/studies/")
        for _ in range(300):
            if everything(clinic, "DiagnosticReport"):
                break
            time.sleep(0.1)
        assert clinic.read("Task", f"{study_id}-analysis")["status"] == "completed"
        assert "AI hỗ trợ — bác sĩ quyết định" in client.get(f"/imaging/studies/{study_id}").text
