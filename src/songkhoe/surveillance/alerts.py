"""Outbreak alerts as FHIR R4 DetectedIssue resources, their review, and the response Task
(pure: no database).

Why DetectedIssue (http://hl7.org/fhir/R4/detectedissue.html) rather than Flag: an alert is a
signal found by an algorithm that someone must review, and DetectedIssue has the elements for
exactly that: `implicated` (Reference(Any): the commune's Location) and `code` (the disease)
are search parameters, `identifiedPeriod` is the week, `evidence` names the detector, `detail`
reads as the evidence, `status` moves from `preliminary` (open) to `final` (confirmed) or
`cancelled` (dismissed), and `mitigation` records each review with its date and author. A Flag
has no evidence, no searchable code, and only active/inactive status. The numbers (week, count,
upper bound, recent weeks, method and control) are in the `surveillance-signal` extension.

The alert's id is derived from (method, disease, commune, week), so the weekly job can run
again without making a second alert. Every review writes a new version: the history of the
resource is the alert's status history.
"""

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import orjson

from songkhoe.fhir.systems import BASE
from songkhoe.places.catalog import commune
from songkhoe.places.resources import commune_location_id
from songkhoe.surveillance.aggregation import week_label
from songkhoe.surveillance.diseases import DISEASE_SYSTEM, disease

SIGNAL_SYSTEM = f"{BASE}/sid/surveillance-signal"
METHOD_SYSTEM = f"{BASE}/CodeSystem/aberration-method"
REVIEW_SYSTEM = f"{BASE}/CodeSystem/alert-review"
TASK_SYSTEM = f"{BASE}/CodeSystem/surveillance-task"
EXT_SIGNAL = f"{BASE}/StructureDefinition/surveillance-signal"
R_SURVEILLANCE = "https://CRAN.R-project.org/package=surveillance"
STATUS = {"open": "preliminary", "confirmed": "final", "dismissed": "cancelled"}
STATE = {status: state for state, status in STATUS.items()}
METHOD_LABELS = {
    "ears-c1": "EARS C1 (R surveillance 1.20.3 earsC)",
    "ears-c2": "EARS C2 (R surveillance 1.20.3 earsC)",
    "ears-c3": "EARS C3 (R surveillance 1.20.3 earsC)",
    "farrington": "Farrington 1996 (R surveillance 1.20.3 algo.farrington)",
    "farrington-flexible": "farringtonFlexible (R surveillance 1.20.3)",
    "noufaily": "farringtonFlexible, Noufaily et al. 2013 settings (R surveillance 1.20.3)",
    "cusum": "CUSUM (R surveillance 1.20.3 algo.cusum)",
}
RECENT_WEEKS = 8
_ID_SPACE = uuid.UUID("6f1c3b7a-2d4e-4a8b-9c0d-1e2f3a4b5c6d")


class ReviewError(ValueError):
    """A review that cannot be made; `field` names the input at fault, `conflict` when the
    alert was already reviewed."""

    def __init__(self, field: str, message: str, *, conflict: bool = False) -> None:
        super().__init__(message)
        self.field, self.conflict = field, conflict


@dataclass(frozen=True, slots=True)
class Signal:
    """An alarm of a detector: one commune, disease and week, with its evidence. `recent` are
    the counts of the weeks up to and including `week` (oldest first)."""

    disease: str
    commune: str
    week: date
    method: str
    control: dict[str, Any]
    count: int
    upperbound: float
    recent: tuple[int, ...]
    population: int


def alert_id(method: str, disease_key: str, commune_code: str, week: date) -> str:
    return str(uuid.uuid5(_ID_SPACE, f"{method}/{disease_key}/{commune_code}/{week}"))


def response_task_id(alert_key: str) -> str:
    """The id of the outbreak-response Task of an alert (one per alert)."""
    return str(uuid.uuid5(_ID_SPACE, f"response/{alert_key}"))


def _detail(s: Signal) -> str:
    d, place = disease(s.disease), commune(s.commune)
    return (
        f"{d.name_vi}, {place.full_name}, tuần {week_label(s.week)}: {s.count} ca, vượt ngưỡng "
        f"{s.upperbound:.2f} ({s.method}). {len(s.recent)} tuần gần nhất: "
        f"{', '.join(map(str, s.recent))}. / {d.name_en}, {place.name_en}, week "
        f"{week_label(s.week)}: {s.count} cases above the threshold {s.upperbound:.2f}."
    )


