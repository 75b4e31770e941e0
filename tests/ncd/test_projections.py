"""The NCD projections hold exactly the facts of the raw resources, and the stored WHO CVD risk
assessments recompute from the observations they cite."""

from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import select

from songkhoe.ncd import projections as proj
from songkhoe.ncd.scores import who_cvd_band, who_cvd_lab
from songkhoe.ncd.service import METHOD_SYSTEM, assessment_id, refresh
from songkhoe.ncd.tables import ncd_bp, ncd_diagnosis, ncd_person, ncd_refresh, ncd_smoking


def by_id(raw, resource_type: str) -> dict[str, dict]:
    return {r["id"]: r for r in raw[resource_type]}


def test_people_and_blood_pressures_match_the_resources(province, raw):
    with province.engine.connect() as conn:
        people = dict(conn.execute(select(ncd_person.c.person_key, ncd_person.c.patient_id)).all())
        bp = proj.read(conn, ncd_bp, "person_key", "source_id", "taken_at", "systolic", "diastolic")
    assert sorted(people.values()) == sorted(by_id(raw, "Patient"))
    projected = {
        (people[k], s, t, sys, dia)
        for k, s, t, sys, dia in zip(*(bp[c].tolist() for c in bp), strict=True)
    }

    def utc(value: str) -> datetime:
        return raw.instant(value).astimezone(UTC).replace(tzinfo=None)

    expected = {
        (raw.subject(o), o["id"], utc(o["effectiveDateTime"]), *raw.blood_pressure(o))
        for o in raw["Observation"]
        if raw.code(o) == "85354-9"
    }
    assert projected == expected
    assert len(projected) > 500


def test_diagnoses_and_smoking_match_the_resources(province, raw):
    with province.engine.connect() as conn:
        diagnoses = conn.execute(select(ncd_diagnosis.c.source_id, ncd_diagnosis.c.code)).all()
        smoking = conn.execute(select(ncd_smoking.c.source_id, ncd_smoking.c.status)).all()
    expected = {
        (c["id"], raw.code(c)) for c in raw["Condition"] if raw.code(c)[:3] in ("I10", "E11")
    }
    assert set(diagnoses) == expected
    status = {"266919005": 0, "8517006": 1, "449868002": 2}
    assert set(smoking) == {
        (o["id"], status[raw.codes(o["valueCodeableConcept"])[0]])
        for o in raw["Observation"]
        if raw.code(o) == "72166-2"
    }


def test_risk_assessments_recompute_from_their_basis(province, raw):
    observations, patients = by_id(raw, "Observation"), by_id(raw, "Patient")
    assessments = [
        r for r in raw["RiskAssessment"] if r["method"]["coding"][0]["system"] == METHOD_SYSTEM
    ]
    assert len(assessments) > 100
    inputs = []
    for ra in assessments:
        pid = raw.subject(ra)
        assert ra["id"] == assessment_id(pid)
        cited = [observations[b["reference"].removeprefix("Observation/")]
                 for b in ra["basis"] if b["reference"].startswith("Observation/")]  # fmt: skip
        by_code = {raw.code(o): o for o in cited}
        sbp = raw.blood_pressure(by_code["85354-9"])[0]
        diabetes = any(
            not b["reference"].startswith(("Observation/", "Encounter/")) for b in ra["basis"]
        )
        diabetes |= by_code.get("14771-0", {}).get("valueQuantity", {}).get("value", 0) >= 7.0
        smoker = raw.codes(by_code["72166-2"]["valueCodeableConcept"]) == ["449868002"]
        born = np.datetime64(patients[pid]["birthDate"])
        when = np.datetime64(raw.instant(ra["occurrenceDateTime"]).date())
        age = (when - born).astype(float) / 365.25
        tchol = by_code["14647-2"]["valueQuantity"]["value"]
        inputs.append((patients[pid]["gender"], age, smoker, diabetes, sbp, tchol))
        assert all(o["encounter"] == ra["encounter"] for o in cited)
    sex, age, smoker, diabetes, sbp, tchol = (np.array(c) for c in zip(*inputs, strict=True))
    risk = who_cvd_lab(sex, age, smoker.astype(float), diabetes.astype(float), sbp, tchol)
    stored = np.array([ra["prediction"][0]["probabilityDecimal"] for ra in assessments])
    np.testing.assert_allclose(stored, risk / 100, rtol=1e-12)
    bands = [ra["prediction"][0]["qualitativeRisk"]["coding"][0]["code"] for ra in assessments]
    assert bands == who_cvd_band(risk).tolist()


def test_a_second_refresh_changes_no_assessment_and_records_its_time(province):
    summary = refresh(store=province)
    assert summary.written == 0 and summary.assessed > 100
    with province.engine.connect() as conn:
        assert conn.execute(select(ncd_refresh.c.as_of)).scalar() == summary.projections.as_of


@pytest.mark.parametrize(
    ("values", "expected"),
    [(["2020-01-01T00:00:00.000000Z", None], ["2020-01-01T00:00:00", "NaT"])],
)
def test_times_read_as_datetime64(values, expected):
    assert proj.to_time(values).tolist() == np.array(expected, dtype="datetime64[s]").tolist()


def test_take_fills_the_missing_even_from_nothing():
    index = np.array([-1, 0, -1])
    assert np.isnan(proj.take(np.array([]), np.array([-1, -1]), np.nan)).all()
    assert proj.take(np.array([7.0]), index, np.nan).tolist()[1] == 7.0
    assert proj.last_per_person(np.array([1, 1, 0]), np.array([5, 9, 1]), 3).tolist() == [2, 1, -1]
