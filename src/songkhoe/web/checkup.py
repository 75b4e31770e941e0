"""Check-up entry: a periodic check-up (khám sức khỏe định kỳ) typed at the commune station.

The form's fields carry their ranges (browser and server check the same `Field`s; the ranges are
the data-entry limits of `songkhoe.ncd.inputs.PLAUSIBLE` where it has one). A valid form is saved
as one FHIR transaction Bundle through the audited path (`Caller.guard`): the Encounter (SNOMED CT
185349003), its Observations coded as the synthetic population codes them (LOINC blood-pressure
panel, weight, height, BMI, waist, smoking status, fasting glucose, total cholesterol) and, when
it can be computed, the person's WHO CVD RiskAssessment recomputed from these very values
(`songkhoe.ncd.service.assess_checkup`): all or nothing. The person has one RiskAssessment, that
of their latest check-up (as `songkhoe ncd refresh` computes it): a check-up dated before the
one it comes from leaves it as it is; the transaction writes it with the version it was compared
with (if-match), so a concurrent change makes the comparison again.

The form posts, then the browser is sent (303) to the saved check-up's own page, which reads it
back and shows its risk (POST/redirect/GET: refreshing that page saves nothing again).
"""

import uuid
from datetime import date, datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection

from songkhoe.auth.caller import Caller
from songkhoe.fhir import search as fhir_search
from songkhoe.fhir.bundles import process_bundle
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.search import parse_query
from songkhoe.fhir.store import ID_PATTERN, ResourceNotFound, ResourceStore
from songkhoe.fhir.systems import LOINC, SNOMED, UCUM
from songkhoe.ncd import projections as proj
from songkhoe.ncd.inputs import PLAUSIBLE
from songkhoe.ncd.scores import bp_grade
from songkhoe.ncd.service import CheckupInputs, assess_checkup, assessment_id
from songkhoe.synth import population as synth
from songkhoe.terminology import loinc
from songkhoe.timezones import VIETNAM, local_date
from songkhoe.web.forms import Field, validate
from songkhoe.web.i18n import language, register, translator
from songkhoe.web.pages import Viewer, message, page, posted_form, to_login, viewer
from songkhoe.web.records import RecordRefused, open_record

register(
    {
        "new_checkup": ("Nhập kết quả khám định kỳ", "Enter a check-up"),
        "checkup_date": ("Ngày khám", "Date of the check-up"),
        "sbp": ("Huyết áp tâm thu", "Systolic blood pressure"),
        "dbp": ("Huyết áp tâm trương", "Diastolic blood pressure"),
        "weight": ("Cân nặng", "Weight"),
        "height": ("Chiều cao", "Height"),
        "waist": ("Vòng eo", "Waist"),
        "smoking": ("Hút thuốc lá", "Tobacco smoking"),
        "smoke_never": ("Không bao giờ hút", "Never smoked"),
        "smoke_former": ("Đã bỏ thuốc", "Ex-smoker"),
        "smoke_current": ("Đang hút hằng ngày", "Smokes daily"),
        "fpg": ("Glucose máu lúc đói", "Fasting plasma glucose"),
        "cholesterol": ("Cholesterol toàn phần", "Total cholesterol"),
        "labs": ("Xét nghiệm (nếu có)", "Laboratory (if drawn)"),
        "vitals": ("Sinh hiệu và số đo", "Vital signs and measurements"),
        "questionnaire": ("Hỏi bệnh", "Questionnaire"),
        "save": ("Lưu", "Save"),
        "dbp_above_sbp": (
            "Huyết áp tâm trương phải nhỏ hơn tâm thu.",
            "Diastolic must be lower than systolic.",
        ),
        "checkup_saved": ("Đã lưu kết quả khám.", "The check-up was saved."),
        "risk_not_computable": (
            "Chưa tính được nguy cơ tim mạch",
            "The CVD risk cannot be computed",
        ),
        "back_to_chart": ("Về hồ sơ", "Back to the record"),
        "bmi": ("Chỉ số khối cơ thể (BMI)", "Body mass index"),
        "yes": ("Có", "Yes"),
        "no": ("Không", "No"),
        "save_failed": ("Không lưu được kết quả khám.", "The check-up could not be saved."),
        "newer_risk": (
            "Nguy cơ hiện tại của người này được tính từ lần khám mới hơn, ngày",
            "This person's current risk comes from a newer check-up, of",
        ),
    }
)

