"""ECG recordings in the store, the AI's rhythm and the clinician's reading, kept apart as
imaging keeps them (`imaging/resources.py`): the AI proposes, a clinician confirms.

One upload writes two Observations in one transaction:
- the recording, `{id}`: LOINC 11524-6 "EKG study" (the code FHIR ECG profiles and examples use
  for the study, as read in public FHIR IGs, not in LOINC's own table), `valueSampledData` in
  µV (factor 0.001 mV, origin 0 mV: each sample rounded to 1 µV, the tolerance), `period` in
  ms at the file's own rate, `dimensions` = leads, the samples interleaved lead by lead as R4's
  SampledData defines; the lead names in the extension `LEADS`. Recordings up to `MAX_SECONDS`
  (5 min) are kept this way: longer ones (Holter) are refused here, since the rhythm model reads
  only their first minute; their beat times go to `songkhoe ecg af-windows`;
- the AI's rhythm, `{id}-ai`: LOINC 8884-9 "Heart rate rhythm" (as listed in FHIR vital-sign
  value sets, not checked in LOINC itself), method "AI", the rhythm coded N/A/O/~ in the
  project's `RHYTHM` CodeSystem (the PhysioNet/CinC Challenge 2017 labels), the AF probability,
  each class's probability, the heart rate (LOINC 8867-4), the signal quality and the R-peak
  times as components, `device` naming the model and the SHA-256 of its ONNX file,
  `derivedFrom` the recording.

The clinician's reading is a DiagnosticReport `{id}-report` (status final, category EC
"Electrocardiac" of HL7 v2 table 0074, `result` → the AI Observation, performer = the
clinician, `conclusionCode` from `CONCLUSIONS`); a reading of AF also writes the Condition
`{id}-af`: ICD-10 I48.9 (the NCD AF worklist looks for I48*: keep that code), category
problem-list-item, verified confirmed, evidence → the report. The AI Observation is never
changed. Every read and write goes through the caller's access policy and audit trail.
"""

import io
import tempfile
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import numpy as np

from songkhoe.auth.audit import CLIENT_SYSTEM, USER_SYSTEM
from songkhoe.auth.caller import Caller
from songkhoe.auth.guard import not_found
from songkhoe.auth.models import Principal
from songkhoe.ecg import service
from songkhoe.ecg.model import MODEL_DIR, read_json
from songkhoe.fhir.names import full_name
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.store import ResourceNotFound, VersionConflict, utc_now
from songkhoe.fhir.systems import (
    BASE,
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    LOINC,
    OBSERVATION_CATEGORY,
    SNOMED,
    UCUM,
)
from songkhoe.terminology import icd10

ECG = f"{BASE}/CodeSystem/ecg"
RHYTHM = f"{BASE}/CodeSystem/ecg-rhythm"
LEADS = f"{BASE}/StructureDefinition/ecg-lead-names"
DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"
MAX_SECONDS = 300.0
READING_LIST_SIZE = 500
MAX_ZIP_BYTES = 64 << 20
AF_ICD10 = "I48.9"  # the NCD AF worklist selects Conditions coded I48*

RHYTHMS = {  # code: (Vietnamese, English), the Challenge 2017 labels
    "N": ("Nhịp xoang bình thường", "Normal sinus rhythm"),
    "A": ("Rung nhĩ", "Atrial fibrillation"),
    "O": ("Nhịp khác", "Other rhythm"),
    "~": ("Nhiễu, không đọc được", "Too noisy to read"),
}
CONCLUSIONS = {
    # SNOMED CT 49436004 "Atrial fibrillation (disorder)"; 426783006 "Sinus rhythm", as the
    # PhysioNet/CinC Challenge 2020 maps it (evaluation-2020/dx_mapping_scored.csv). No one
    # SNOMED concept says "some other rhythm" or "uninterpretable": those two stay in RHYTHM.
    "A": (SNOMED, "49436004", "Atrial fibrillation"),
    "N": (SNOMED, "426783006", "Sinus rhythm"),
    "O": (RHYTHM, "O", "Other rhythm"),
    "~": (RHYTHM, "~", "Too noisy to read"),
}
DECISIONS = ("confirm", "correct")


class RecordingRefused(ValueError):
    """A recording that is not kept (too long to store as samples); the message says why."""


