"""A Synthea patient (a transaction Bundle with urn:uuid references) through the HTTP API, and
Patient/$everything returning every resource about that patient."""

from pathlib import Path

import orjson
from fastapi.testclient import TestClient

from songkhoe.app import create_app

BUNDLE = Path(__file__).with_name("data") / "synthea_alberto_atencio.json"


def test_synthea_bundle_posts_as_a_transaction_and_everything_returns_it_all(store, auth_headers):
    bundle = orjson.loads(BUNDLE.read_bytes())
    client = TestClient(create_app(store=store))
    headers = {**auth_headers, "Content-Type": "application/fhir+json"}
    response = client.post("/fhir", content=orjson.dumps(bundle), headers=headers)
    assert response.status_code == 200, response.text[:500]
    answers = response.json()["entry"]
    assert [a["response"]["status"] for a in answers] == ["201 Created"] * 76
    locations = [a["response"]["location"].split("/_history")[0] for a in answers]
    (patient,) = [loc for loc in locations if loc.startswith("Patient/")]
    about_patient = {
        loc
        for loc, entry in zip(locations, bundle["entry"], strict=True)
        if entry["resource"]["resourceType"] not in ("Organization", "Practitioner")
    }
    everything = client.get(f"/fhir/{patient}/$everything", headers=auth_headers)
    assert everything.status_code == 200
    returned = {
        f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in everything.json()["entry"]
    }
    assert returned == about_patient
    assert len(returned) == 72  # 76 entries less 2 Organizations and 2 Practitioners
