"""The ECG record in FHIR: the recording as SampledData (hand-worked), the AI's rhythm and the
doctor's reading kept apart, AF confirmed as Condition I48.9, the reading list's order, and the
uploaded files read back as a recording."""

import io
import zipfile

import numpy as np
import pytest

from songkhoe.auth.audit import RequestContext
from songkhoe.auth.caller import Caller
from songkhoe.auth.service import create_user, user_principal
from songkhoe.ecg import records, service
from songkhoe.ecg.quality import Quality
from songkhoe.fhir.validation import validate
from songkhoe.places.catalog import communes

HOME = communes("24")[0].code


def caller_of(store, username: str, role: str, place: str) -> Caller:
    user_id = create_user(
        store.engine, username=username, password="mật-khẩu-đủ-dài", role=role, place=place,
        full_name=username,
    )  # fmt: skip
    return Caller(store, user_principal(store.engine, user_id), RequestContext(None, "TREAT"))


def beats_csv(seconds: float = 30.0, fs: float = 250.0, rr_s: float = 0.8) -> bytes:
    """A CSV recording (time, lead II in mV): a 1 mV Gaussian QRS every `rr_s` seconds."""
    t = np.arange(int(seconds * fs)) / fs
    lead = np.zeros_like(t)
    for centre in np.arange(0.4, seconds, rr_s):
        lead += np.exp(-(((t - centre) / 0.012) ** 2))
    lines = ["time,II", *(f"{a:.4f},{b:.4f}" for a, b in zip(t, lead, strict=True))]
    return "\n".join(lines).encode()


@pytest.fixture
def clinic(store):
    store.create(
        {
            "resourceType": "Patient",
            "id": "lan",
            "name": [{"family": "Phạm", "given": ["Thị", "Lan"]}],
            "gender": "female",
            "birthDate": "1955-03-02",
            "managingOrganization": {"reference": f"Organization/tyt-{HOME}"},
        }
    )
    return store


def test_the_recording_is_sampled_data_in_microvolts():
    # two leads at 250 Hz: period 1000 / 250 = 4 ms; 0.5123 mV -> 512 µV (rounded to 1 µV),
    # -1.0 mV -> -1000 µV; samples interleaved by time: (I, II) of t0, then (I, II) of t1
    signal = np.array([[0.5123, -1.0], [0.0004, 2.25]])
    recording = service.Recording("r", signal, 250.0, ("I", "II"))
    observation = records.recording_observation("ecg-1", "lan", recording, "2026-12-08T01:00:00Z")
    validate(observation)
    data = observation["valueSampledData"]
    assert data["period"] == 4.0 and data["factor"] == 0.001 and data["dimensions"] == 2
    assert data["data"] == "512 -1000 0 2250"
    assert observation["code"]["coding"][0] == {
        "system": "http://loinc.org", "code": "11524-6", "display": "EKG study"
    }  # fmt: skip
    back = records.signal_of(observation)
    assert back.fs == 250.0 and back.leads == ("I", "II")
    np.testing.assert_allclose(back.signal, [[0.512, -1.0], [0.0, 2.25]], atol=1e-9)


def test_a_recording_longer_than_five_minutes_is_refused():
    recording = service.Recording("holter", np.zeros((3010, 1)), 10.0, ("II",))  # 301 s
    with pytest.raises(records.RecordingRefused, match="holter: 301 s is longer than 300 s"):
        records.recording_observation("ecg-2", "lan", recording, "2026-12-08T01:00:00Z")


