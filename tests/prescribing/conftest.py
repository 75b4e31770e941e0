"""The prescribing tests' small record: Lê Thị Hoa of a commune station of Bắc Ninh, who takes
warfarin and is allergic to penicillin, and the station's doctor bs.xa; a caller and a logged-in
page client for an account."""

import re

import pytest
from fastapi.testclient import TestClient

from songkhoe.app import create_app
from songkhoe.auth.audit import RequestContext
from songkhoe.auth.caller import Caller
from songkhoe.auth.service import create_user, user_id_of, user_principal
from songkhoe.places.catalog import communes

HOME = communes("24")[0].code
PASSWORD = "mật-khẩu-đủ-dài"


@pytest.fixture
def record(store):
    subject = {"reference": "Patient/hoa"}
    store.create_many(
        [
            {
                "resourceType": "Patient",
                "id": "hoa",
                "identifier": [{"system": "http://fhir.ehealth.gov.vn/core/sid/national_id",
                                "value": "027150000009"}],
                "name": [{"family": "Lê", "given": ["Thị", "Hoa"]}],
                "birthDate": "1950-01-02",
                "gender": "female",
                "managingOrganization": {"reference": f"Organization/tyt-{HOME}"},
            },
            {
                "resourceType": "MedicationRequest",
                "id": "warfarin",
                "status": "active",
                "intent": "order",
                "subject": subject,
                "medicationCodeableConcept": {
                    "coding": [{"system": "http://www.whocc.no/atc", "code": "B01AA03"}],
                    "text": "Warfarin 5 mg",
                },
            },
            {
                "resourceType": "AllergyIntolerance",
                "id": "penicillin",
                "patient": subject,
                "code": {"text": "Penicilin"},
            },
        ]
    )  # fmt: skip
    create_user(store.engine, username="bs.xa", password=PASSWORD,
                role="doctor", place=f"commune:{HOME}", full_name="Bác sĩ xã")  # fmt: skip
    return store


def logged_in(store, username: str = "bs.xa") -> TestClient:
    client = TestClient(create_app(store=store))
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)[1]
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf": token})
    return client


def caller_of(store, username: str) -> Caller:
    return Caller(store, user_principal(store.engine, user_id_of(store.engine, username)),
                  RequestContext(None))  # fmt: skip