class ReviewError(ValueError):
    """A reading that cannot be recorded; the message names the field."""


def _coding(system: str, code: str, display: str | None = None) -> dict:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def _concept(system: str, code: str, display: str | None = None) -> dict:
    return {"coding": [_coding(system, code, display)], **({"text": display} if display else {})}


def rhythm_concept(code: str) -> dict:
    vi, en = RHYTHMS[code]
    return _concept(RHYTHM, code, f"{vi} / {en}")


def ids(record_id: str) -> dict[str, str]:
    return {"recording": record_id, "ai": f"{record_id}-ai", "report": f"{record_id}-report",
            "condition": f"{record_id}-af"}  # fmt: skip


def agent(principal: Principal) -> dict:
    """A reference to the account that read the recording (as imaging's `agent`)."""
    system = USER_SYSTEM if principal.kind == "user" else CLIENT_SYSTEM
    return {"identifier": {"system": system, "value": principal.id}, "display": principal.display}


def recording_observation(
    record_id: str, patient_id: str, recording: service.Recording, when: str
) -> dict:
    """The recording itself (see the module docstring); RecordingRefused past `MAX_SECONDS`."""
    if recording.seconds > MAX_SECONDS:
        raise RecordingRefused(
            f"{recording.name}: {recording.seconds:.0f} s is longer than {MAX_SECONDS:.0f} s; "
            "give its beat times to `songkhoe ecg af-windows` instead"
        )
    microvolts = np.rint(recording.signal * 1000.0).astype(np.int64)
    return {
        "resourceType": "Observation",
        "id": record_id,
        "status": "final",
        "category": [_concept(OBSERVATION_CATEGORY, "procedure", "Procedure")],
        "code": {
            "coding": [_coding(LOINC, "11524-6", "EKG study"), _coding(ECG, "recording")],
            "text": "Điện tâm đồ (ECG)",
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": when,
        "issued": when,
        "extension": [{"url": LEADS, "valueString": ",".join(recording.leads)}],
        "valueSampledData": {
            "origin": {"value": 0, "unit": "mV", "system": UCUM, "code": "mV"},
            "period": round(1000.0 / recording.fs, 6),
            "factor": 0.001,
            "dimensions": len(recording.leads),
            "data": " ".join(map(str, microvolts.ravel().tolist())),
        },
    }


def signal_of(observation: dict) -> service.Recording:
    """The samples of a recording Observation, back in mV (to 1 µV)."""
    data = observation["valueSampledData"]
    leads = tuple(
        next(e["valueString"] for e in observation["extension"] if e["url"] == LEADS).split(",")
    )
    values = np.array(data["data"].split(), dtype=np.float64) * data["factor"]
    values += data["origin"]["value"]
    return service.Recording(
        observation["id"], values.reshape(-1, data["dimensions"]), 1000.0 / data["period"], leads
    )


def model_version() -> str:
    """The shipped model's name and the start of its ONNX file's SHA-256."""
    manifest = read_json(MODEL_DIR / "rhythm.json")
    return f"{manifest['name']} (sha256 {manifest['onnx_sha256'][:12]})"


def ai_observation(record_id: str, patient_id: str, rhythm: service.Rhythm, when: str) -> dict:
    """The AI's proposal, kept apart from the clinician's reading."""
    one = {"unit": "1", "system": UCUM, "code": "1"}
    components = [
        {
            "code": _concept(ECG, "af-probability", "Xác suất rung nhĩ (AF probability)"),
            "valueQuantity": {"value": round(rhythm.af_probability, 4), **one},
        },
        *(
            {
                "code": _concept(ECG, f"probability-{code}", f"Probability of {RHYTHMS[code][1]}"),
                "valueQuantity": {"value": round(p, 4), **one},
            }
            for code, p in rhythm.probabilities.items()
        ),
        {
            "code": _concept(ECG, "signal-quality", "Chất lượng tín hiệu (signal quality)"),
            "valueBoolean": rhythm.quality.readable,
        },
        {
            "code": _concept(ECG, "r-peaks", "R-peak times (s)"),
            "valueString": " ".join(f"{t:.3f}" for t in rhythm.r_peaks_s) or "-",
        },
    ]
    if rhythm.heart_rate_bpm is not None:
        components.insert(
            1,
            {
                "code": _concept(LOINC, "8867-4", "Heart rate"),
                "valueQuantity": {
                    "value": round(rhythm.heart_rate_bpm, 1),
                    "unit": "/min",
                    "system": UCUM,
                    "code": "/min",
                },
            },
        )
    notes = [{"text": "AI hỗ trợ — bác sĩ xác nhận (AI supports — a doctor confirms)."}]
    observation = {
        "resourceType": "Observation",
        "id": ids(record_id)["ai"],
        "status": "final",
        "category": [_concept(OBSERVATION_CATEGORY, "procedure", "Procedure")],
        "code": {
            "coding": [_coding(LOINC, "8884-9", "Heart rate rhythm"), _coding(ECG, "ai-rhythm")],
            "text": "Nhịp tim do AI đề xuất (AI-proposed rhythm)",
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": when,
        "issued": when,
        "method": _concept(ECG, "AI", "AI"),
        "device": {"display": f"songkhoe ecg model {model_version()}"},
        "valueCodeableConcept": rhythm_concept(rhythm.rhythm),
        "derivedFrom": [{"reference": f"Observation/{record_id}"}],
        "component": components,
        "note": notes,
    }
    if rhythm.quality.problem:
        notes.append({"text": rhythm.quality.problem})
    return observation


def report(
    record_id: str, patient_id: str, reviewer: Principal, rhythm: str, conclusion: str, when: str
) -> dict:
    """The clinician's reading of the recording: `rhythm` N/A/O/~ as they read it."""
    system, code, display = CONCLUSIONS[rhythm]
    return {
        "resourceType": "DiagnosticReport",
        "id": ids(record_id)["report"],
        "status": "final",
        "category": [_concept(DIAGNOSTIC_SERVICE, "EC", "Electrocardiac")],
        "code": {
            "coding": [_coding(LOINC, "11524-6", "EKG study"), _coding(ECG, "rhythm-reading")],
            "text": "Đọc nhịp điện tâm đồ (ECG rhythm reading)",
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": when,
        "issued": when,
        "performer": [agent(reviewer)],
        "resultsInterpreter": [agent(reviewer)],
        "result": [{"reference": f"Observation/{ids(record_id)['ai']}"}],
        "conclusion": conclusion,
        "conclusionCode": [_concept(system, code, display)],
    }


def af_condition(record_id: str, patient_id: str, reviewer: Principal, when: str) -> dict:
    """Atrial fibrillation on the person's problem list, confirmed by the report."""
    code = icd10.concept(AF_ICD10)
    return {
        "resourceType": "Condition",
        "id": ids(record_id)["condition"],
        "clinicalStatus": _concept(CONDITION_CLINICAL, "active"),
        "verificationStatus": _concept(CONDITION_VERIFICATION, "confirmed"),
        "category": [_concept(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")],
        "code": {
            "coding": [*code["coding"], _coding(SNOMED, "49436004", "Atrial fibrillation")],
            "text": "Rung nhĩ (atrial fibrillation)",
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "recordedDate": when,
        "recorder": agent(reviewer),
        "evidence": [{"detail": [{"reference": f"DiagnosticReport/{ids(record_id)['report']}"}]}],
    }


def store_recording(
    caller: Caller,
    patient_id: str,
    recording: service.Recording,
    classifier: service.Classifier | None = None,
) -> str:
    """Classify a recording and keep it with the AI's rhythm, for a person the caller may write
    for; returns the recording's id. RecordingRefused (nothing written) past `MAX_SECONDS`."""
    record_id = f"ecg-{uuid.uuid4().hex}"
    when = utc_now()
    observation = recording_observation(record_id, patient_id, recording, when)
    rhythm = (classifier or service.Classifier()).classify([recording])[0]
    proposed = ai_observation(record_id, patient_id, rhythm, when)
    with caller.refusals("create", [f"Patient/{patient_id}"]):
        with caller.store.transaction(caller.guard("create")) as writer:
            writer.create_many([observation, proposed])
    return record_id


@dataclass(frozen=True, slots=True)
class Proposal:
    """The AI's rhythm as the pages show it."""

    rhythm: str
    af_probability: float
    confidence: float  # the probability of the proposed rhythm
    heart_rate_bpm: float | None
    readable: bool
    r_peaks_s: list[float]
    model: str


def proposal(observation: dict) -> Proposal:
    parts = {c["code"]["coding"][0]["code"]: c for c in observation["component"]}
    rhythm = observation["valueCodeableConcept"]["coding"][0]["code"]
    peaks = parts["r-peaks"]["valueString"]
    hr = parts.get("8867-4")
    return Proposal(
        rhythm=rhythm,
        af_probability=parts["af-probability"]["valueQuantity"]["value"],
        confidence=parts[f"probability-{rhythm}"]["valueQuantity"]["value"],
        heart_rate_bpm=hr["valueQuantity"]["value"] if hr else None,
        readable=parts["signal-quality"]["valueBoolean"],
        r_peaks_s=[] if peaks == "-" else [float(t) for t in peaks.split()],
        model=observation["device"]["display"],
    )


@dataclass(frozen=True, slots=True)
class Record:
    """A recording, the AI's proposal and the clinician's reading (None before it)."""

    recording: dict
    ai: dict
    report: dict | None
    condition: dict | None
    patient_id: str

    @property
    def proposal(self) -> Proposal:
        return proposal(self.ai)


def _visible(caller: Caller, resource_type: str, resource_id: str) -> dict | None:
    try:
        content = caller.store.read(resource_type, resource_id)
    except ResourceNotFound:
        return None
    try:
        return caller.readable("read", content)
    except FhirError:
        return None


def record(caller: Caller, record_id: str) -> Record:
    """A recording and what belongs to it, for a caller who may see it (audited; a 404
    FhirError otherwise, and for an Observation that is not an ECG recording)."""
    recording = caller.read("read", "Observation", record_id)
    coded = {(c["system"], c["code"]) for c in recording.get("code", {}).get("coding", [])}
    ai = _visible(caller, "Observation", ids(record_id)["ai"])
    if (ECG, "recording") not in coded or "valueSampledData" not in recording or ai is None:
        raise not_found("Observation", record_id)
    return Record(
        recording=recording,
        ai=ai,
        report=_visible(caller, "DiagnosticReport", ids(record_id)["report"]),
        condition=_visible(caller, "Condition", ids(record_id)["condition"]),
        patient_id=recording["subject"]["reference"].removeprefix("Patient/"),
    )


def review(caller: Caller, record_id: str, *, decision: str, rhythm: str, conclusion: str) -> dict:
    """The clinician's reading: `confirm` takes the AI's rhythm, `correct` their own `rhythm`
    (N/A/O/~). Writes the final DiagnosticReport (a second reading replaces the first, as a new
    version), and for AF the confirmed Condition I48.9; a reading that is no longer AF marks
    that Condition refuted. Returns the report."""
    if decision not in DECISIONS:
        raise ReviewError(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
    found = record(caller, record_id)
    if decision == "confirm":
        rhythm = found.proposal.rhythm
    if rhythm not in RHYTHMS:
        raise ReviewError(f"rhythm must be one of {', '.join(RHYTHMS)}, got {rhythm!r}")
    when = utc_now()
    vi, en = RHYTHMS[rhythm]
    written = report(
        record_id,
        found.patient_id,
        caller.principal,
        rhythm,
        (conclusion.strip() or f"{vi} ({en})")[:2000],
        when,
    )
    changes = [written]
    if rhythm == "A":
        changes.append(af_condition(record_id, found.patient_id, caller.principal, when))
    elif found.condition is not None:
        refuted = {k: v for k, v in found.condition.items() if k != "meta"}
        refuted["verificationStatus"] = _concept(CONDITION_VERIFICATION, "refuted")
        refuted.pop("clinicalStatus", None)  # con-5: none on a refuted Condition
        changes.append(refuted)
    try:
        with caller.refusals("update", [f"Patient/{found.patient_id}"]):
            with caller.store.transaction(caller.guard("update")) as writer:
                version = (found.report or {}).get("meta", {}).get("versionId")
                stored = writer.update(written, if_match=int(version) if version else None)
                for res in changes[1:]:
                    writer.update(res)
    except VersionConflict:
        raise ReviewError("another reading was saved meanwhile: reload the page") from None
    return stored


@dataclass(frozen=True, slots=True)
class Entry:
    """A line of the chart panel or the reading list."""

    record_id: str
    patient_id: str
    when: str
    proposal: Proposal
    reading: str | None  # the clinician's rhythm, None before a reading


def _entries(caller: Caller, items: list[tuple[str, str]]) -> list[Entry]:
    ai_items = [("code", f"{ECG}|ai-rhythm"), *items]
    proposals = caller.visible("Observation", ai_items)
    reports = caller.visible("DiagnosticReport", [("code", f"{ECG}|rhythm-reading"), *items])
    caller.audit_found("search-type", proposals + reports, f"Observation?{urlencode(ai_items)}")
    readings = {
        r["result"][0]["reference"]: r["conclusionCode"][0]["coding"][0]["code"] for r in reports
    }
    by_code = {code: rhythm for rhythm, (_, code, _) in CONCLUSIONS.items()}
    return [
        Entry(
            record_id=o["derivedFrom"][0]["reference"].removeprefix("Observation/"),
            patient_id=o["subject"]["reference"].removeprefix("Patient/"),
            when=o["effectiveDateTime"],
            proposal=proposal(o),
            reading=by_code.get(readings.get(f"Observation/{o['id']}", ""), None),
        )
        for o in proposals
    ]


def patient_recordings(caller: Caller, patient_id: str) -> list[Entry]:
    """A person's recordings, newest first, with the AI's rhythm and the reading (audited)."""
    entries = _entries(caller, [("subject", f"Patient/{patient_id}"), ("_count", "50")])
    return sorted(entries, key=lambda e: e.when, reverse=True)


def suspicion_order(entries: list[Entry]) -> list[Entry]:
    """Readable recordings by AF probability, highest first, then the noisy ones (`~` or
    unreadable), each group oldest first at equal probability."""

    def key(e: Entry) -> tuple[bool, float, str]:
        noisy = e.proposal.rhythm == "~" or not e.proposal.readable
        return (noisy, -e.proposal.af_probability, e.when)

    return sorted(entries, key=key)


def reading_list(caller: Caller, limit: int = READING_LIST_SIZE) -> list[Entry]:
    """Recordings no clinician has read, among the newest `limit` the caller may see, most
    suspicious first (audited)."""
    entries = _entries(caller, [("_sort", "-date"), ("_count", str(limit))])
    return suspicion_order([e for e in entries if e.reading is None])


def read_upload(files: Sequence[tuple[str, bytes]]) -> service.Recording:
    """The recording in uploaded files: a WFDB header with its .mat/.dat (or the two in a .zip),
    a DICOM waveform or a CSV. InvalidRecording names the file and the problem."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        written = []
        for name, data in files:
            plain = Path(name).name
            if plain.lower().endswith(".zip"):
                written += _unzipped(plain, data, root)
            elif plain:
                (root / plain).write_bytes(data)
                written.append(root / plain)
        headers = [p for p in written if p.suffix.lower() == ".hea"]
        if len(headers) > 1 or (not headers and len(written) != 1):
            raise service.InvalidRecording(
                "upload: expected one recording (a .hea with its .mat/.dat, a DICOM or a CSV), "
                f"got {', '.join(p.name for p in written) or 'no file'}"
            )
        try:
            return service.read((headers or written)[0])
        except service.InvalidRecording as exc:
            raise service.InvalidRecording(str(exc).replace(f"{root}/", "")) from None


def _unzipped(name: str, data: bytes, root: Path) -> list[Path]:
    """The files of a .zip, flat (folders inside it ignored), at most `MAX_ZIP_BYTES` in all."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise service.InvalidRecording(f"{name}: not a zip file") from None
    members = [m for m in archive.infolist() if not m.is_dir()]
    if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
        raise service.InvalidRecording(f"{name}: more than {MAX_ZIP_BYTES >> 20} MB unpacked")
    paths = []
    for member in members:
        path = root / Path(member.filename).name
        path.write_bytes(archive.read(member))
        paths.append(path)
    return paths


def names(caller: Caller, patient_ids: Sequence[str]) -> dict[str, str]:
    """The names of the people the caller may see among `patient_ids` (audited)."""
    if not patient_ids:
        return {}
    items = [("_id", ",".join(sorted(set(patient_ids)))), ("_count", str(len(patient_ids)))]
    people = caller.visible("Patient", items)
    caller.audit_found("search-type", people, f"Patient?{urlencode(items)}")
    return {p["id"]: full_name(p) for p in people}