def alert_resource(s: Signal) -> dict[str, Any]:
    """The open DetectedIssue of a signal (see the module doc)."""
    d, place = disease(s.disease), commune(s.commune)
    fields = [
        {"url": "week", "valueString": week_label(s.week)},
        {"url": "count", "valueInteger": s.count},
        {"url": "upperbound", "valueDecimal": round(s.upperbound, 6)},
        {"url": "recentCounts", "valueString": ",".join(map(str, s.recent))},
        {"url": "population", "valueInteger": s.population},
        {"url": "method", "valueCode": s.method},
        {"url": "control", "valueString": orjson.dumps(s.control).decode()},
    ]
    return {
        "resourceType": "DetectedIssue",
        "id": alert_id(s.method, s.disease, s.commune, s.week),
        "extension": [{"url": EXT_SIGNAL, "extension": fields}],
        "identifier": [
            {"system": SIGNAL_SYSTEM, "value": f"{s.method}/{s.disease}/{s.commune}/{s.week}"}
        ],
        "status": STATUS["open"],
        "code": {
            "coding": [{"system": DISEASE_SYSTEM, "code": d.key, "display": d.name_en}],
            "text": d.name_vi,
        },
        "severity": "high" if d.group == "A" else "moderate",
        "identifiedPeriod": {
            "start": s.week.isoformat(),
            "end": (s.week + timedelta(days=6)).isoformat(),
        },
        "implicated": [
            {"reference": f"Location/{commune_location_id(s.commune)}", "display": place.full_name}
        ],
        "evidence": [
            {
                "code": [
                    {
                        "coding": [
                            {
                                "system": METHOD_SYSTEM,
                                "code": s.method,
                                "display": METHOD_LABELS.get(s.method, s.method),
                            }
                        ]
                    }
                ]
            }
        ],
        "detail": _detail(s),
        "reference": R_SURVEILLANCE,
    }


def is_alert(resource: dict[str, Any]) -> bool:
    """Whether a DetectedIssue is an outbreak alert (prescription warnings are DetectedIssues
    too): it carries the surveillance-signal identifier."""
    return any(i.get("system") == SIGNAL_SYSTEM for i in resource.get("identifier", []))


def signal_of(alert: dict[str, Any]) -> Signal:
    """The signal an alert was made from (for display and tests)."""
    ext = next(e for e in alert["extension"] if e["url"] == EXT_SIGNAL)
    values = {f["url"]: next(v for k, v in f.items() if k.startswith("value")) for f in
              ext["extension"]}  # fmt: skip
    implicated = alert["implicated"][0]["reference"]
    return Signal(
        disease=next(c["code"] for c in alert["code"]["coding"] if c["system"] == DISEASE_SYSTEM),
        commune=implicated.removeprefix("Location/comm-"),
        week=date.fromisoformat(alert["identifiedPeriod"]["start"]),
        method=values["method"],
        control=orjson.loads(values["control"]),
        count=int(values["count"]),
        upperbound=float(values["upperbound"]),
        recent=tuple(int(x) for x in values["recentCounts"].split(",") if x),
        population=int(values["population"]),
    )


def state_of(alert: dict[str, Any]) -> str:
    """open, confirmed or dismissed."""
    return STATE.get(alert.get("status", ""), "open")


def author(principal_id: str, display: str) -> dict[str, Any]:
    """A reference to the user who acted (by the audit trail's user identifier)."""
    return {"identifier": {"system": f"{BASE}/sid/user", "value": principal_id},
            "display": display}  # fmt: skip


def reviewed(
    alert: dict[str, Any], *, action: str, note: str | None, by: dict[str, Any], when: str
) -> dict[str, Any]:
    """The alert after a review: `action` confirm or dismiss (a dismissal needs a reason in
    `note`); ReviewError if it was already reviewed or the reason is missing."""
    if action not in ("confirm", "dismiss"):
        raise ReviewError("action", f"action must be confirm or dismiss, got {action!r}")
    state = state_of(alert)
    if state != "open":
        raise ReviewError("action", f"the alert is already {state}", conflict=True)
    note = (note or "").strip() or None
    if action == "dismiss" and (note is None or len(note) < 3):
        raise ReviewError("reason", "a dismissal needs a reason (at least 3 characters)")
    new_state = "confirmed" if action == "confirm" else "dismissed"
    mitigation: dict[str, Any] = {
        "action": {"coding": [{"system": REVIEW_SYSTEM, "code": new_state}]},
        "date": when,
        "author": by,
    }
    if note:
        mitigation["action"]["text"] = note
    content = {k: v for k, v in alert.items() if k != "meta"}
    return {
        **content,
        "status": STATUS[new_state],
        "mitigation": [*alert.get("mitigation", []), mitigation],
    }


def response_task(
    alert: dict[str, Any], *, owner: dict[str, Any], by: dict[str, Any], when: str
) -> dict[str, Any]:
    """The outbreak-response Task of a confirmed alert, assigned to `owner` (an Organization
    reference: the commune station or a regional medical centre)."""
    s = signal_of(alert)
    d = disease(s.disease)
    return {
        "resourceType": "Task",
        "id": response_task_id(alert["id"]),
        "status": "requested",
        "intent": "order",
        "priority": "urgent",
        "code": {
            "coding": [
                {
                    "system": TASK_SYSTEM,
                    "code": "outbreak-response",
                    "display": "Outbreak investigation and response",
                }
            ],
            "text": "Điều tra, xử lý ổ dịch",
        },  # fmt: skip
        "description": f"{d.name_vi}: {alert['detail']}",
        "focus": {"reference": f"DetectedIssue/{alert['id']}"},
        "for": alert["implicated"][0],
        "authoredOn": when,
        "requester": by,
        "owner": owner,
    }
