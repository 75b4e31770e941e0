"""The FHIR R4 resources of one chest film, built as plain dicts (no I/O).

One upload makes an ImagingStudy, a Media for the original file and one for the film as shown
on screen (each Attachment's `url` is the app route that serves the file through the access
policy and audit), and a Task asking the AI worker to read it. The worker adds a Media with the
heatmap, an Observation with the AI's output (method "AI": every score, the suspicion against
the operating point, the top finding's region) and a preliminary DiagnosticReport. The doctor's
review makes the report final with the doctor as performer, their conclusion and findings, and
the review decision; the AI Observation is never changed, so the two stay apart. A positive
reading adds a follow-up Task for the person's commune health station.

Ids derive from the study's: `{study}-film`, `{study}-ai`, `{study}-report`, ...
"""

import base64
import hashlib

from songkhoe.auth.audit import CLIENT_SYSTEM, USER_SYSTEM
from songkhoe.auth.models import Principal
from songkhoe.fhir.systems import BASE, OBSERVATION_CATEGORY, SNOMED, UCUM
from songkhoe.imaging.inference import Analysis
from songkhoe.imaging.ingest import Film

IMAGING = f"{BASE}/CodeSystem/imaging"
FINDING = f"{BASE}/CodeSystem/chest-xray-finding"
SHA256 = f"{BASE}/sid/sha256"
DECISION = f"{BASE}/StructureDefinition/imaging-review-decision"
DICOM_DCM = "http://dicom.nema.org/resources/ontology/DCM"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"
CHEST = {"system": SNOMED, "code": "51185008", "display": "Thoracic structure"}
DX_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage, for presentation
SUFFIXES = ("original", "film", "heatmap", "ai", "report", "analysis", "follow-up")
ANALYSIS = "ai-analysis"
FOLLOW_UP = "follow-up"
REPORT = "chest-xray-screening"
SUSPICION = "ai-suspicion"
REGION = "top-finding-region"
DECISIONS = ("confirm", "reject", "edit")
DEMO_NOTE = "Mô hình minh hoạ, không dùng cho lâm sàng (demonstration model, not for clinical use)."


def ids(study_id: str) -> dict[str, str]:
    return {suffix: f"{study_id}-{suffix}" for suffix in SUFFIXES}


def _coding(system: str, code: str, display: str | None = None) -> dict:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def _concept(system: str, code: str, display: str | None = None) -> dict:
    return {"coding": [_coding(system, code, display)], **({"text": display} if display else {})}


def agent(principal: Principal) -> dict:
    """A reference to the account (user or system) that did something."""
    system = USER_SYSTEM if principal.kind == "user" else CLIENT_SYSTEM
    return {"identifier": {"system": system, "value": principal.id}, "display": principal.display}


def attachment(data: bytes, content_type: str, media_id: str, title: str, when: str) -> dict:
    """FHIR Attachment of a stored file: `hash` is SHA-1 as R4 defines it; the content address
    (SHA-256) is the Media's identifier."""
    return {
        "contentType": content_type,
        "url": f"/imaging/media/{media_id}",
        "size": len(data),
        "hash": base64.b64encode(hashlib.sha1(data).digest()).decode(),
        "title": title,
        "creation": when,
    }


def media(
    *,
    media_id: str,
    study_id: str,
    patient_id: str,
    sha256: str,
    content: dict,
    when: str,
    film: Film,
    note: str | None = None,
) -> dict:
    res = {
        "resourceType": "Media",
        "id": media_id,
        "identifier": [{"system": SHA256, "value": sha256}],
        "partOf": [{"reference": f"ImagingStudy/{study_id}"}],
        "status": "completed",
        "type": _concept("http://terminology.hl7.org/CodeSystem/media-type", "image", "Image"),
        "modality": _concept(DICOM_DCM, film.modality or "DX"),
        "subject": {"reference": f"Patient/{patient_id}"},
        "createdDateTime": when,
        "bodySite": {"coding": [CHEST]},
        "height": film.height,
        "width": film.width,
        "content": content,
    }
    if film.view:
        res["view"] = {"text": film.view}
    if note:
        res["note"] = [{"text": note}]
    return res


