"""A small synthetic province (Lai Châu, 800 people, history up to today) with its NCD
projections and risk assessments, and accounts of each kind, for the web app's tests."""

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from songkhoe.auth.service import create_user
from songkhoe.db.tables import metadata, resource
from songkhoe.fhir.store import ResourceStore
from songkhoe.ncd.service import refresh
from songkhoe.synth.service import populate
from songkhoe.web.app import create_app

PROVINCE = "12"
PASSWORD = "mật-khẩu-đủ-dài"


@dataclass
class Town:
    store: ResourceStore
    commune: str  # the worker's commune: the one with the most people
    other_commune: str

    def client(self, username: str) -> TestClient:
        client = TestClient(create_app(store=self.store))
        form = client.get("/login")
        response = client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf": csrf_of(form.text)},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        return client

    def count(self, resource_type: str) -> int:
        with self.store.engine.connect() as conn:
            return conn.execute(
                select(func.count()).where(
                    resource.c.res_type == resource_type, resource.c.is_current
                )
            ).scalar_one()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html)[1]


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
    for username, (role, place) in accounts.items():
        create_user(
            store.engine,
            username=username,
            password=PASSWORD,
            role=role,
            place=place,
            full_name=username,
        )
    return Town(store, home, other)
