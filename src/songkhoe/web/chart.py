"""A person's chart: what the record page shows besides the summary. Blood-pressure and glucose
trends (SVG), the latest measurements, the WHO CVD RiskAssessment with the inputs it was
computed from (its `basis`), and the history of visits and calls. Everything is read in one
query (the resources whose `subject` is the person, through the reference index), kept if the
viewer may see it, and audited once, as one search."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

from markupsafe import Markup
from sqlalchemy import Connection, and_, select

from songkhoe.auth.caller import Caller
from songkhoe.auth.policy import patients_referenced
from songkhoe.db.tables import idx_reference, resource
from songkhoe.fhir.store import ResourceStore
from songkhoe.ncd.scores import bp_grade
from songkhoe.terminology import loinc
from songkhoe.web import svg
from songkhoe.web.i18n import register
from songkhoe.web.worklist_views import WORKLIST_SYSTEM

VIETNAM = timezone(timedelta(hours=7))
PLAIN_TYPES = ("Observation", "Encounter", "RiskAssessment", "Condition", "MedicationRequest")
CHART_TYPES = (*PLAIN_TYPES, "Communication")
MEASURES = (
    loinc.BODY_WEIGHT,
    loinc.BODY_HEIGHT,
    loinc.BMI,
    loinc.WAIST,
    loinc.TOTAL_CHOLESTEROL,
    loinc.FASTING_GLUCOSE,
)

register(
    {
        "bp_trend": ("Diễn biến huyết áp", "Blood pressure trend"),
        "glucose_trend": ("Diễn biến glucose máu lúc đói", "Fasting glucose trend"),
        "systolic": ("Tâm thu", "Systolic"),
        "diastolic": ("Tâm trương", "Diastolic"),
        "glucose": ("Glucose lúc đói", "Fasting glucose"),
        "latest_measures": ("Chỉ số gần nhất", "Latest measurements"),
        "risk_scores": ("Nguy cơ tim mạch", "Cardiovascular risk"),
        "who_cvd": ("Nguy cơ tim mạch 10 năm (WHO 2019)", "10-year CVD risk (WHO 2019)"),
        "risk_inputs": ("Dựa trên", "Based on"),
        "no_risk": ("Chưa tính được nguy cơ.", "No risk computed yet."),
        "bp_grade_label": ("Phân độ huyết áp gần nhất", "Latest blood pressure grade"),
        "history": ("Lịch sử khám và liên hệ", "Visits and contacts"),
        "checkup_visit": ("Khám sức khỏe định kỳ", "Check-up"),
        "followup_visit": ("Tái khám", "Follow-up"),
        "other_visit": ("Lượt khám", "Visit"),
        "contact_call": ("Gọi điện", "Phone call"),
        "contact_visit": ("Thăm tại nhà", "Home visit"),
        "smoking_status": ("Hút thuốc lá", "Smoking"),
        "diabetes_known": ("Đái tháo đường", "Diabetes"),
        "age_years": ("Tuổi", "Age"),
        "bp_optimal": ("Tối ưu", "Optimal"),
        "bp_normal": ("Bình thường", "Normal"),
        "bp_high_normal": ("Bình thường cao", "High normal"),
        "bp_grade1": ("Tăng huyết áp độ 1", "Grade 1 hypertension"),
        "bp_grade2": ("Tăng huyết áp độ 2", "Grade 2 hypertension"),
        "bp_grade3": ("Tăng huyết áp độ 3", "Grade 3 hypertension"),
    }
)


def local_day(value: str) -> date:
    """The day in Vietnam of a FHIR date or dateTime (a bare date is that day)."""
    if len(value) == 10:
        return date.fromisoformat(value)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VIETNAM).date()


def code_of(res: dict) -> str:
    codings = (res.get("code") or {}).get("coding") or [{}]
    return codings[0].get("code", "")


def components(obs: dict) -> dict[str, float]:
    return {
        code_of(c): c["valueQuantity"]["value"]
        for c in obs.get("component", [])
        if isinstance((c.get("valueQuantity") or {}).get("value"), int | float)
    }


def describe(res: dict) -> str:
    """A short text for a resource named in a RiskAssessment basis or the history."""
    kind = res.get("resourceType")
    if kind == "Observation":
        label = (res.get("code") or {}).get("text") or code_of(res)
        if res.get("component"):
            parts = components(res)
            value = f"{parts.get(loinc.SYSTOLIC_BP.code, 0):g}/"
            value += f"{parts.get(loinc.DIASTOLIC_BP.code, 0):g} mmHg"
        elif "valueQuantity" in res:
            value = f"{res['valueQuantity'].get('value'):g} {res['valueQuantity'].get('unit', '')}"
        else:
            value = (res.get("valueCodeableConcept") or {}).get("text", "")
        return f"{label}: {value}"
    if kind == "Condition":
        concept = res.get("code") or {}
        return f"{code_of(res)} {concept.get('text') or ''}".strip()
    if kind == "MedicationRequest":
        return (res.get("medicationCodeableConcept") or {}).get("text", "")
    if kind == "Encounter":
        return ((res.get("type") or [{}])[0]).get("text", "")
    return kind or ""


@dataclass(slots=True)
class Chart:
    bp_chart: Markup
    glucose_chart: Markup
    latest: list[tuple[str, str, str]]  # (label, value with unit, day)
    bp_grade: str
    risk: dict | None
    risk_basis: list[tuple[str, str]]  # (day, description)
    history: list[tuple[str, str, str]]  # (day, kind key, detail)
    conditions: list[dict] = field(default_factory=list)  # active
    medications: list[dict] = field(default_factory=list)  # active
    found: list[dict] = field(default_factory=list)


def moment(value: str) -> datetime:
    """A FHIR date or dateTime as an aware UTC datetime (a bare date: its UTC midnight), to
    order resources whatever offset their times carry."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def about(conn: Connection, caller: Caller, patient_id: str) -> dict[str, list[dict]]:
    """The live resources of `CHART_TYPES` whose subject is the person, by type, that the caller
    may see: one query over the reference index instead of a search per type. Communications
    are the calls and visits of the NCD worklists only. The access rule is applied to what is
    found rather than in SQL: a resource of a type without rules of its own that names only
    this person is visible (the caller may see the person, as `open_record` checked); any other
    is kept only if `Access.can_see` it (the rule of the SQL restriction, with the telehealth
    consultations' own rule for Communications)."""
    subject = idx_reference
    query = (
        select(resource.c.res_type, resource.c.content)
        .join(
            subject,
            and_(subject.c.res_type == resource.c.res_type, subject.c.res_id == resource.c.res_id),
        )
        .where(
            subject.c.target_id == patient_id,
            subject.c.target_type == "Patient",
            subject.c.param == "subject",
            subject.c.res_type.in_(CHART_TYPES),
            resource.c.is_current,
            ~resource.c.deleted,
        )
    )
    found: dict[str, dict[str, dict]] = {t: {} for t in CHART_TYPES}
    for res_type, content in conn.execute(query):
        if res_type == "Communication" and not _worklist_contact(content):
            continue
        plain = res_type in PLAIN_TYPES and patients_referenced(content) <= {patient_id}
        if plain or caller.access.can_see(conn, content):
            found[res_type][content["id"]] = content
    return {t: list(by_id.values()) for t, by_id in found.items()}