def imaging_study(
    *, study_id: str, patient_id: str, film: Film, when: str, series_uid: str, sop_uid: str
) -> dict:
    modality = _coding(DICOM_DCM, film.modality or "DX")
    study = {
        "resourceType": "ImagingStudy",
        "id": study_id,
        "status": "available",
        "modality": [modality],
        "subject": {"reference": f"Patient/{patient_id}"},
        "started": when,
        "numberOfSeries": 1,
        "numberOfInstances": 1,
        "description": "X-quang ngực thẳng (chest X-ray, frontal)",
        "series": [
            {
                "uid": series_uid,
                "number": 1,
                "modality": modality,
                "numberOfInstances": 1,
                "bodySite": CHEST,
                "instance": [
                    {
                        "uid": sop_uid,
                        "number": 1,
                        "sopClass": _coding(
                            "urn:ietf:rfc:3986", f"urn:oid:{film.sop_class_uid or DX_IMAGE_STORAGE}"
                        ),
                    }
                ],
            }
        ],
    }
    if film.study_uid:
        study["identifier"] = [{"system": "urn:dicom:uid", "value": f"urn:oid:{film.study_uid}"}]
    return study


def analysis_task(*, study_id: str, patient_id: str, requester: Principal, when: str) -> dict:
    return {
        "resourceType": "Task",
        "id": ids(study_id)["analysis"],
        "status": "requested",
        "intent": "order",
        "code": _concept(IMAGING, ANALYSIS, "AI đọc phim X-quang ngực (AI chest X-ray reading)"),
        "focus": {"reference": f"ImagingStudy/{study_id}"},
        "for": {"reference": f"Patient/{patient_id}"},
        "authoredOn": when,
        "lastModified": when,
        "requester": agent(requester),
    }


def ai_observation(
    *,
    study_id: str,
    patient_id: str,
    analysis: Analysis,
    when: str,
    heatmap_id: str | None,
    pixel_spacing_mm: tuple[float, float] | None = None,
) -> dict:
    """The AI's output, kept apart from the doctor's decision: method AI, every score, the
    suspicion as the value, POS/NEG at the operating point, the top finding and its region (in
    pixels, and in millimetres where the DICOM file gives the pixel spacing)."""
    quantity = {"unit": "1", "system": UCUM, "code": "1"}
    components = [
        {
            "code": _concept(FINDING, label, label),
            "valueQuantity": {"value": round(score, 4), **quantity},
        }
        for label, score in analysis.scores.items()
    ]
    components.append(
        {
            "code": _concept(IMAGING, "operating-point", "Operating point"),
            "valueQuantity": {"value": analysis.operating_point, **quantity},
        }
    )
    components.append(
        {
            "code": _concept(IMAGING, "top-finding", "Top finding"),
            "valueCodeableConcept": _concept(FINDING, analysis.top_finding, analysis.top_finding),
        }
    )
    if analysis.region is not None:
        x, y, w, h = analysis.region
        components.append(
            {
                "code": _concept(IMAGING, REGION, "Top finding region (x y width height, pixels)"),
                "valueString": f"{x} {y} {w} {h}",
            }
        )
        if pixel_spacing_mm is not None:
            rows_mm, cols_mm = pixel_spacing_mm
            components.append(
                {
                    "code": _concept(IMAGING, "top-finding-size", "Top finding region size"),
                    "valueString": f"{w * cols_mm:.0f} × {h * rows_mm:.0f} mm",
                }
            )
    refs = ids(study_id)
    derived = [f"ImagingStudy/{study_id}", f"Media/{refs['film']}"]
    derived += [f"Media/{heatmap_id}"] if heatmap_id else []
    note = f"AI hỗ trợ — bác sĩ quyết định. Model: {analysis.model}."
    if analysis.demo:
        note += f" {DEMO_NOTE}"
    return {
        "resourceType": "Observation",
        "id": refs["ai"],
        "status": "final",
        "category": [_concept(OBSERVATION_CATEGORY, "imaging", "Imaging")],
        "code": _concept(
            IMAGING, SUSPICION, "Mức nghi ngờ bất thường do AI (AI abnormality suspicion)"
        ),
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": when,
        "issued": when,
        "method": _concept(IMAGING, "AI", "AI"),
        "device": {"display": f"songkhoe imaging model {analysis.model}"},
        "valueQuantity": {"value": round(analysis.suspicion, 4), **quantity},
        "interpretation": [_concept(INTERPRETATION, "POS" if analysis.positive else "NEG")],
        "derivedFrom": [{"reference": r} for r in derived],
        "component": components,
        "note": [{"text": note}],
    }


