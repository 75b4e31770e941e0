"""Check-up entry: a periodic check-up (khám sức khỏe định kỳ) typed at the commune station.

The form's fields carry their ranges (browser and server check the same `Field`s; the ranges are
the data-entry limits of `songkhoe.ncd.inputs.PLAUSIBLE` where it has one). A valid form is saved
as one FHIR transaction Bundle through the audited path (`Caller.guard`): the Encounter (SNOMED CT
185349003), its Observations coded as the synthetic population codes them (LOINC blood-pressure
panel, weight, height, BMI, waist, smoking status, fasting glucose, total cholesterol) and, when
it can be computed, the person's WHO CVD RiskAssessment recomputed from these very values
(`songkhoe.ncd.service.assess_checkup`): all or nothing. The risk is shown at once.
"""

import uuid
from datetime import UTC, date, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from songkhoe.fhir import search as fhir_search
from songkhoe.fhir.bundles import process_bundle
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.search import parse_query
from songkhoe.fhir.store import ResourceStore
from songkhoe.fhir.systems import UCUM
from songkhoe.ncd import projections as proj
from songkhoe.ncd.inputs import PLAUSIBLE
from songkhoe.ncd.scores import bp_grade
from songkhoe.ncd.service import CheckupInputs, assess_checkup, assessment_id
from songkhoe.synth import population as synth
from songkhoe.terminology import loinc
from songkhoe.web.chart import VIETNAM
from songkhoe.web.forms import Field, validate
from songkhoe.web.i18n import language, register, translator
from songkhoe.web.pages import checked_form, message, page, to_login, viewer
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
    }
)

SMOKING = {"never": proj.NEVER, "former": proj.FORMER, "current": proj.CURRENT}
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
    return datetime.now(UTC).astimezone(VIETNAM).date()


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
    for key, code in (("fpg", loinc.FASTING_GLUCOSE), ("cholesterol", loinc.TOTAL_CHOLESTEROL)):
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
    now = datetime.now(UTC).astimezone(VIETNAM)
    if day == now.date():
        return now.replace(microsecond=0).isoformat()
    return f"{day.isoformat()}T08:00:00+07:00"


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
        who = viewer(store, request)
        if who is None:
            return to_login()
        form = await checked_form(request, who)
        if form is None:
            return message(request, who, 403, "expired_form")
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
        entries, inputs = build_bundle(patient, values, _moment(values["day"]))
        subject = [("subject", f"Patient/{patient_id}"), ("_count", "200")]
        history = []
        with store.engine.connect() as conn:
            for resource_type in ("Condition", "MedicationRequest"):
                query = parse_query(resource_type, subject)
                query.restrict = caller.access.restriction
                history += [r for _, r in fhir_search.page(conn, resource_type, query)]
        caller.audit_found("search-type", history, f"Patient/{patient_id}: diabetes history")
        result = assess_checkup(patient=patient, inputs=inputs, history=history)
        if result.resource is not None:
            risk_id = assessment_id(patient_id)
            entries.append(
                {
                    "resource": {**result.resource, "id": risk_id},
                    "request": {"method": "PUT", "url": f"RiskAssessment/{risk_id}"},
                }
            )
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        try:
            with caller.refusals("transaction", [f"Patient/{patient_id}"]):
                process_bundle(
                    store, bundle, base_url=f"{request.base_url}fhir", guard=caller.guard
                )
        except FhirError as exc:
            key = "forbidden" if exc.status in (403, 404) else "save_failed"
            return message(request, who, exc.status, key)
        grade = str(bp_grade([values["sbp"]], [values["dbp"]])[0])
        return page(
            request,
            "checkup_saved.html",
            who,
            patient=patient,
            result=result,
            grade=grade,
            values=values,
        )

    return router