SMOKING = {"never": proj.NEVER, "former": proj.FORMER, "current": proj.CURRENT}
SMOKING_KEY = {status: key for key, status in SMOKING.items()}
LAB_FIELDS = (("fpg", loinc.FASTING_GLUCOSE), ("cholesterol", loinc.TOTAL_CHOLESTEROL))
ATTEMPTS = 3  # writes of a check-up whose RiskAssessment changed under it
_SMOKING_CONCEPT = {proj.NEVER: 0, proj.FORMER: 1, proj.CURRENT: 2}  # synth.SMOKING index


def _limits(name: str) -> tuple[float, float]:
    return PLAUSIBLE[name]


def fields(today: date) -> list[Field]:
    """The check-up form, its ranges (today: the latest date allowed)."""
    sbp, dbp, waist = _limits("sbp"), _limits("dbp"), _limits("waist_cm")
    chol = _limits("total_cholesterol_mmol")
    return [
        Field("day", "checkup_date", "date", True, min="2000-01-01", max=today.isoformat()),
        Field("sbp", "sbp", "number", True, sbp[0], sbp[1], "1", "mmHg"),
        Field("dbp", "dbp", "number", True, dbp[0], dbp[1], "1", "mmHg"),
        Field("weight", "weight", "number", False, 2, 300, "0.1", "kg"),
        Field("height", "height", "number", False, 40, 250, "0.1", "cm"),
        Field("waist", "waist", "number", False, waist[0], waist[1], "0.1", "cm"),
        Field(
            "smoking",
            "smoking",
            "select",
            True,
            choices=(
                ("never", "smoke_never"),
                ("former", "smoke_former"),
                ("current", "smoke_current"),
            ),
        ),
        Field("fpg", "fpg", "number", False, 1, 40, "0.1", "mmol/L"),
        Field("cholesterol", "cholesterol", "number", False, chol[0], chol[1], "0.01", "mmol/L"),
    ]


def today_in_vietnam() -> date:
    return datetime.now(VIETNAM).date()


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _quantity(value: float, unit: str) -> dict:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def build_bundle(patient: dict, values: dict, when: str) -> tuple[list[dict], CheckupInputs]:
    """The transaction entries of a check-up (Encounter + Observations) and the risk inputs."""
    subject = {"reference": f"Patient/{patient['id']}"}
    org = patient.get("managingOrganization")
    encounter_url = _urn()
    encounter = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": synth.AMBULATORY,
        "type": synth.CHECKUP_TYPE,
        "subject": subject,
        "period": {"start": when, "end": when},
    }
    if org:
        encounter["serviceProvider"] = org
    entries = [(encounter_url, encounter)]
    refs: dict[str, str] = {}

    def observe(key: str, category: list, code: loinc.LoincCode, **value) -> None:
        url = _urn()
        obs = {
            "resourceType": "Observation",
            "status": "final",
            "category": category,
            "code": loinc.concept(code.code),
            "subject": subject,
            "encounter": {"reference": encounter_url},
            "effectiveDateTime": when,
            **value,
        }
        if org:
            obs["performer"] = [org]
        entries.append((url, obs))
        refs[key] = url

    observe(
        "bp",
        synth.VITAL_SIGNS,
        loinc.BP_PANEL,
        component=[
            {
                "code": loinc.concept(loinc.SYSTOLIC_BP.code),
                "valueQuantity": _quantity(values["sbp"], "mm[Hg]"),
            },
            {
                "code": loinc.concept(loinc.DIASTOLIC_BP.code),
                "valueQuantity": _quantity(values["dbp"], "mm[Hg]"),
            },
        ],
    )
    for key, code in (
        ("weight", loinc.BODY_WEIGHT),
        ("height", loinc.BODY_HEIGHT),
        ("waist", loinc.WAIST),
    ):
        if values.get(key) is not None:
            observe(key, synth.VITAL_SIGNS, code, valueQuantity=_quantity(values[key], code.unit))
    if values.get("weight") and values.get("height"):
        bmi = round(values["weight"] / (values["height"] / 100) ** 2, 1)
        observe("bmi", synth.VITAL_SIGNS, loinc.BMI, valueQuantity=_quantity(bmi, "kg/m2"))
    smoking = SMOKING[values["smoking"]]
    observe(
        "smoking",
        synth.SOCIAL_HISTORY,
        loinc.SMOKING_STATUS,
        valueCodeableConcept=synth.SMOKING[_SMOKING_CONCEPT[smoking]],
    )
    for key, code in LAB_FIELDS:
        if values.get(key) is not None:
            observe(key, synth.LABORATORY, code, valueQuantity=_quantity(values[key], "mmol/L"))
    inputs = CheckupInputs(
        encounter=encounter_url,
        at=when,
        systolic=values["sbp"],
        bp_ref=refs["bp"],
        cholesterol=values.get("cholesterol"),
        cholesterol_ref=refs.get("cholesterol"),
        smoking=smoking,
        smoking_ref=refs["smoking"],
        glucose=values.get("fpg"),
        glucose_ref=refs.get("fpg"),
    )
    bundle = [
        {"fullUrl": url, "resource": res, "request": {"method": "POST", "url": res["resourceType"]}}
        for url, res in entries
    ]
    return bundle, inputs