def test_ai_and_doctor_kept_apart_and_af_becomes_condition_i48_9(clinic, tmp_path):
    doctor = caller_of(clinic, "bacsi", "doctor", "province:24")
    (tmp_path / "beats.csv").write_bytes(beats_csv())
    record_id = records.store_recording(doctor, "lan", service.read(tmp_path / "beats.csv"))
    found = records.record(doctor, record_id)
    assert found.report is None and found.condition is None
    ai = found.ai
    assert ai["id"] != record_id and ai["derivedFrom"] == [
        {"reference": f"Observation/{record_id}"}
    ]
    assert ai["method"]["coding"][0]["code"] == "AI"
    assert "cinc2017-lightgbm" in ai["device"]["display"]
    # 30 s with a beat every 0.8 s from 0.4 s: 37 beats, 60 / 0.8 = 75 per minute
    assert found.proposal.heart_rate_bpm == pytest.approx(75.0, abs=1.0)
    assert len(found.proposal.r_peaks_s) == pytest.approx(37, abs=1)

    stored = records.review(doctor, record_id, decision="correct", rhythm="A", conclusion="")
    again = records.record(doctor, record_id)
    assert again.ai["meta"]["versionId"] == "1", "the AI's Observation is never changed"
    assert stored["status"] == "final" and stored["result"] == [
        {"reference": f"Observation/{ai['id']}"}
    ]
    assert stored["conclusionCode"][0]["coding"][0]["code"] == "49436004"
    assert stored["performer"][0]["display"] == "bacsi"
    condition = again.condition
    assert [c["code"] for c in condition["code"]["coding"]] == ["I48.9", "49436004"]
    assert condition["code"]["coding"][0]["system"] == "http://hl7.org/fhir/sid/icd-10"
    assert condition["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert condition["category"][0]["coding"][0]["code"] == "problem-list-item"
    evidence = [{"reference": f"DiagnosticReport/{stored['id']}"}]
    assert condition["evidence"][0]["detail"] == evidence
    for res in (again.recording, again.ai, again.report, condition):
        validate({k: v for k, v in res.items() if k != "meta"})

    records.review(doctor, record_id, decision="correct", rhythm="N", conclusion="Nhịp xoang.")
    amended = records.record(doctor, record_id)
    assert amended.report["meta"]["versionId"] == "2" and amended.report["conclusion"] == (
        "Nhịp xoang."
    )
    assert amended.condition["verificationStatus"]["coding"][0]["code"] == "refuted"
    validate({k: v for k, v in amended.condition.items() if k != "meta"})
    with pytest.raises(records.ReviewError, match="rhythm must be one of"):
        records.review(doctor, record_id, decision="correct", rhythm="X", conclusion="")


def rhythm(code: str, af: float, readable: bool = True) -> service.Rhythm:
    rest = (1.0 - af) / 3
    return service.Rhythm(
        record="r", rhythm=code, probabilities={"N": rest, "A": af, "O": rest, "~": rest},
        af_probability=af, heart_rate_bpm=80.0, quality=Quality(readable, 0.9, None), lead="II",
        analysed_s=30.0, r_peaks_s=np.array([0.5, 1.25]), model="cinc2017-lightgbm",
    )  # fmt: skip


def test_the_reading_list_puts_likely_af_first_and_noise_last(clinic):
    doctor = caller_of(clinic, "bacsi", "doctor", "province:24")
    proposals = {  # id: (rhythm, AF probability, readable)
        "ecg-n": ("N", 0.05, True),
        "ecg-a": ("A", 0.90, True),
        "ecg-noisy": ("~", 0.60, False),
        "ecg-o": ("O", 0.30, True),
        "ecg-read": ("A", 0.99, True),
    }
    made = []
    for record_id, (code, af, readable) in proposals.items():
        made.append(
            records.ai_observation(
                record_id, "lan", rhythm(code, af, readable), "2026-12-08T01:00:00Z"
            )
        )
    clinic.create_many(made)
    clinic.create(
        records.report("ecg-read", "lan", doctor.principal, "A", "Rung nhĩ", "2026-12-08T02:00:00Z")
    )
    listed = [e.record_id for e in records.reading_list(doctor)]
    # readable by AF probability 0.90 > 0.30 > 0.05, then the noisy 0.60; the read one gone
    assert listed == ["ecg-a", "ecg-o", "ecg-n", "ecg-noisy"]
    outsider = caller_of(clinic, "khac", "doctor", "province:01")
    assert records.reading_list(outsider) == [], "another province's doctor sees none"


def test_uploaded_files_become_one_recording(tmp_path):
    csv = records.read_upload([("strip.csv", beats_csv(10.0))])
    assert csv.fs == pytest.approx(250.0) and csv.leads == ("II",) and csv.signal.shape == (2500, 1)
    with pytest.raises(service.InvalidRecording, match="expected one recording"):
        records.read_upload([("a.csv", b"time,II\n0,1\n"), ("b.csv", b"time,II\n0,1\n")])
    with pytest.raises(service.InvalidRecording, match="^bad.csv: row 3, column II: 'x'"):
        records.read_upload([("bad.csv", b"time,II\n0,1\n0.004,x\n")])
    with pytest.raises(service.InvalidRecording, match="r.zip: not a zip file"):
        records.read_upload([("r.zip", b"not a zip")])


def test_a_zipped_wfdb_record_reads_as_its_two_files(cinc):
    pair = [
        (f"A00004.{e}", (cinc / "records" / f"A00004.{e}").read_bytes()) for e in ("hea", "mat")
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in pair:
            archive.writestr(f"upload/{name}", data)
    from_zip = records.read_upload([("A00004.zip", buffer.getvalue())])
    from_pair = records.read_upload(pair)
    assert from_zip.fs == from_pair.fs == 300.0 and from_zip.signal.shape == (9000, 1)
    np.testing.assert_array_equal(from_zip.signal, from_pair.signal)