def preliminary_report(*, study_id: str, patient_id: str, when: str, heatmap_id: str | None):
    refs = ids(study_id)
    shown = [{"comment": "film", "link": {"reference": f"Media/{refs['film']}"}}]
    if heatmap_id:
        shown.append({"comment": "AI heatmap", "link": {"reference": f"Media/{heatmap_id}"}})
    return {
        "resourceType": "DiagnosticReport",
        "id": refs["report"],
        "status": "preliminary",
        "category": [_concept(DIAGNOSTIC_SERVICE, "RAD", "Radiology")],
        "code": _concept(IMAGING, REPORT, "Sàng lọc X-quang ngực (chest X-ray screening)"),
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": when,
        "issued": when,
        "imagingStudy": [{"reference": f"ImagingStudy/{study_id}"}],
        "media": shown,
        "result": [{"reference": f"Observation/{refs['ai']}"}],
    }


def reviewed_report(
    report: dict,
    *,
    reviewer: Principal,
    decision: str,
    findings: list[str],
    conclusion: str,
    when: str,
) -> dict:
    """The doctor's reading: performer, conclusion, findings and the decision on the AI's."""
    reviewed = {k: v for k, v in report.items() if k != "meta"}
    reviewed.update(
        status="final" if report["status"] == "preliminary" else "amended",
        issued=when,
        performer=[agent(reviewer)],
        resultsInterpreter=[agent(reviewer)],
        conclusion=conclusion,
        extension=[{"url": DECISION, "valueCode": decision}],
    )
    reviewed.pop("conclusionCode", None)
    if findings:
        reviewed["conclusionCode"] = [_concept(FINDING, f, f) for f in findings]
    return reviewed


def follow_up_task(
    *,
    study_id: str,
    patient_id: str,
    station: str | None,
    requester: Principal,
    when: str,
    findings: list[str],
) -> dict:
    task = {
        "resourceType": "Task",
        "id": ids(study_id)["follow-up"],
        "status": "requested",
        "intent": "order",
        "priority": "urgent",
        "code": _concept(IMAGING, FOLLOW_UP, "Theo dõi sau X-quang ngực (chest X-ray follow-up)"),
        "description": "X-quang ngực bất thường (" + ", ".join(findings) + "): mời người bệnh "
        "khám lại / chuyển tuyến theo chỉ định của bác sĩ.",
        "focus": {"reference": f"DiagnosticReport/{ids(study_id)['report']}"},
        "for": {"reference": f"Patient/{patient_id}"},
        "authoredOn": when,
        "lastModified": when,
        "requester": agent(requester),
    }
    if station:
        task["owner"] = {"reference": station}
    return task


def ai_findings(observation: dict) -> list[str]:
    """The findings the AI called: each suspicion score at or above the operating point."""
    scores, point = {}, None
    for component in observation.get("component", []):
        code = component["code"]["coding"][0]
        if code["system"] == FINDING:
            scores[code["code"]] = component["valueQuantity"]["value"]
        elif code["code"] == "operating-point":
            point = component["valueQuantity"]["value"]
    if point is None:
        return []
    return [label for label, score in scores.items() if score >= point]


def sha256_of(media_resource: dict) -> str:
    return next(i["value"] for i in media_resource["identifier"] if i["system"] == SHA256)
