"""The /fhir API against the R4 RESTful spec (http://hl7.org/fhir/R4/http.html): errors as
OperationOutcome with the right status, headers of create and update, conditional create, and a
CapabilityStatement that tells the truth."""

from collections.abc import Iterator

import httpx
import pytest

FHIR_JSON = "application/fhir+json"
PATIENT = {
    "resourceType": "Patient",
    "identifier": [{"system": "http://songkhoe.vn/fhir/sid/cccd", "value": "079085001234"}],
    "name": [{"family": "Phạm", "given": ["Minh"]}],
    "birthDate": "1985-02-14",
}
SAMPLE_VALUES = {  # a well-formed value for a search parameter of each type
    "token": "x",
    "string": "x",
    "date": "2020-01-01",
    "reference": "Patient/x",
    "quantity": "1",
    "number": "1",
    "uri": "http://example.org/x",
}


@pytest.fixture
def http(fhir_base: str, auth_headers: dict[str, str]) -> Iterator[httpx.Client]:
    headers = {"Content-Type": FHIR_JSON, **auth_headers}
    with httpx.Client(base_url=fhir_base, headers=headers) as client:
        yield client


def _outcome(response: httpx.Response, status: int) -> list[dict]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"] and all(i["severity"] in ("error", "fatal") for i in body["issue"])
    return body["issue"]


def test_create_returns_201_with_location_and_etag(http: httpx.Client, fhir_base: str) -> None:
    created = http.post("/Patient", json=PATIENT)
    assert created.status_code == 201
    body = created.json()
    assert body["meta"]["versionId"] == "1" and body["name"] == PATIENT["name"]
    assert created.headers["ETag"] == 'W/"1"'
    location = created.headers["Location"]
    assert location == f"{fhir_base}/Patient/{body['id']}/_history/1"
    assert http.get(location).json() == body
    read = http.get(f"/Patient/{body['id']}")
    assert read.headers["ETag"] == 'W/"1"' and "Last-Modified" in read.headers


def test_create_ignores_a_client_id(http: httpx.Client) -> None:
    created = http.post("/Patient", json={**PATIENT, "id": "chosen-by-client"})
    assert created.status_code == 201 and created.json()["id"] != "chosen-by-client"


def test_malformed_json_is_400(http: httpx.Client) -> None:
    _outcome(http.post("/Patient", content=b'{"resourceType": "Patient",'), 400)


@pytest.mark.parametrize(
    ("change", "expression"),
    [
        ({"birthDate": "1990-13-45"}, "Patient.birthDate"),
        ({"colour": "blue"}, "Patient.colour"),
        ({"name": [{"given": "Minh"}]}, "Patient.name[0].given"),
    ],
)
def test_invalid_resource_is_400_naming_the_element(
    http: httpx.Client, change: dict, expression: str
) -> None:
    issues = _outcome(http.post("/Patient", json={**PATIENT, **change}), 400)
    assert [expression] in [i.get("expression") for i in issues]
    assert expression in issues[0]["diagnostics"]
    resource_id = "p-invalid"
    issues = _outcome(
        http.put(f"/Patient/{resource_id}", json={**PATIENT, **change, "id": resource_id}), 400
    )
    assert [expression] in [i.get("expression") for i in issues]
    assert http.get(f"/Patient/{resource_id}").status_code == 404  # nothing written


def test_body_of_another_type_is_400(http: httpx.Client) -> None:
    _outcome(http.post("/Observation", json=PATIENT), 400)


def test_unknown_search_parameter_is_400(http: httpx.Client) -> None:
    _outcome(http.get("/Patient", params={"colour": "blue"}), 400)


def test_malformed_search_value_is_400(http: httpx.Client) -> None:
    _outcome(http.get("/Patient", params={"birthdate": "not-a-date"}), 400)


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
def test_wrong_content_type_is_415(
    fhir_base: str, auth_headers: dict[str, str], content_type: str | None
) -> None:
    headers = {**auth_headers, **({"Content-Type": content_type} if content_type else {})}
    content = b'{"resourceType": "Patient"}'
    _outcome(httpx.post(f"{fhir_base}/Patient", content=content, headers=headers), 415)


def test_plain_json_content_type_is_accepted(http: httpx.Client) -> None:
    assert (
        http.post(
            "/Patient", json=PATIENT, headers={"Content-Type": "application/json"}
        ).status_code
        == 201
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/Colour"), ("GET", "/Colour/1"), ("POST", "/Colour"), ("GET", "/patient")],
)
def test_unknown_resource_type_is_404(http: httpx.Client, method: str, path: str) -> None:
    _outcome(http.request(method, path, json={"resourceType": "Colour"}), 404)


