"""CCCD and BHYT card in the VN Core NamingSystems (issue 21): what is stored is VN Core's, and the
project's old systems keep working for search and input (songkhoe.fhir.systems), on both
backends; migration 0009 rewrote what was stored before."""

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from songkhoe.db.migrate import downgrade, upgrade
from songkhoe.db.tables import idx_token, resource
from songkhoe.fhir.search import Criterion, SearchRequest, page

OLD_CCCD = "https://fhir.songkhoe.vn/sid/cccd"
OLD_BHYT = "https://fhir.songkhoe.vn/sid/bhyt"
NATIONAL_ID = "http://fhir.ehealth.gov.vn/core/sid/national_id"  # NamingSystem.sid-national-id
INSURANCE = "http://fhir.ehealth.gov.vn/core/sid/insurance_number"  # sid-insurance_number
CCCD_VALUE, CARD_VALUE = "027090001234", "GD4272721234567"


def patient(cccd_system: str, card_system: str) -> dict:
    return {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [
            {"system": cccd_system, "value": CCCD_VALUE},
            {"system": card_system, "value": CARD_VALUE},
        ],
        "name": [{"text": "Nguyễn Văn An", "family": "Nguyễn", "given": ["Văn", "An"]}],
    }


def find(store, **params: str) -> list[str]:
    with store.engine.connect() as conn:
        request = SearchRequest(criteria=[Criterion(k, v) for k, v in params.items()])
        return [i for i, _ in page(conn, "Patient", request)]


def systems_stored(store) -> list[list[str]]:
    """The identifier systems of each stored version of Patient/p1, oldest first."""
    query = select(resource.c.content).where(resource.c.res_id == "p1").order_by(resource.c.version)
    with store.engine.connect() as conn:
        return [[i["system"] for i in row["identifier"]] for (row,) in conn.execute(query)]


BOTH = [(OLD_CCCD, CCCD_VALUE), (NATIONAL_ID, CCCD_VALUE), (OLD_BHYT, CARD_VALUE),
        (INSURANCE, CARD_VALUE)]  # fmt: skip


@pytest.mark.parametrize("system,value", BOTH)
def test_search_by_the_old_or_the_vn_core_system_finds_the_person(store, system, value):
    store.create(patient(NATIONAL_ID, INSURANCE))
    assert find(store, identifier=f"{system}|{value}") == ["p1"]
    assert find(store, identifier=f"{system}|000000000000") == []


def test_the_migration_rewrites_every_stored_version_and_the_index(store):
    """Revision 0008's data (the old systems), then 0009: every version of the Patient and its
    token rows carry VN Core's systems; downgrading takes them back."""
    store.create(patient(NATIONAL_ID, INSURANCE))
    second = {**patient(NATIONAL_ID, INSURANCE), "gender": "male"}
    store.update(second)
    downgrade(store.engine, "0008")
    assert systems_stored(store) == [[OLD_CCCD, OLD_BHYT], [OLD_CCCD, OLD_BHYT]]
    upgrade(store.engine)
    assert systems_stored(store) == [[NATIONAL_ID, INSURANCE], [NATIONAL_ID, INSURANCE]]
    rows = select(idx_token.c.system).where(
        idx_token.c.res_id == "p1", idx_token.c.param == "identifier"
    )
    with store.engine.connect() as conn:
        assert sorted(conn.execute(rows).scalars()) == sorted([NATIONAL_ID, INSURANCE])
    assert store.read("Patient", "p1")["gender"] == "male"
    assert find(store, identifier=f"{OLD_CCCD}|{CCCD_VALUE}") == ["p1"]


@pytest.fixture
def http(fhir_base: str, auth_headers: dict[str, str]) -> Iterator[httpx.Client]:
    headers = {"Content-Type": "application/fhir+json", **auth_headers}
    with httpx.Client(base_url=fhir_base, headers=headers) as client:
        yield client


def test_a_patient_sent_with_the_old_systems_is_stored_with_vn_core_systems(http, store):
    body = patient(OLD_CCCD, OLD_BHYT)
    del body["id"]
    created = http.post("/Patient", json=body)
    assert created.status_code == 201, created.text
    assert [i["system"] for i in created.json()["identifier"]] == [NATIONAL_ID, INSURANCE]
    found = http.get("/Patient", params={"identifier": f"{OLD_CCCD}|{CCCD_VALUE}"}).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [created.json()["id"]]