def _moment(day: date) -> str:
    """The check-up's time: now for today, else 08:00 that day, in Vietnam's time."""
    now = datetime.now(VIETNAM)
    if day == now.date():
        return now.replace(microsecond=0).isoformat()
    return f"{day.isoformat()}T08:00:00+07:00"


def recorded(encounter: dict, observations: list[dict]) -> tuple[dict, CheckupInputs]:
    """What a saved check-up holds, read by the NCD projections' rules: its values as the form
    names them, and the inputs of its risk (references to the stored Observations)."""
    values: dict = dict.fromkeys(("sbp", "dbp", "smoking", "fpg", "cholesterol"))
    refs: dict[str, str] = {}
    for obs in filter(proj.observation_counts, observations):
        ref, found = f"Observation/{obs['id']}", set(proj.codes(obs.get("code"), LOINC))
        pressure = proj.blood_pressure(obs)
        if pressure is not None:
            values["sbp"], values["dbp"] = pressure
            refs["sbp"] = ref
        for key, code in LAB_FIELDS:
            value = proj.mmol(obs.get("valueQuantity"), proj.LABS[code.code])
            if code.code in found and value is not None:
                values[key], refs[key] = value, ref
        answers = proj.codes(obs.get("valueCodeableConcept"), SNOMED)
        status = next((proj.SMOKING_STATUS[a] for a in answers if a in proj.SMOKING_STATUS), None)
        if loinc.SMOKING_STATUS.code in found and status is not None:
            values["smoking"], refs["smoking"] = SMOKING_KEY[status], ref
    inputs = CheckupInputs(
        encounter=f"Encounter/{encounter['id']}",
        at=(encounter.get("period") or {}).get("start", ""),
        systolic=values.get("sbp"),
        bp_ref=refs.get("sbp"),
        cholesterol=values.get("cholesterol"),
        cholesterol_ref=refs.get("cholesterol"),
        smoking=SMOKING.get(values["smoking"]),
        smoking_ref=refs.get("smoking"),
        glucose=values.get("fpg"),
        glucose_ref=refs.get("fpg"),
    )
    return values, inputs


def _search(conn: Connection, caller: Caller, resource_type: str, items: list) -> list[dict]:
    """A search among what the caller may see."""
    query = parse_query(resource_type, items)
    query.restrict = caller.access.restriction
    return [r for _, r in fhir_search.page(conn, resource_type, query)]


def _diabetes_history(conn: Connection, caller: Caller, patient_id: str) -> list[dict]:
    """The person's Conditions and MedicationRequests (diabetes known before the check-up)."""
    subject = [("subject", f"Patient/{patient_id}"), ("_count", "200")]
    return [
        r for t in ("Condition", "MedicationRequest") for r in _search(conn, caller, t, subject)
    ]


def _risk_entry(store: ResourceStore, assessment: dict, when: str) -> dict | None:
    """The transaction entry that writes the person's RiskAssessment from a check-up at `when`,
    conditional on the version it is compared with; None when the current one comes from a
    later check-up."""
    risk_id = assessment["id"]
    request = {"method": "PUT", "url": f"RiskAssessment/{risk_id}"}
    try:
        current = store.read("RiskAssessment", risk_id)
    except ResourceNotFound:  # none yet, or deleted: written as it is
        current = None
    if current is not None:
        newer = proj.utc(current.get("occurrenceDateTime"))
        if newer is not None and newer > (proj.utc(when) or ""):
            return None
        request["ifMatch"] = f'W/"{current["meta"]["versionId"]}"'
    return {"resource": assessment, "request": request}


