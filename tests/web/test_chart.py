"""The person's chart with data from elsewhere (the FHIR API, imports): the NCD rules of what
counts (`songkhoe.ncd.projections`: status, units, verification) apply, resources missing
optional parts are shown without failing, only the NCD WHO CVD assessment is taken as the
person's risk, and times are Vietnam's."""

import re

import pytest
from sqlalchemy import select

from songkhoe.db.tables import resource
from songkhoe.fhir.systems import CONDITION_CLINICAL, CONDITION_VERIFICATION, ICD10, SNOMED, UCUM
from songkhoe.ncd.service import BAND_SYSTEM, METHOD, assessment_id
from songkhoe.terminology import loinc
from songkhoe.timezones import local_time

from .conftest import HOME, add_users, blood_pressure, logged_in, patient

LAN = "Patient/lan"


def observation(code: loinc.LoincCode, when: str, quantity: dict, status="final") -> dict:
    return {
        "resourceType": "Observation",
        "id": f"{code.code}-{when[:10]}-{status}",
        "status": status,
        "code": loinc.concept(code.code),
        "subject": {"reference": LAN},
        "effectiveDateTime": when,
        "valueQuantity": quantity,
    }


def condition(code: str, verification: str) -> dict:
    verified = {"coding": [{"system": CONDITION_VERIFICATION, "code": verification}]}
    return {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
        "verificationStatus": verified,
        "code": {"coding": [{"system": ICD10, "code": code}], "text": f"bệnh {code}"},
        "subject": {"reference": LAN},
    }


def risk(rid: str, method: dict, when: str, prediction: dict) -> dict:
    return {
        "resourceType": "RiskAssessment",
        "id": rid,
        "status": "final",
        "method": method,
        "subject": {"reference": LAN},
        "occurrenceDateTime": when,
        "basis": [{"reference": "Observation/bp-ok"}, {"reference": "Observation/no-value"}],
        "prediction": [prediction],
    }


@pytest.fixture
def record(store):
    bp_ok = {**blood_pressure("lan", "2025-01-10T02:00:00Z", 150, 95), "id": "bp-ok"}
    bp_void = blood_pressure("lan", "2025-02-10T02:00:00Z", 210, 125, "entered-in-error")
    no_value = {**observation(loinc.BODY_WEIGHT, "2025-01-10T02:00:00Z", {"unit": "kg"}),
                "id": "no-value"}  # fmt: skip
    glucose_mg = observation(
        loinc.FASTING_GLUCOSE,
        "2025-01-10T02:00:00Z",
        {"value": 126, "unit": "mg/dL", "system": UCUM, "code": "mg/dL"},
    )
    glucose_void = observation(
        loinc.FASTING_GLUCOSE, "2025-01-20T02:00:00Z", {"value": 15.5, "unit": "mmol/L"},
        "cancelled",
    )  # fmt: skip
    visit = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"code": "AMB"},
        "type": [{"coding": [{"system": SNOMED, "code": "185349003"}]}],
        "subject": {"reference": LAN},
    }  # no period
    ours = risk(
        assessment_id("lan"),
        METHOD,
        "2025-01-10T18:30:00Z",  # 01:30 on the 11th in Hà Nội
        {
            "probabilityDecimal": 0.123,
            "qualitativeRisk": {
                "coding": [{"system": BAND_SYSTEM, "code": "10-<20"}],
                "text": "10-<20%",
            },
        },
    )
    imported = risk(
        "framingham",
        {"text": "Framingham 2008"},
        "2025-03-01T00:00:00Z",
        {"probabilityDecimal": 0.456, "qualitativeRisk": {"text": "high"}},
    )
    store.create_many(
        [
            patient("lan", HOME, "Nguyễn", "Thị Lan", "027160000001"),
            bp_ok, bp_void, no_value, glucose_mg, glucose_void, visit, ours, imported,
            condition("I10", "refuted"),
            condition("E11", "confirmed"),
        ]
    )  # fmt: skip
    add_users(store, {"worker": ("commune_health_worker", f"commune:{HOME}")})
    return store


def test_the_chart_applies_the_ncd_rules_to_imported_data(record):
    page = logged_in(record, "worker").get("/people/lan")
    assert page.status_code == 200
    html = page.text
    assert "Tâm thu 2025-01-10: 150 mmHg" in html
    assert ": 210 mmHg" not in html, "an Observation entered in error is not plotted"
    assert "Tăng huyết áp độ 1" in html and "độ 3" not in html, "nor graded"
    assert "Glucose lúc đói 2025-01-10: 7.0 mmol/L" in html, "126 mg/dL on the mmol/L axis"
    assert "126 mmol/L" not in html and "15.5 mmol/L" not in html
    conditions = re.search(r"Bệnh đang điều trị</h2>(.*?)<h2>", html, re.S)[1]
    assert "E11" in conditions and "I10" not in conditions, "a refuted diagnosis is not one"


def test_only_the_who_cvd_assessment_is_the_risk_and_parts_may_be_missing(record):
    html = logged_in(record, "worker").get("/people/lan").text
    assert "12.3%" in html and "45.6%" not in html and "Framingham" not in html
    assert "2025-01-11" in html, "the risk's day in Vietnam"
    basis = re.search(r'<ul class="basis">(.*?)</ul>', html, re.S)[1]
    assert basis.count("<li>") == 2 and "150/95 mmHg" in basis
    assert "Khám sức khỏe định kỳ" in html, "a visit without a period is still listed"
    record.update(
        risk(assessment_id("lan"), METHOD, "2025-01-10", {"qualitativeRisk": {"text": "20-<30%"}})
    )
    again = logged_in(record, "worker").get("/people/lan")
    assert again.status_code == 200 and "20-&lt;30%" in again.text


def test_the_access_log_is_in_vietnam_time(record):
    worker = logged_in(record, "worker")
    worker.get("/people/lan")
    html = worker.get("/people/lan/access-log").text
    with record.engine.connect() as conn:
        events = [c for (c,) in conn.execute(
            select(resource.c.content).where(resource.c.res_type == "AuditEvent")
        )]  # fmt: skip
    assert events and "UTC" not in html
    for event in events:
        assert local_time(event["recorded"]) in html
