"""A real FHIR client library (fhirpy's SyncFHIRClient) drives the API on a live server."""

import httpx
import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ResourceNotFound

FHIR_JSON = "application/fhir+json"
CCCD = "http://songkhoe.vn/fhir/sid/cccd"


@pytest.fixture
def client(fhir_base: str, system_token: str) -> SyncFHIRClient:
    return SyncFHIRClient(fhir_base, authorization=f"Bearer {system_token}")


@pytest.fixture
def patient(client: SyncFHIRClient):
    patient = client.resource(
        "Patient",
        identifier=[{"system": CCCD, "value": "001090012345"}],
        name=[{"family": "Nguyễn", "given": ["Thị", "Hương"], "text": "Nguyễn Thị Hương"}],
        gender="female",
        birthDate="1990-04-30",
    )
    patient.save()
    return patient


def _observations(client: SyncFHIRClient, patient_id: str, count: int) -> None:
    for i in range(count):
        client.resource(
            "Observation",
            status="final",
            code={"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
            subject={"reference": f"Patient/{patient_id}"},
            effectiveDateTime=f"2024-05-{i + 1:02d}T08:00:00+07:00",
            valueQuantity={"value": 120 + i, "unit": "mmHg", "code": "mm[Hg]"},
        ).save()


def test_create_and_search_by_name_and_identifier(client: SyncFHIRClient, patient) -> None:
    assert patient.id and patient["meta"]["versionId"] == "1"
    client.resource("Patient", name=[{"family": "Trần", "given": ["Văn", "Nam"]}]).save()
    patients = client.resources("Patient")
    for name in ("Nguyễn", "nguyen", "NGUYEN", "Hương", "huong", "Nguyễn Thị"):
        assert [p.id for p in patients.search(name=name).fetch()] == [patient.id], name
    assert [p.id for p in patients.search(family="Tran").fetch()] != [patient.id]
    found = patients.search(identifier=f"{CCCD}|001090012345").fetch()
    assert [p.id for p in found] == [patient.id]
    assert found[0]["name"][0]["given"] == ["Thị", "Hương"]
    assert patients.search(identifier=f"{CCCD}|999").fetch() == []


def test_pages_follow_next_links(client: SyncFHIRClient, patient) -> None:
    _observations(client, patient.id, 25)
    search = client.resources("Observation").search(subject=f"Patient/{patient.id}").limit(10)
    assert len(search.fetch()) == 10
    everything = search.fetch_all()  # follows Bundle.link next, 10 at a time
    assert len(everything) == 25 and len({o.id for o in everything}) == 25


def test_sort_include_revinclude_and_summary_count(
    client: SyncFHIRClient, patient, fhir_base: str
) -> None:
    _observations(client, patient.id, 3)
    observations = client.resources("Observation")
    values = [o["valueQuantity"]["value"] for o in observations.sort("-date").fetch()]
    assert values == [122, 121, 120]
    values = [o["valueQuantity"]["value"] for o in observations.sort("date").fetch()]
    assert values == [120, 121, 122]

    bundle = observations.include("Observation", "subject").limit(2).fetch_raw()
    modes = sorted(e["search"]["mode"] for e in bundle["entry"])
    assert modes == ["include", "match", "match"]
    included = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "include"]
    assert [r["id"] for r in included] == [patient.id]

    bundle = (
        client.resources("Patient")
        .search(_id=patient.id)
        .revinclude("Observation", "subject")
        .fetch_raw()
    )
    types = sorted(e["resource"]["resourceType"] for e in bundle["entry"])
    assert types == ["Observation"] * 3 + ["Patient"]

    summary = httpx.get(
        f"{fhir_base}/Observation",
        params={"_summary": "count"},
        headers={"Authorization": client.authorization},
    )
    assert summary.status_code == 200
    assert summary.json()["total"] == 3 and not summary.json().get("entry")


def test_update_with_version_check(client: SyncFHIRClient, patient, fhir_base: str) -> None:
    patient["gender"] = "other"
    patient.save()  # fhirpy: PUT without If-Match
    assert patient["meta"]["versionId"] == "2"
    url = f"{fhir_base}/Patient/{patient.id}"
    body = {**patient.serialize(), "birthDate": "1991-01-01"}
    headers = {"Content-Type": FHIR_JSON, **{"Authorization": client.authorization}}
    stale = httpx.put(url, json=body, headers={**headers, "If-Match": 'W/"1"'})
    assert stale.status_code == 412
    assert stale.json()["resourceType"] == "OperationOutcome"
    fresh = httpx.put(url, json=body, headers={**headers, "If-Match": 'W/"2"'})
    assert fresh.status_code == 200
    assert fresh.headers["ETag"] == 'W/"3"'
    assert client.resources("Patient").search(_id=patient.id).get()["birthDate"] == "1991-01-01"


def test_delete_then_read_is_gone(client: SyncFHIRClient, patient, fhir_base: str) -> None:
    patient.delete()
    with pytest.raises(ResourceNotFound):
        client.reference("Patient", patient.id).to_resource()
    gone = httpx.get(
        f"{fhir_base}/Patient/{patient.id}", headers={"Authorization": client.authorization}
    )
    assert gone.status_code == 410
    assert client.resources("Patient").search(_id=patient.id).fetch() == []
