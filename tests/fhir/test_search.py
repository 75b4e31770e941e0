"""Search over the index tables, on SQLite and PostgreSQL (http://hl7.org/fhir/R4/search.html)."""

import pytest

from songkhoe.fhir.search import (
    Criterion,
    InvalidSearch,
    SearchRequest,
    compartment,
    count,
    included,
    page,
    parse_query,
)
from songkhoe.fhir.searchparams import UnknownSearchParameter

CCCD = "http://fhir.ehealth.gov.vn/core/sid/national_id"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def person(pid: str, family: str, given: str, birth: str, cccd: str) -> dict:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": CCCD, "value": cccd}],
        "name": [{"family": family, "given": given.split()}],
        "birthDate": birth,
    }


def glucose(oid: str, patient: str, when: str, value: float) -> dict:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "14771-0"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "mmol/L", "system": UCUM, "code": "mmol/L"},
    }


@pytest.fixture
def filled(store):
    store.create_many(
        [
            person("an", "Nguyễn", "Văn An", "1960-03-02", "027060001111"),
            person("binh", "Trần", "Thị Bình", "1975", "027175002222"),
            person("duc", "Đặng", "Đức", "1990-11-30", "027090003333"),
            glucose("g1", "an", "2024-05-01T08:00:00+07:00", 5.4),
            glucose("g2", "an", "2025-05-02T08:00:00+07:00", 7.9),
            glucose("g3", "binh", "2025-06-10", 6.1),
        ]
    )
    return store


def ids(store, resource_type: str, *criteria: tuple[str, str]) -> list[str]:
    with store.engine.connect() as conn:
        request = SearchRequest(criteria=[Criterion(n, v) for n, v in criteria])
        return [i for i, _ in page(conn, resource_type, request)]


def test_string_search_ignores_case_and_vietnamese_diacritics(filled):
    assert ids(filled, "Patient", ("family", "nguyen")) == ["an"]
    assert ids(filled, "Patient", ("name", "ĐẶNG")) == ["duc"]
    assert ids(filled, "Patient", ("name", "dang")) == ["duc"]
    assert ids(filled, "Patient", ("given", "thi")) == ["binh"]
    assert ids(filled, "Patient", ("name", "100%")) == []


def test_token_search_with_and_without_system(filled):
    assert ids(filled, "Patient", ("identifier", f"{CCCD}|027090003333")) == ["duc"]
    assert ids(filled, "Patient", ("identifier", "027090003333")) == ["duc"]
    assert ids(filled, "Patient", ("identifier", "other|027090003333")) == []
    assert ids(filled, "Patient", ("identifier", f"{CCCD}|")) == ["an", "binh", "duc"]
    assert ids(filled, "Observation", ("code", "|14771-0")) == []


def test_comma_is_or_and_repeated_parameters_are_and(filled):
    assert ids(filled, "Patient", ("family", "nguyen,tran")) == ["an", "binh"]
    assert ids(filled, "Patient", ("family", "nguyen,tran"), ("given", "thi")) == ["binh"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1975", ["binh"]),
        ("1975-06", []),  # the stored year is wider than the month searched for
        ("lt1975", ["an"]),
        ("le1975-06", ["an", "binh"]),
        ("ge1975-06", ["binh", "duc"]),
        ("gt1976", ["duc"]),
        ("sa1975", ["duc"]),
        ("eb1975", ["an"]),
        ("ne1975", ["an", "duc"]),
    ],
)
def test_date_prefixes(filled, value, expected):
    assert ids(filled, "Patient", ("birthdate", value)) == expected


def test_datetimes_compare_in_utc(filled):
    # 2024-05-01T08:00+07:00 is 01:00 UTC
    assert ids(filled, "Observation", ("date", "ge2024-05-01T01:00:00Z"), ("date", "lt2025")) == [
        "g1"
    ]
    assert ids(filled, "Observation", ("date", "lt2024-05-01T00:59:00Z")) == []


def test_reference_search(filled):
    assert ids(filled, "Observation", ("subject", "Patient/an")) == ["g1", "g2"]
    assert ids(filled, "Observation", ("patient", "binh")) == ["g3"]
    assert ids(filled, "Observation", ("subject", "Group/an")) == []


def test_derived_parameters_search_through_their_sources(store):
    """`patient` is `subject` restricted to Patients; `combo-code` is `code | component-code`."""
    bp = {
        "resourceType": "Observation",
        "id": "bp",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
        "subject": {"reference": "Group/an"},
        "component": [{"code": {"coding": [{"system": LOINC, "code": "8480-6"}]}}],
    }
    external = {
        "resourceType": "Observation",
        "id": "ext",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
        "subject": {"reference": "http://other.example/fhir/Patient/an"},
    }
    store.create_many([bp, external])
    assert ids(store, "Observation", ("patient", "an")) == []
    assert ids(store, "Observation", ("subject", "an")) == ["bp"]
    assert ids(store, "Observation", ("patient", "http://other.example/fhir/Patient/an")) == ["ext"]
    assert ids(store, "Observation", ("combo-code", f"{LOINC}|8480-6")) == ["bp", "ext"]
    assert ids(store, "Observation", ("code", f"{LOINC}|8480-6")) == ["ext"]
    assert ids(store, "Observation", ("component-code", "8480-6")) == ["bp"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5.4", ["g1"]),
        ("5", ["g1"]),  # 5 means [4.5, 5.5)
        ("gt7", ["g2"]),
        ("le6.1", ["g1", "g3"]),
        ("ge6.1|http://unitsofmeasure.org|mmol/L", ["g2", "g3"]),
        ("ge6.1|http://unitsofmeasure.org|mg/dL", []),
    ],
)
def test_quantity_search(filled, value, expected):
    assert ids(filled, "Observation", ("value-quantity", value)) == expected


