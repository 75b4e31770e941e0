"""Chest films in the store: upload, the AI worker's claim and results, the reading worklist,
a study and its files, the doctor's review. Every read and write goes through the caller's
access policy and audit trail (songkhoe.auth.caller); the AI worker is a system caller of its
own (`worker_caller`)."""

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from pydicom.uid import generate_uid

from songkhoe.auth.audit import RequestContext
from songkhoe.auth.caller import Caller
from songkhoe.auth.guard import not_found
from songkhoe.auth.models import Place, Principal, parse_scopes
from songkhoe.fhir import search as fhir_search
from songkhoe.fhir.names import full_name
from songkhoe.fhir.queries import ranked_by_target_quantity
from songkhoe.fhir.search import parse_query
from songkhoe.fhir.store import ResourceNotFound, ResourceStore, VersionConflict, utc_now
from songkhoe.imaging import resources as fhir
from songkhoe.imaging.deid import deidentify
from songkhoe.imaging.heatmap import film_png, overlay_png
from songkhoe.imaging.inference import Analysis
from songkhoe.imaging.ingest import Film, read_film
from songkhoe.imaging.media import MediaFiles

STALE_CLAIM = timedelta(minutes=10)  # an in-progress analysis this old is taken up again
WORKLIST_SIZE = 200
STORED_MEDIA = re.compile(r"(cxr-[0-9a-f]{32})-(original|film|heatmap)")  # ids the pipeline makes


class ReviewError(ValueError):
    """A review that cannot be recorded; the message names the field."""


def worker_caller(store: ResourceStore) -> Caller:
    """The AI worker: a system account that sees every person, audited like anyone."""
    principal = Principal(
        "client",
        "imaging-worker",
        "imaging-worker",
        None,
        Place("national"),
        parse_scopes("system/*.*"),
    )
    return Caller(store, principal, RequestContext(None, "TREAT"))


def upload(
    caller: Caller, files: MediaFiles, *, patient_id: str, filename: str, data: bytes
) -> str:
    """Store a film for a person and ask the AI worker to read it; returns the study id.
    InvalidImage for a file that is not a readable frontal chest film; nothing is written then."""
    film = read_film(data, filename)
    study_id = f"cxr-{uuid.uuid4().hex}"
    refs = fhir.ids(study_id)
    when = utc_now()
    original_sha = files.put(data)
    shown = film_png(film.display())
    shown_sha = files.put(shown)
    files.record(study_id, "original", original_sha, film.content_type)
    files.record(study_id, "film", shown_sha, "image/png")
    resources = [
        fhir.imaging_study(
            study_id=study_id,
            patient_id=patient_id,
            film=film,
            when=when,
            series_uid=film.series_uid or generate_uid(),
            sop_uid=film.sop_uid or generate_uid(),
        ),
        fhir.media(
            media_id=refs["original"],
            study_id=study_id,
            patient_id=patient_id,
            sha256=original_sha,
            film=film,
            when=when,
            content=fhir.attachment(data, film.content_type, refs["original"], filename, when),
        ),
        fhir.media(
            media_id=refs["film"],
            study_id=study_id,
            patient_id=patient_id,
            sha256=shown_sha,
            film=film,
            when=when,
            content=fhir.attachment(shown, "image/png", refs["film"], "film", when),
        ),
        fhir.analysis_task(
            study_id=study_id, patient_id=patient_id, requester=caller.principal, when=when
        ),
    ]
    with caller.refusals("create", [f"Patient/{patient_id}"]):
        with caller.store.transaction(caller.guard("create")) as writer:
            writer.create_many(resources)
    return study_id


def pending_analyses(caller: Caller, limit: int) -> list[dict]:
    """Analysis Tasks waiting for the worker, oldest first, and those claimed so long ago that
    their worker must have stopped (a poll, not audited)."""
    code = ("code", f"{fhir.IMAGING}|{fhir.ANALYSIS}")
    waiting = caller.visible(
        "Task",
        [code, ("status", "requested"), ("_sort", "_lastUpdated"), ("_count", str(limit))],
    )
    stale = (datetime.now(UTC) - STALE_CLAIM).strftime("%Y-%m-%dT%H:%M:%SZ")
    stuck = caller.visible(
        "Task",
        [code, ("status", "in-progress"), ("_lastUpdated", f"lt{stale}"), ("_count", str(limit))],
    )
    return (waiting + stuck)[:limit]


def claim(caller: Caller, task: dict) -> dict | None:
    """Mark an analysis in progress; None if another worker got there first."""
    claimed = {k: v for k, v in task.items() if k != "meta"}
    claimed.update(status="in-progress", lastModified=utc_now())
    try:
        with caller.store.transaction(caller.guard("update")) as writer:
            return writer.update(claimed, if_match=int(task["meta"]["versionId"]))
    except VersionConflict:
        return None


