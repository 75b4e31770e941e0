import pytest

from songkhoe.fhir.indexing import (
    DATE_MAX,
    DATE_MIN,
    _Parser,
    date_range,
    extract,
    normalize_string,
    skipped_params,
)
from songkhoe.fhir.searchparams import params_for, resource_types

UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
CCCD = "http://fhir.ehealth.gov.vn/core/sid/national_id"
BHYT = "http://fhir.ehealth.gov.vn/core/sid/insurance_number"

OBSERVATION = {
    "resourceType": "Observation",
    "id": "o1",
    "meta": {"lastUpdated": "2024-05-01T01:00:00Z"},
    "status": "final",
    "category": [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                    "code": "vital-signs",
                }
            ]
        }
    ],
    "code": {"coding": [{"system": LOINC, "code": "8480-6"}], "text": "Systolic"},
    "subject": {"reference": "Patient/p1"},
    "encounter": {"reference": "Encounter/e1/_history/3"},
    "effectiveDateTime": "2024-05-01T08:00:00+07:00",
    "valueQuantity": {"value": 120, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
}

PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "identifier": [
        {"system": CCCD, "value": "001085012345"},
        {"system": BHYT, "value": "HN4010123456789"},
    ],
    "active": True,
    "name": [{"family": "Nguyễn", "given": ["Văn", "Đức"]}],
    "telecom": [{"system": "phone", "value": "0912345678"}, {"system": "email", "value": "a@b.vn"}],
    "gender": "male",
    "birthDate": "1985-03-12",
    "address": [{"line": ["Số 12"], "city": "Hà Nội", "country": "VN"}],
    "generalPractitioner": [{"reference": "Practitioner/d1"}],
    "managingOrganization": {"reference": "Organization/tyt-01"},
}


def rows_of(rows, table, param):
    return sorted(row[1:] for row in getattr(rows, table) if row[0] == param)


def test_normalize_string_vietnamese():
    assert normalize_string("Nguyễn Văn Đức") == "nguyen van duc"
    assert normalize_string("  ĐẶNG\tThị   HƯƠNG ") == "dang thi huong"
    assert normalize_string("Hà Nội") == "ha noi"
    assert normalize_string("Ελληνικά") == "ελληνικα"


@pytest.mark.parametrize(
    ("value", "low", "high"),
    [
        ("2020", "2020-01-01T00:00:00.000000Z", "2020-12-31T23:59:59.999999Z"),
        ("2024-02", "2024-02-01T00:00:00.000000Z", "2024-02-29T23:59:59.999999Z"),
        ("1985-03-12", "1985-03-12T00:00:00.000000Z", "1985-03-12T23:59:59.999999Z"),
        ("2024-05-01T08:00:00+07:00", "2024-05-01T01:00:00.000000Z", "2024-05-01T01:00:00.999999Z"),
        ("2024-05-01T01:00:05.123Z", "2024-05-01T01:00:05.123000Z", "2024-05-01T01:00:05.123999Z"),
        (
            "2024-01-01T03:00:00.5+05:30",
            "2023-12-31T21:30:00.500000Z",
            "2023-12-31T21:30:00.599999Z",
        ),
        ("2024-05-01T08:00:00", "2024-05-01T08:00:00.000000Z", "2024-05-01T08:00:00.999999Z"),
        ("2024-05-01T08:00-02:00", "2024-05-01T10:00:00.000000Z", "2024-05-01T10:00:59.999999Z"),
    ],
)
def test_date_range(value, low, high):
    assert date_range(value) == (low, high)
    assert len(low) == len(high) == 27


@pytest.mark.parametrize(
    "value", ["2024-13", "2021-02-29", "2024-05-01T24:00:00Z", "01/05/2024", "2024-5-1", ""]
)
def test_date_range_rejects_malformed(value):
    with pytest.raises(ValueError, match="invalid FHIR date"):
        date_range(value)


def test_observation_rows():
    rows = extract(OBSERVATION)
    assert rows_of(rows, "quantity", "value-quantity") == [(120.0, UCUM, "mm[Hg]")]
    assert rows_of(rows, "reference", "subject") == [("Patient", "p1")]
    assert rows_of(rows, "reference", "patient") == [], "patient is searched via subject"
    assert rows_of(rows, "reference", "encounter") == [("Encounter", "e1")]
    assert rows_of(rows, "date", "date") == [
        ("2024-05-01T01:00:00.000000Z", "2024-05-01T01:00:00.999999Z")
    ]
    assert rows_of(rows, "token", "code") == [(LOINC, "8480-6")]
    assert rows_of(rows, "token", "status") == [(None, "final")]
    category = "http://terminology.hl7.org/CodeSystem/observation-category"
    assert rows_of(rows, "token", "category") == [(category, "vital-signs")]
    assert rows.string == []
    # store columns are not rows
    assert not any(row[0] in ("_id", "_lastUpdated") for row in rows.token + rows.date)