def _worklist_contact(com: dict) -> bool:
    return any(
        c.get("system") == WORKLIST_SYSTEM
        for cat in com.get("category", [])
        for c in cat.get("coding", [])
    )


def load(store: ResourceStore, caller: Caller, patient_id: str, t) -> Chart:
    """The chart of a person the caller may see (checked by the caller, e.g. `open_record`);
    the caller audits `found` as one search."""
    with store.engine.connect() as conn:
        record = about(conn, caller, patient_id)

    def when(obs: dict) -> date:
        return local_day(obs.get("effectiveDateTime") or obs["meta"]["lastUpdated"])

    def observed(obs: dict) -> tuple[datetime, str]:
        return moment(obs.get("effectiveDateTime") or obs["meta"]["lastUpdated"]), obs["id"]

    observations = sorted(record["Observation"], key=observed)
    encounters = record["Encounter"]
    risks = sorted(record["RiskAssessment"], key=lambda r: r.get("occurrenceDateTime") or "")
    contacts = record["Communication"]
    history = record["Condition"] + record["MedicationRequest"]
    found = observations + encounters + risks + contacts
    by_code: dict[str, list[dict]] = {}
    for obs in observations:
        by_code.setdefault(code_of(obs), []).append(obs)
    pressures = [(when(o), components(o)) for o in by_code.get(loinc.BP_PANEL.code, [])]
    pressures = [(d, c) for d, c in pressures if len(c) == 2]
    bp_chart = svg.trend(
        t("bp_trend"),
        [
            svg.Series(t("systolic"), [(d, c[loinc.SYSTOLIC_BP.code]) for d, c in pressures], "s1"),
            svg.Series(
                t("diastolic"), [(d, c[loinc.DIASTOLIC_BP.code]) for d, c in pressures], "s2"
            ),
        ],
        [svg.Reference(140, "140"), svg.Reference(90, "90")],
        unit="mmHg",
    )
    glucose = [
        (when(o), o["valueQuantity"]["value"])
        for o in by_code.get(loinc.FASTING_GLUCOSE.code, [])
        if isinstance((o.get("valueQuantity") or {}).get("value"), int | float)
    ]
    glucose_chart = svg.trend(
        t("glucose_trend"),
        [svg.Series(t("glucose"), glucose, "s3")],
        [svg.Reference(7.0, "7,0")],
        unit="mmol/L",
    )
    latest = []
    for code in MEASURES:
        rows = by_code.get(code.code)
        if rows:
            value = rows[-1].get("valueQuantity") or {}
            latest.append(
                (
                    code.vi,
                    f"{value.get('value'):g} {value.get('unit', '')}",
                    when(rows[-1]).isoformat(),
                )
            )
    grade = ""
    if pressures:
        last = pressures[-1][1]
        grade = str(bp_grade([last[loinc.SYSTOLIC_BP.code]], [last[loinc.DIASTOLIC_BP.code]])[0])
    risk = risks[-1] if risks else None
    everything = {f"{r['resourceType']}/{r['id']}": r for r in found + history}
    basis = []
    for ref in (risk or {}).get("basis", []):
        res = everything.get(ref.get("reference", ""))
        if res is not None:
            stamp = (
                res.get("effectiveDateTime")
                or (res.get("period") or {}).get("start")
                or (res.get("onsetDateTime") or res.get("authoredOn") or "")
            )
            basis.append((local_day(stamp).isoformat() if stamp else "", describe(res)))
    events = []
    for enc in encounters:
        codes = {c.get("code") for ty in enc.get("type", []) for c in ty.get("coding", [])}
        kind = (
            "checkup_visit"
            if "185349003" in codes
            else "followup_visit"
            if "390906007" in codes
            else "other_visit"
        )
        events.append((local_day(enc["period"]["start"]).isoformat(), kind, ""))
    for com in contacts:
        medium = ((com.get("medium") or [{}])[0].get("coding") or [{}])[0].get("code")
        note = " ".join(p.get("contentString", "") for p in com.get("payload", []))
        events.append(
            (
                local_day(com.get("sent", com["meta"]["lastUpdated"])).isoformat(),
                "contact_call" if medium == "PHONE" else "contact_visit",
                note,
            )
        )
    events.sort(key=lambda e: e[0], reverse=True)
    conditions = [
        c
        for c in history
        if c["resourceType"] == "Condition"
        and code_of({"code": c.get("clinicalStatus")}) in ("active", "recurrence", "relapse")
    ]
    medications = [
        m
        for m in history
        if m["resourceType"] == "MedicationRequest" and m.get("status") == "active"
    ]
    return Chart(
        bp_chart,
        glucose_chart,
        latest,
        grade,
        risk,
        basis,
        events,
        conditions,
        medications,
        found + history,
    )
