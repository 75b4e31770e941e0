"""A small synthetic province (Lai Châu, 800 people, history up to today) with its NCD
projections and risk assessments, and accounts of each kind, for the web app's tests; and the
helpers of the tests that write their own few resources (two communes of Bắc Ninh)."""

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from songkhoe.app import create_app
from songkhoe.auth.service import create_user
from songkhoe.db.tables import metadata, resource
from songkhoe.fhir.store import ResourceStore
from songkhoe.fhir.systems import CCCD
from songkhoe.ncd.service import refresh
from songkhoe.places.catalog import communes
from songkhoe.places.facilities import commune_station_id
from songkhoe.synth.service import populate
from songkhoe.terminology import loinc

PROVINCE = "12"
PASSWORD = "mật-khẩu-đủ-dài"
HOME, NEIGHBOUR = (c.code for c in communes("24")[:2])


@dataclass
class Town:
    store: ResourceStore
    commune: str  # the worker's commune: the one with the most people
    other_commune: str

    def client(self, username: str) -> TestClient:
        return logged_in(self.store, username)

    def count(self, resource_type: str) -> int:
        with self.store.engine.connect() as conn:
            return conn.execute(
                select(func.count()).where(
                    resource.c.res_type == resource_type, resource.c.is_current
                )
            ).scalar_one()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html)[1]


def logged_in(store: ResourceStore, username: str) -> TestClient:
    """A client of a new app over `store`, logged in as `username` (password `PASSWORD`)."""
    client = TestClient(create_app(store=store))
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    return client


def patient(
    pid: str, commune_code: str, family: str, given: str, cccd: str, birth: str = "1960-05-01"
) -> dict:
    """A Patient registered with the station of `commune_code`."""
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": CCCD, "value": cccd}],
        "name": [{"family": family, "given": given.split()}],
        "birthDate": birth,
        "gender": "female",
        "managingOrganization": {"reference": f"Organization/{commune_station_id(commune_code)}"},
    }


def blood_pressure(pid: str, when: str, sbp: float, dbp: float, status: str = "final") -> dict:
    """A blood-pressure panel Observation of the person, as the synthetic population codes it."""

    def part(code: loinc.LoincCode, value: float) -> dict:
        return {"code": loinc.concept(code.code), "valueQuantity": {"value": value}}

    return {
        "resourceType": "Observation",
        "status": status,
        "code": loinc.concept(loinc.BP_PANEL.code),
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        "component": [part(loinc.SYSTOLIC_BP, sbp), part(loinc.DIASTOLIC_BP, dbp)],
    }


def add_users(store: ResourceStore, accounts: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Create accounts {username: (role, place)} with `PASSWORD`; their user ids by username."""
    return {
        name: create_user(
            store.engine, username=name, password=PASSWORD, role=role, place=place, full_name=name
        )
        for name, (role, place) in accounts.items()
    }


@pytest.fixture(scope="module")
def town(migrated_engine) -> Town:
    with migrated_engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    store = ResourceStore(migrated_engine)
    today = datetime.now(UTC).date()
    populate(store=store, province_code=PROVINCE, people=800, seed=5, as_of=today)
    refresh(store=store)
    with store.engine.connect() as conn:
        orgs = Counter(
            c["managingOrganization"]["reference"].removeprefix("Organization/tyt-")
            for (c,) in conn.execute(
                select(resource.c.content).where(resource.c.res_type == "Patient")
            )
        )
    (home, _), (other, _) = orgs.most_common(2)
    accounts = {
        "worker": ("commune_health_worker", f"commune:{home}"),
        "doctor": ("doctor", f"province:{PROVINCE}"),
        "manager": ("provincial_manager", f"province:{PROVINCE}"),
        "director": ("provincial_manager", "province:24"),
        "admin": ("admin", "national"),
    }
    add_users(store, accounts)
    return Town(store, home, other)
