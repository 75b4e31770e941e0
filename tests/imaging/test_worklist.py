"""The reading worklist ranks every preliminary report by the AI's suspicion (not only the
newest ones), and the AI worker survives another worker finishing a film it also claimed."""

import numpy as np
import pytest
from pydicom.uid import generate_uid

from songkhoe.auth.audit import RequestContext
from songkhoe.auth.caller import Caller
from songkhoe.auth.service import create_user, user_principal
from songkhoe.imaging import phantom, service, worker
from songkhoe.imaging import resources as fhir
from songkhoe.imaging.inference import Analysis, Analyzer
from songkhoe.imaging.ingest import Film
from songkhoe.imaging.media import MediaFiles
from songkhoe.places.catalog import communes

HOME = communes("24")[0].code
AWAY = communes("01")[0].code


def doctor_of(store, province: str) -> Caller:
    user_id = create_user(
        store.engine,
        username=f"bs{province}",
        password="mật-khẩu-đủ-dài",
        role="doctor",
        place=f"province:{province}",
        full_name="Bác sĩ",
    )
    return Caller(store, user_principal(store.engine, user_id), RequestContext(None, "TREAT"))


def person(patient_id: str, commune: str) -> dict:
    return {
        "resourceType": "Patient",
        "id": patient_id,
        "name": [{"family": "Lê", "given": ["Văn", patient_id]}],
        "managingOrganization": {"reference": f"Organization/tyt-{commune}"},
    }


def read_by_ai(study_id: str, patient_id: str, suspicion: float, when: str) -> list[dict]:
    """A film the AI has read: its study, AI Observation and preliminary report."""
    film = Film(np.zeros((64, 64), np.float32), 1.0, "image/png")
    analysis = Analysis(
        model="test",
        demo=False,
        scores={"Nodule": suspicion},
        suspicion=suspicion,
        operating_point=0.5,
        top_finding="Nodule",
        heat=None,
        region=None,
    )
    refs = {"study_id": study_id, "patient_id": patient_id, "when": when}
    return [
        fhir.imaging_study(**refs, film=film, series_uid=generate_uid(), sop_uid=generate_uid()),
        fhir.ai_observation(**refs, analysis=analysis, heatmap_id=None),
        fhir.preliminary_report(**refs, heatmap_id=None),
    ]


def test_the_worklist_ranks_every_preliminary_report(store):
    store.create_many([person("an", HOME), person("binh", AWAY)])
    films = [  # (study, patient, suspicion, when): the most suspicious film is the oldest
        ("cxr-old", "an", 0.95, "2026-01-01T08:00:00Z"),
        *((f"cxr-new{i}", "an", 0.1 * i, f"2026-02-0{i}T08:00:00Z") for i in range(1, 6)),
        ("cxr-read", "an", 0.99, "2026-01-02T08:00:00Z"),  # already read by a doctor: not listed
        ("cxr-away", "binh", 0.999, "2026-01-03T08:00:00Z"),  # another province's person
    ]
    for study_id, patient_id, suspicion, when in films:
        store.create_many(read_by_ai(study_id, patient_id, suspicion, when))
    final = store.read("DiagnosticReport", "cxr-read-report")
    store.update({**{k: v for k, v in final.items() if k != "meta"}, "status": "final"})
    doctor = doctor_of(store, "24")
    entries = service.worklist(doctor, limit=3)
    assert [e.study_id for e in entries] == ["cxr-old", "cxr-new5", "cxr-new4"]
    assert [e.suspicion for e in entries] == [0.95, 0.5, 0.4]
    assert entries[0].patient_name == "Lê Văn an" and entries[0].positive
    everything = service.worklist(doctor)
    assert len(everything) == 6 and "cxr-away" not in {e.study_id for e in everything}
    assert service.most_suspicious(doctor_of(store, "01"), 10) == ["cxr-away-report"]


class Meddling:
    """An analyzer during whose run another worker, having taken up the first film again,
    finishes it (or, with `fail`, after which the model fails)."""

    def __init__(self, store, analyzer: Analyzer, task_id: str, fail: bool = False) -> None:
        self.store, self.analyzer, self.task_id, self.fail = store, analyzer, task_id, fail
        self.manifest = analyzer.manifest

    def analyze(self, films, batch_size=8):
        task = self.store.read("Task", self.task_id)
        self.store.update({**{k: v for k, v in task.items() if k != "meta"}, "status": "completed"})
        if self.fail:
            raise RuntimeError("the model fell over")
        return self.analyzer.analyze(films, batch_size)


@pytest.mark.parametrize("fail", [False, True])
def test_a_film_finished_by_another_worker_is_left_alone(
    store, phantom_model, imaging_env, make_png, fail
):
    store.create_many([person("an", HOME)])
    files = MediaFiles(imaging_env)
    doctor = doctor_of(store, "24")
    films = phantom.draw(2, height=96, seed=9).films
    first, second = (
        service.upload(doctor, files, patient_id="an", filename=f"{i}.png", data=make_png(f))
        for i, f in enumerate(films)
    )
    meddling = Meddling(store, Analyzer(phantom_model), f"{first}-analysis", fail=fail)
    assert worker.run_once(store, files, meddling) == 2
    assert store.read("Task", f"{first}-analysis")["status"] == "completed", "theirs stands"
    assert store.read("Task", f"{second}-analysis")["status"] == ("failed" if fail else "completed")
    if not fail:  # the rest of the batch is recorded
        assert store.read("DiagnosticReport", f"{second}-report")["status"] == "preliminary"