def film_of(caller: Caller, files: MediaFiles, task: dict) -> Film:
    """The film an analysis Task is about, read again from its original file."""
    study_id = task["focus"]["reference"].removeprefix("ImagingStudy/")
    original, data, _ = _stored(caller, files, fhir.ids(study_id)["original"])
    return read_film(data, original["content"].get("title", ""))


def record_analysis(
    caller: Caller, files: MediaFiles, task: dict, film: Film, analysis: Analysis
) -> None:
    """The AI's results for one film, all in one transaction: heatmap Media, AI Observation,
    preliminary DiagnosticReport, Task completed."""
    study_id = task["focus"]["reference"].removeprefix("ImagingStudy/")
    patient_id = task["for"]["reference"].removeprefix("Patient/")
    refs, when = fhir.ids(study_id), utc_now()
    made: list[dict] = []
    heatmap_id = None
    if analysis.heat is not None and analysis.region is not None:
        heatmap_id = refs["heatmap"]
        overlay = overlay_png(film.display(), analysis.heat, analysis.region)
        overlay_sha = files.put(overlay)
        files.record(study_id, "heatmap", overlay_sha, "image/png")
        made.append(
            fhir.media(
                media_id=heatmap_id,
                study_id=study_id,
                patient_id=patient_id,
                sha256=overlay_sha,
                film=film,
                when=when,
                content=fhir.attachment(
                    overlay, "image/png", heatmap_id, f"AI heatmap: {analysis.top_finding}", when
                ),
                note=f"AI class activation map of {analysis.top_finding}, {analysis.model}",
            )
        )
    made.append(
        fhir.ai_observation(
            study_id=study_id,
            patient_id=patient_id,
            analysis=analysis,
            when=when,
            heatmap_id=heatmap_id,
            pixel_spacing_mm=film.pixel_spacing_mm,
        )
    )
    made.append(
        fhir.preliminary_report(
            study_id=study_id, patient_id=patient_id, when=when, heatmap_id=heatmap_id
        )
    )
    done = {k: v for k, v in task.items() if k != "meta"}
    done.update(
        status="completed",
        lastModified=when,
        output=[
            {
                "type": {"text": "report"},
                "valueReference": {"reference": f"DiagnosticReport/{refs['report']}"},
            }
        ],
    )
    with caller.store.transaction(caller.guard("create")) as writer:
        for res in made:  # a re-run after a stopped worker replaces its partial results
            writer.update(res)
        writer.update(done, if_match=int(task["meta"]["versionId"]))


def record_failure(caller: Caller, task: dict, reason: str) -> None:
    """Mark a claimed analysis failed, at the version claimed: nothing is written when another
    worker has taken it up or finished it since."""
    failed = {k: v for k, v in task.items() if k != "meta"}
    failed.update(status="failed", lastModified=utc_now(), statusReason={"text": reason[:500]})
    try:
        with caller.store.transaction(caller.guard("update")) as writer:
            writer.update(failed, if_match=int(task["meta"]["versionId"]))
    except VersionConflict:
        pass


@dataclass(frozen=True, slots=True)
class WorklistEntry:
    study_id: str
    patient_id: str
    patient_name: str
    suspicion: float
    positive: bool
    top_finding: str
    demo: bool
    when: str


def is_demo(observation: dict) -> bool:
    return any(fhir.DEMO_NOTE in n.get("text", "") for n in observation.get("note", []))


def most_suspicious(caller: Caller, limit: int) -> list[str]:
    """Ids of the preliminary screening reports the caller may see, the most suspicious first,
    among all of them: the FHIR search's query of the visible reports, joined through each
    report's `result` reference to the indexed suspicion of its AI Observation
    (Observation.value-quantity), sorted and cut in SQL, with no resource read."""
    query = parse_query(
        "DiagnosticReport",
        [("code", f"{fhir.IMAGING}|{fhir.REPORT}"), ("status", "preliminary")],
    )
    query.restrict = caller.access.restriction
    reports = fhir_search.search_query("DiagnosticReport", query).order_by(None).subquery()
    ranked = ranked_by_target_quantity(
        reports, "DiagnosticReport", "result", "Observation", "value-quantity"
    ).limit(limit)
    with caller.store.engine.connect() as conn:
        return list(conn.execute(ranked).scalars())