def test_patient_rows():
    rows = extract(PATIENT)
    assert rows_of(rows, "string", "family") == [("nguyen", "Nguyễn")]
    assert rows_of(rows, "string", "given") == [("duc", "Đức"), ("van", "Văn")]
    assert rows_of(rows, "string", "name") == [
        ("duc", "Đức"),
        ("nguyen", "Nguyễn"),
        ("van", "Văn"),
    ]
    assert rows_of(rows, "string", "address-city") == [("ha noi", "Hà Nội")]
    assert rows_of(rows, "string", "address") == [
        ("ha noi", "Hà Nội"),
        ("so 12", "Số 12"),
        ("vn", "VN"),
    ]
    assert rows_of(rows, "token", "identifier") == [
        (BHYT, "HN4010123456789"),
        (CCCD, "001085012345"),
    ]
    assert rows_of(rows, "token", "phone") == [(None, "0912345678")]
    assert rows_of(rows, "token", "email") == [(None, "a@b.vn")]
    assert rows_of(rows, "token", "telecom") == [(None, "0912345678"), (None, "a@b.vn")]
    assert rows_of(rows, "token", "active") == [(None, "true")]
    assert rows_of(rows, "token", "gender") == [(None, "male")]
    assert rows_of(rows, "date", "birthdate") == [
        ("1985-03-12T00:00:00.000000Z", "1985-03-12T23:59:59.999999Z")
    ]
    assert rows_of(rows, "reference", "organization") == [("Organization", "tyt-01")]
    assert rows_of(rows, "reference", "general-practitioner") == [("Practitioner", "d1")]


def test_rows_are_deduplicated():
    patient = {
        "resourceType": "Patient",
        "name": [{"family": "Lê", "given": ["An"]}, {"family": "Lê", "text": "Lê An"}],
        "identifier": [{"system": CCCD, "value": "1"}, {"system": CCCD, "value": "1"}],
    }
    rows = extract(patient)
    assert rows_of(rows, "string", "family") == [("le", "Lê")]
    assert rows_of(rows, "token", "identifier") == [(CCCD, "1")]
    assert len(rows.string) == len(set(rows.string))


def test_period_with_open_end_and_encounter_date():
    encounter = {
        "resourceType": "Encounter",
        "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": "Patient/p1"},
        "period": {"start": "2024-05-01T08:00:00+07:00"},
        "location": [{"location": {"reference": "Location/l1"}}],
        "serviceProvider": {"reference": "Organization/o1"},
    }
    rows = extract(encounter)
    assert rows_of(rows, "date", "date") == [("2024-05-01T01:00:00.000000Z", DATE_MAX)]
    assert rows_of(rows, "reference", "subject") == [("Patient", "p1")]
    assert rows_of(rows, "reference", "location") == [("Location", "l1")]
    assert rows_of(rows, "reference", "service-provider") == [("Organization", "o1")]
    assert rows_of(rows, "token", "class")[0][1] == "AMB"
    ended = {"resourceType": "Encounter", "period": {"end": "2024"}}
    assert rows_of(extract(ended), "date", "date") == [(DATE_MIN, "2024-12-31T23:59:59.999999Z")]


def test_reference_forms():
    observation = {
        "resourceType": "Observation",
        "subject": {"reference": "http://example.org/fhir/Patient/x/_history/2"},
        "performer": [
            {"reference": "urn:uuid:4f8a"},
            {"reference": "#contained"},
            {"identifier": {"value": "no literal reference"}},
        ],
    }
    rows = extract(observation)
    assert rows_of(rows, "reference", "subject") == [(None, "http://example.org/fhir/Patient/x")]
    assert rows_of(rows, "reference", "performer") == [(None, "urn:uuid:4f8a")]


def test_resolve_is_filters_by_target_type():
    condition = {"resourceType": "Condition", "subject": {"reference": "Group/g1"}}
    rows = extract(condition)
    assert rows_of(rows, "reference", "subject") == [("Group", "g1")]


def test_choice_elements():
    condition = {
        "resourceType": "Condition",
        "onsetPeriod": {"start": "2020-01", "end": "2020-02"},
        "abatementString": "resolved",
        "recordedDate": "2020-03-01",
    }
    rows = extract(condition)
    assert rows_of(rows, "date", "onset-date") == [
        ("2020-01-01T00:00:00.000000Z", "2020-02-29T23:59:59.999999Z")
    ]
    assert rows_of(rows, "string", "abatement-string") == [("resolved", "resolved")]
    assert rows_of(rows, "date", "abatement-date") == []
    risk = {
        "resourceType": "RiskAssessment",
        "subject": {"reference": "Patient/p1"},
        "prediction": [
            {"probabilityDecimal": 0.12, "qualitativeRisk": {"coding": [{"code": "high"}]}},
            {"probabilityRange": {"low": {"value": 0.1}}},
        ],
    }
    rows = extract(risk)
    assert rows_of(rows, "quantity", "probability") == [(0.12, None, None)]
    assert rows_of(rows, "token", "risk") == [(None, "high")]
    request = {
        "resourceType": "MedicationRequest",
        "medicationReference": {"reference": "Medication/m1"},
    }
    rows = extract(request)
    assert rows_of(rows, "reference", "medication") == [("Medication", "m1")]
    assert rows_of(rows, "token", "code") == []