def build_router(store: ResourceStore) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def form_page(request, who, patient, form: dict, errors: dict, status: int = 200):
        return page(
            request,
            "checkup.html",
            who,
            status,
            patient=patient,
            fields=fields(today_in_vietnam()),
            values=form,
            errors=errors,
        )

    @router.get("/people/{patient_id}/checkup")
    def checkup_form(request: Request, patient_id: str) -> Response:
        who = viewer(store, request)
        if who is None:
            return to_login()
        try:
            patient = open_record(store, who.caller, patient_id, "Encounter", "write")
        except RecordRefused as refused:
            return message(request, who, refused.status, refused.key)
        return form_page(request, who, patient, {"day": today_in_vietnam().isoformat()}, {})

    @router.post("/people/{patient_id}/checkup")
    async def save_checkup(request: Request, patient_id: str) -> Response:
        posted = await posted_form(store, request)
        if isinstance(posted, Response):
            return posted
        who, form = posted
        caller = who.caller
        try:
            patient = open_record(store, caller, patient_id, "Encounter", "write")
        except RecordRefused as refused:
            return message(request, who, refused.status, refused.key)
        t = translator(language(request))
        values, errors = validate(fields(today_in_vietnam()), form, t)
        if "sbp" in values and "dbp" in values and values["dbp"] >= values["sbp"]:
            errors["dbp"] = t("dbp_above_sbp")
        if errors:
            return form_page(request, who, patient, form, errors, 422)
        when = _moment(values["day"])
        with store.engine.connect() as conn:
            history = _diabetes_history(conn, caller, patient_id)
        caller.audit_found("search-type", history, f"Patient/{patient_id}: diabetes history")
        for attempt in range(1, ATTEMPTS + 1):
            entries, inputs = build_bundle(patient, values, when)
            result = assess_checkup(patient=patient, inputs=inputs, history=history)
            if result.resource is not None:
                assessment = {**result.resource, "id": assessment_id(patient_id)}
                entries += [e for e in [_risk_entry(store, assessment, when)] if e is not None]
            bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
            try:
                with caller.refusals("transaction", [f"Patient/{patient_id}"]):
                    done = process_bundle(
                        store, bundle, base_url=f"{request.base_url}fhir", guard=caller.guard
                    )
            except FhirError as exc:
                if exc.status == 412 and attempt < ATTEMPTS:  # the assessment changed: again
                    continue
                key = "forbidden" if exc.status in (403, 404) else "save_failed"
                return message(request, who, exc.status, key)
            break
        encounter_id = done["entry"][0]["response"]["location"].split("/")[1]
        return RedirectResponse(f"/people/{patient_id}/checkup/{encounter_id}", 303)

    @router.get("/people/{patient_id}/checkup/{encounter_id}")
    def saved_checkup(request: Request, patient_id: str, encounter_id: str) -> Response:
        who = viewer(store, request)
        if who is None:
            return to_login()
        try:
            patient = open_record(store, who.caller, patient_id, "Encounter")
        except RecordRefused as refused:
            return message(request, who, refused.status, refused.key)
        if not ID_PATTERN.fullmatch(encounter_id):
            return message(request, who, 404, "not_found")
        return result_page(request, who, patient, encounter_id)

    def result_page(request: Request, who: Viewer, patient: dict, encounter_id: str) -> Response:
        """A saved check-up read back: its values, its risk recomputed by the rules it was saved
        with, and, when the person's RiskAssessment comes from a later check-up, its day."""
        caller, patient_id = who.caller, patient["id"]
        with store.engine.connect() as conn:
            found = _search(
                conn,
                caller,
                "Encounter",
                [("_id", encounter_id), ("subject", f"Patient/{patient_id}")],
            )
            if not found:
                return message(request, who, 404, "not_found")
            encounter_ref = f"Encounter/{encounter_id}"
            observations = _search(
                conn, caller, "Observation", [("encounter", encounter_ref), ("_count", "100")]
            )
            history = _diabetes_history(conn, caller, patient_id)
            current = _search(conn, caller, "RiskAssessment", [("_id", assessment_id(patient_id))])
        caller.audit_found(
            "search-type",
            found + observations + history + current,
            f"Patient/{patient_id}: check-up {encounter_id}",
        )
        values, inputs = recorded(found[0], observations)
        if values["sbp"] is None:  # not a check-up of this form
            return message(request, who, 404, "not_found")
        result = assess_checkup(patient=patient, inputs=inputs, history=history)
        newer = next(
            (
                r.get("occurrenceDateTime")
                for r in current
                if (proj.utc(r.get("occurrenceDateTime")) or "") > (proj.utc(inputs.at) or "")
            ),
            None,
        )
        grade = str(bp_grade([values["sbp"]], [values["dbp"]])[0])
        return page(
            request,
            "checkup_saved.html",
            who,
            patient=patient,
            result=result,
            grade=grade,
            values=values,
            day=local_date(inputs.at),
            newer_day=local_date(newer),
        )

    return router