def test_unknown_id_is_404(http: httpx.Client) -> None:
    _outcome(http.get("/Patient/nobody"), 404)
    _outcome(http.get("/Patient/nobody/_history/1"), 404)


def test_update_versions_and_if_match(http: httpx.Client) -> None:
    created = http.put("/Patient/p1", json={**PATIENT, "id": "p1"})
    assert created.status_code == 201 and created.headers["ETag"] == 'W/"1"'
    updated = http.put("/Patient/p1", json={**PATIENT, "id": "p1", "gender": "male"})
    assert updated.status_code == 200 and updated.headers["ETag"] == 'W/"2"'
    body = {**PATIENT, "id": "p1", "gender": "female"}
    _outcome(http.put("/Patient/p1", json=body, headers={"If-Match": 'W/"1"'}), 412)
    assert http.get("/Patient/p1").json()["gender"] == "male"
    matched = http.put("/Patient/p1", json=body, headers={"If-Match": 'W/"2"'})
    assert matched.status_code == 200 and matched.headers["ETag"] == 'W/"3"'
    assert http.get("/Patient/p1/_history/2").json()["gender"] == "male"


def test_update_with_mismatched_id_is_400(http: httpx.Client) -> None:
    _outcome(http.put("/Patient/p1", json={**PATIENT, "id": "p2"}), 400)
    _outcome(http.put("/Patient/p1", json=PATIENT), 400)  # http.html#update: id is required


def test_delete_then_read_is_410(http: httpx.Client) -> None:
    resource_id = http.post("/Patient", json=PATIENT).json()["id"]
    assert http.delete(f"/Patient/{resource_id}").status_code in (200, 204)
    _outcome(http.get(f"/Patient/{resource_id}"), 410)
    assert http.get("/Patient", params={"_id": resource_id}).json()["total"] == 0


def test_conditional_create_with_if_none_exist(http: httpx.Client) -> None:
    condition = {"If-None-Exist": "identifier=http://songkhoe.vn/fhir/sid/cccd|079085001234"}
    first = http.post("/Patient", json=PATIENT, headers=condition)
    assert first.status_code == 201
    again = http.post("/Patient", json=PATIENT, headers=condition)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert http.get("/Patient", params={"_summary": "count"}).json()["total"] == 1
    http.post("/Patient", json=PATIENT)  # now two match
    _outcome(http.post("/Patient", json=PATIENT, headers=condition), 412)


def test_if_none_exist_may_start_with_the_type_as_in_a_bundle(http: httpx.Client) -> None:
    """The header is read as a Bundle's ifNoneExist is: `Type?query`, `?query` or `query`."""
    query = "identifier=http://songkhoe.vn/fhir/sid/cccd|079085001234"
    first = http.post("/Patient", json=PATIENT, headers={"If-None-Exist": f"Patient?{query}"})
    assert first.status_code == 201, first.text
    for condition in (f"?{query}", query, f"Patient?{query}"):
        again = http.post("/Patient", json=PATIENT, headers={"If-None-Exist": condition})
        assert again.status_code == 200 and again.json()["id"] == first.json()["id"], condition


def test_capability_statement_search_params_work(http: httpx.Client) -> None:
    statement = http.get("/metadata")
    assert statement.status_code == 200
    body = statement.json()
    assert body["resourceType"] == "CapabilityStatement" and body["fhirVersion"] == "4.0.1"
    assert body["kind"] == "instance" and FHIR_JSON in body["format"]
    (rest,) = body["rest"]
    by_type = {r["type"]: r for r in rest["resource"]}
    assert {"Patient", "Observation", "Encounter", "Condition"} <= set(by_type)
    http.post("/Patient", json=PATIENT)
    failures = []
    for param in by_type["Patient"]["searchParam"]:
        value = SAMPLE_VALUES.get(param["type"])
        if value is None:
            failures.append(f"{param['name']}: type {param['type']} has no sample value")
            continue
        response = http.get("/Patient", params={param["name"]: value})
        if response.status_code != 200:
            failures.append(
                f"{param['name']}={value}: {response.status_code} {response.text[:200]}"
            )
    for include in by_type["Patient"].get("searchInclude", []):
        response = http.get("/Patient", params={"_include": include})
        if response.status_code != 200:
            failures.append(f"_include={include}: {response.status_code}")
    assert not failures, "\n".join(failures)