def worklist(caller: Caller, limit: int = WORKLIST_SIZE) -> list[WorklistEntry]:
    """Films read by the AI and waiting for a doctor, the most suspicious first (audited)."""
    caller.access.require("DiagnosticReport", "read")
    ranked = most_suspicious(caller, limit)
    if not ranked:
        return []
    items = [
        ("_id", ",".join(ranked)),
        ("_include", "DiagnosticReport:result"),
        ("_include", "DiagnosticReport:subject"),
        ("_count", str(limit)),
    ]
    found = caller.search("DiagnosticReport", items)
    by_ref = {f"{r['resourceType']}/{r['id']}": r for r in found}
    entries = []
    for report in (r for r in found if r["resourceType"] == "DiagnosticReport"):
        observation = by_ref.get(report["result"][0]["reference"])
        if observation is None:
            continue
        top = next(
            c for c in observation["component"] if c["code"]["coding"][0]["code"] == "top-finding"
        )
        entries.append(
            WorklistEntry(
                study_id=report["imagingStudy"][0]["reference"].removeprefix("ImagingStudy/"),
                patient_id=report["subject"]["reference"].removeprefix("Patient/"),
                patient_name=full_name(by_ref.get(report["subject"]["reference"]) or {}),
                suspicion=observation["valueQuantity"]["value"],
                positive=observation["interpretation"][0]["coding"][0]["code"] == "POS",
                top_finding=top["valueCodeableConcept"]["coding"][0]["code"],
                demo=is_demo(observation),
                when=report["effectiveDateTime"],
            )
        )
    return sorted(entries, key=lambda e: (-e.suspicion, e.when))


def unread(caller: Caller) -> list[dict]:
    """Analysis Tasks not completed (waiting, running or failed), newest first (audited)."""
    items = [
        ("code", f"{fhir.IMAGING}|{fhir.ANALYSIS}"),
        ("status", "requested,in-progress,failed"),
        ("_sort", "-_lastUpdated"),
        ("_count", "100"),
    ]
    return caller.search("Task", items)


def study(caller: Caller, study_id: str) -> dict[str, dict]:
    """A study and what belongs to it, by role (`study`, `film`, `heatmap`, `ai`, `report`,
    `analysis`, `follow-up`, ...), for a caller who may see it: one audited read of the study
    (FhirError 404 otherwise) and one audit of the rest."""
    found = {"study": caller.read("read", "ImagingStudy", study_id)}
    kinds = {
        "original": "Media",
        "film": "Media",
        "heatmap": "Media",
        "ai": "Observation",
        "report": "DiagnosticReport",
        "analysis": "Task",
        "follow-up": "Task",
    }
    with caller.store.engine.connect() as conn:
        for role, res_id in fhir.ids(study_id).items():
            try:
                content = caller.store.read(kinds[role], res_id)
            except ResourceNotFound:
                continue
            if caller.access.can_see(conn, content):
                found[role] = content
    related = [f"{r['resourceType']}/{r['id']}" for r in found.values()][1:]
    if related:
        caller.audit("read", related)
    return found


@dataclass(frozen=True, slots=True)
class StudyDetails:
    """What a study's page shows: the study's resources by role (as `study` finds them), its
    person, and the AI's reading taken apart."""

    found: dict[str, dict]
    patient: dict
    scores: list[tuple[str, float]]  # the AI's score per finding, highest first
    components: dict[str, dict]  # the AI Observation's other components, by code
    ai_findings: list[str]  # the findings the AI called
    demo: bool  # read by the demonstration model


def study_details(caller: Caller, study_id: str) -> StudyDetails:
    """A study for its page, for a caller who may see it (FhirError 404 otherwise)."""
    found = study(caller, study_id)
    observation = found.get("ai")
    scores, components = [], {}
    for c in (observation or {}).get("component", []):
        code = c["code"]["coding"][0]
        if code["system"] == fhir.FINDING:
            scores.append((code["code"], c["valueQuantity"]["value"]))
        else:
            components[code["code"]] = c
    patient_id = found["study"]["subject"]["reference"].removeprefix("Patient/")
    return StudyDetails(
        found=found,
        patient=caller.store.read("Patient", patient_id),
        scores=sorted(scores, key=lambda s: -s[1]),
        components=components,
        ai_findings=fhir.ai_findings(observation) if observation else [],
        demo=bool(observation) and is_demo(observation),
    )