def test_id_and_last_updated(filled):
    assert ids(filled, "Patient", ("_id", "duc,an")) == ["an", "duc"]
    assert ids(filled, "Patient", ("_lastUpdated", "gt2000-01-01")) == ["an", "binh", "duc"]
    assert ids(filled, "Patient", ("_lastUpdated", "lt2000-01-01")) == []


def test_paging_is_ordered_and_stable(filled):
    with filled.engine.connect() as conn:
        pages = [
            [i for i, _ in page(conn, "Patient", SearchRequest(count=2, offset=offset))]
            for offset in (0, 2, 4)
        ]
    assert pages == [["an", "binh"], ["duc"], []]


def test_unknown_parameter_and_bad_values_are_named(filled):
    with pytest.raises(UnknownSearchParameter, match="'colour'"):
        ids(filled, "Patient", ("colour", "red"))
    with pytest.raises(InvalidSearch, match="birthdate"):
        ids(filled, "Patient", ("birthdate", "ge12/03/1985"))
    with pytest.raises(InvalidSearch, match="value-quantity"):
        ids(filled, "Observation", ("value-quantity", "gtabc"))


def request(resource_type: str, *items: tuple[str, str]):
    return parse_query(resource_type, list(items))


def matched(store, resource_type: str, *items: tuple[str, str]) -> list[str]:
    with store.engine.connect() as conn:
        return [i for i, _ in page(conn, resource_type, request(resource_type, *items))]


def test_string_modifiers(filled):
    assert matched(filled, "Patient", ("family:exact", "Nguyễn")) == ["an"]
    assert matched(filled, "Patient", ("family:exact", "nguyen")) == []
    assert matched(filled, "Patient", ("name:contains", "inh")) == ["binh"]
    assert matched(filled, "Patient", ("name", "inh")) == []


def test_missing_and_not_modifiers(filled):
    assert matched(filled, "Patient", ("gender:missing", "true")) == ["an", "binh", "duc"]
    assert matched(filled, "Patient", ("birthdate:missing", "false")) == ["an", "binh", "duc"]
    assert matched(filled, "Observation", ("encounter:missing", "true")) == ["g1", "g2", "g3"]
    assert matched(filled, "Patient", ("identifier:not", "027060001111")) == ["binh", "duc"]


def test_reference_type_modifier_and_chaining(filled):
    assert matched(filled, "Observation", ("subject:Patient", "an")) == ["g1", "g2"]
    assert matched(filled, "Observation", ("subject:Patient.family", "tran")) == ["g3"]
    assert matched(
        filled, "Observation", ("subject:Patient.identifier", f"{CCCD}|027060001111")
    ) == ["g1", "g2"]
    assert matched(filled, "Observation", ("patient.birthdate", "lt1970")) == ["g1", "g2"]
    with pytest.raises(InvalidSearch, match="name one"):
        request("Observation", ("subject.name", "x"))
    with pytest.raises(InvalidSearch, match="more than one level"):
        request("Observation", ("subject:Patient.organization.name", "x"))


def test_sort_by_parameters(filled):
    assert matched(filled, "Patient", ("_sort", "birthdate")) == ["an", "binh", "duc"]
    assert matched(filled, "Patient", ("_sort", "-birthdate")) == ["duc", "binh", "an"]
    assert matched(filled, "Observation", ("_sort", "-value-quantity")) == ["g2", "g3", "g1"]
    assert matched(filled, "Patient", ("_sort", "family")) == ["duc", "an", "binh"]


def test_count_include_and_revinclude(filled):
    query = request("Observation", ("patient", "an"), ("_include", "Observation:subject"))
    with filled.engine.connect() as conn:
        assert count(conn, "Observation", query) == 2
        ids_on_page = [i for i, _ in page(conn, "Observation", query)]
        extra, left_out = included(conn, "Observation", ids_on_page, query)
    assert [r["id"] for r in extra] == ["an"] and left_out == []
    query = request("Patient", ("_id", "an,binh"), ("_revinclude", "Observation:patient"))
    with filled.engine.connect() as conn:
        extra, left_out = included(conn, "Patient", ["an", "binh"], query)
    assert [r["id"] for r in extra] == ["g1", "g2", "g3"] and left_out == []


def test_compartment_holds_everything_that_points_at_the_patient(filled):
    with filled.engine.connect() as conn:
        assert [r["id"] for r in compartment(conn, "an", SearchRequest())] == ["g1", "g2"]


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ((("_count", "-1"),), "_count"),
        ((("_sort", "colour"),), "colour"),
        ((("_include", "Observation"),), "Type:parameter"),
        ((("_include", "Observation:code"),), "not a reference"),
        ((("_summary", "text"),), "_summary"),
        ((("family:below", "x"),), ":below"),
        ((("gender:missing", "maybe"),), "true or false"),
    ],
)
def test_bad_controls_are_named(items, message):
    with pytest.raises((InvalidSearch, UnknownSearchParameter), match=message):
        request("Patient" if "Observation" not in str(items) else "Observation", *items)