def test_components_and_meta():
    observation = {
        "resourceType": "Observation",
        "meta": {
            "tag": [{"system": "urn:songkhoe:tag", "code": "demo"}],
            "profile": ["http://hl7.org/fhir/StructureDefinition/bp"],
        },
        "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
        "component": [
            {
                "code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                "valueQuantity": {"value": 135, "system": UCUM, "code": "mm[Hg]"},
            },
            {
                "code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                "valueQuantity": {"value": 85.5, "system": UCUM, "code": "mm[Hg]"},
            },
        ],
    }
    rows = extract(observation)
    assert rows_of(rows, "token", "component-code") == [(LOINC, "8462-4"), (LOINC, "8480-6")]
    assert rows_of(rows, "token", "combo-code") == [], "combo-code is code | component-code"
    assert rows_of(rows, "quantity", "component-value-quantity") == [
        (85.5, UCUM, "mm[Hg]"),
        (135.0, UCUM, "mm[Hg]"),
    ]
    assert rows_of(rows, "quantity", "value-quantity") == []
    assert rows_of(rows, "token", "_tag") == [("urn:songkhoe:tag", "demo")]
    assert rows_of(rows, "token", "_profile") == [
        (None, "http://hl7.org/fhir/StructureDefinition/bp")
    ]


def test_where_equals_and_timing():
    request = {
        "resourceType": "ServiceRequest",
        "occurrenceTiming": {"event": ["2024-06-01", "2024-06-08"]},
        "authoredOn": "2024-05-20T10:00:00+07:00",
    }
    rows = extract(request)
    assert [low[:10] for low, _ in rows_of(rows, "date", "occurrence")] == [
        "2024-06-01",
        "2024-06-08",
    ]
    assert rows_of(rows, "date", "authored")[0][0] == "2024-05-20T03:00:00.000000Z"
    org = {
        "resourceType": "OrganizationAffiliation",
        "telecom": [{"system": "phone", "value": "02431234567"}, {"system": "fax", "value": "1"}],
    }
    assert rows_of(extract(org), "token", "phone") == [(None, "02431234567")]


def test_malformed_date_names_the_parameter():
    bad = {"resourceType": "Patient", "birthDate": "12/03/1985"}
    with pytest.raises(ValueError, match=r"Patient search parameter 'birthdate'.*12/03/1985"):
        extract(bad)


def test_wrong_json_shape_names_the_parameter():
    bad = {"resourceType": "Condition", "code": {"coding": {"code": "I10"}}}
    with pytest.raises(ValueError, match=r"Condition search parameter 'code'.*shape"):
        extract(bad)


def test_fhirpath_as_forms_compile_like_of_type():
    of_type = _Parser("Observation.value.ofType(Quantity)").parse()
    assert _Parser("(Observation.value as Quantity)").parse() == of_type
    assert _Parser("Observation.value.as(Quantity)").parse() == of_type


def test_unknown_resource_type():
    with pytest.raises(ValueError, match="Unicorn"):
        extract({"resourceType": "Unicorn"})
    with pytest.raises(ValueError, match="None"):
        extract({"id": "x"})


def test_skipped_params_are_known():
    skipped = {
        (resource_type, name)
        for resource_type in resource_types()
        for name in skipped_params(resource_type)
    }
    assert skipped == {("Patient", "deceased")}


IMPORTANT = {
    "Patient": "identifier name family given birthdate gender phone telecom address "
    "address-city organization general-practitioner active",
    "Observation": "code subject patient encounter date category value-quantity status performer "
    "component-code combo-code based-on",
    "Encounter": "patient subject date class type status service-provider location reason-code",
    "Condition": "code subject patient onset-date clinical-status category encounter recorded-date",
    "MedicationRequest": "patient subject code status authoredon intent requester medication",
    "Location": "identifier name partof organization address-city",
    "Organization": "identifier name partof type",
    "AuditEvent": "agent entity date type action patient",
    "RiskAssessment": "subject patient date probability risk method",
    "Task": "owner status focus patient",
    "Flag": "patient subject date",
    "Communication": "subject patient sent recipient sender",
    "ServiceRequest": "subject patient code status requester performer authored",
    "ImagingStudy": "patient started modality identifier",
    "DiagnosticReport": "patient subject code date result status",
}


@pytest.mark.parametrize("resource_type", sorted(IMPORTANT))
def test_important_params_compile(resource_type):
    names = set(IMPORTANT[resource_type].split())
    assert names <= set(params_for(resource_type))
    assert not names & set(skipped_params(resource_type))


def test_every_type_compiles():
    for resource_type in resource_types():
        extract({"resourceType": resource_type, "id": "x"})