def _stored(caller: Caller, files: MediaFiles, media_id: str) -> tuple[dict, bytes, str]:
    """A Media the pipeline wrote, its file and content type, for a caller who may see its
    study (audited), else a 404 FhirError. Only the file the pipeline recorded for that study
    and role is served: a Media written through /fhir that names another film's SHA-256, or
    points at a study it is not part of, gets nothing."""
    match = STORED_MEDIA.fullmatch(media_id)
    if match is None:
        raise not_found("Media", media_id)
    study_id, role = match.groups()
    study_res = caller.read("read", "ImagingStudy", study_id)
    content = caller.read("read", "Media", media_id)
    recorded = files.recorded(study_id, role)
    if (
        recorded is None
        or content.get("partOf") != [{"reference": f"ImagingStudy/{study_id}"}]
        or content.get("subject") != study_res.get("subject")
        or [i.get("value") for i in content.get("identifier", []) if i.get("system") == fhir.SHA256]
        != [recorded.digest]
    ):
        raise not_found("Media", media_id)
    return content, files.get(recorded.digest), recorded.content_type


def media_file(caller: Caller, files: MediaFiles, media_id: str) -> tuple[bytes, str]:
    """A stored file and its content type (see `_stored`)."""
    _, data, content_type = _stored(caller, files, media_id)
    return data, content_type


def deidentified_dicom(caller: Caller, files: MediaFiles, study_id: str) -> bytes | None:
    """The study's DICOM file de-identified (DICOM PS3.15 Basic Profile), None for a PNG/JPEG."""
    data, content_type = media_file(caller, files, fhir.ids(study_id)["original"])
    if content_type != "application/dicom":
        return None
    return deidentify(data, pseudonym=study_id)


def review(
    caller: Caller, *, study_id: str, decision: str, findings: list[str], conclusion: str
) -> dict:
    """The doctor's reading of a film the AI has read: `confirm` takes the AI's findings,
    `reject` records none, `edit` the doctor's own list. The report becomes final with the
    doctor as performer; a positive reading adds a follow-up Task for the person's commune
    health station. Returns the report."""
    if decision not in fhir.DECISIONS:
        raise ReviewError(f"decision must be one of {', '.join(fhir.DECISIONS)}, got {decision!r}")
    found = study(caller, study_id)
    if "report" not in found or "ai" not in found:
        raise ReviewError("the AI has not read this film yet")
    labels = [
        c["code"]["coding"][0]["code"]
        for c in found["ai"]["component"]
        if c["code"]["coding"][0]["system"] == fhir.FINDING
    ]
    if decision == "confirm":
        findings = fhir.ai_findings(found["ai"])
    elif decision == "reject":
        findings = []
    unknown = sorted(set(findings) - set(labels))
    if unknown:
        raise ReviewError(f"findings: unknown finding {unknown[0]!r}")
    patient_id = found["study"]["subject"]["reference"].removeprefix("Patient/")
    when = utc_now()
    conclusion = conclusion.strip() or (
        "Bất thường: " + ", ".join(findings) if findings else "Không thấy bất thường."
    )
    report = fhir.reviewed_report(
        found["report"],
        reviewer=caller.principal,
        decision=decision,
        findings=findings,
        conclusion=conclusion[:2000],
        when=when,
    )
    follow_up = None
    if findings:
        patient = caller.store.read("Patient", patient_id)
        station = (patient.get("managingOrganization") or {}).get("reference")
        follow_up = fhir.follow_up_task(
            study_id=study_id,
            patient_id=patient_id,
            station=station,
            requester=caller.principal,
            when=when,
            findings=findings,
        )
    elif found.get("follow-up", {}).get("status") == "requested":  # an amended, normal reading
        follow_up = {k: v for k, v in found["follow-up"].items() if k != "meta"}
        follow_up.update(status="cancelled", lastModified=when)
    try:
        with caller.refusals("update", [f"Patient/{patient_id}"]):
            with caller.store.transaction(caller.guard("update")) as writer:
                stored = writer.update(report, if_match=int(found["report"]["meta"]["versionId"]))
                if follow_up is not None:
                    writer.update(follow_up)
    except VersionConflict:
        raise ReviewError("another reading of this film was saved meanwhile: reload it") from None
    return stored


def patient_studies(caller: Caller, patient_id: str) -> list[dict]:
    """A person's chest films, newest first, each with its report's status (audited)."""
    items = [("subject", f"Patient/{patient_id}"), ("_sort", "-started"), ("_count", "50")]
    studies = caller.visible("ImagingStudy", items)
    reports = caller.visible(
        "DiagnosticReport",
        [
            ("subject", f"Patient/{patient_id}"),
            ("code", f"{fhir.IMAGING}|{fhir.REPORT}"),
            ("_count", "50"),
        ],
    )
    caller.audit_found("search-type", studies + reports, f"ImagingStudy?{urlencode(items)}")
    status = {r["imagingStudy"][0]["reference"]: r for r in reports}
    return [{"study": s, "report": status.get(f"ImagingStudy/{s['id']}")} for s in studies]
