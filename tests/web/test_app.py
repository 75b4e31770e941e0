"""The app factory and its health check."""

from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from songkhoe.app import create_app
from songkhoe.fhir.store import ResourceStore


def test_healthz_reports_the_database(store):
    response = TestClient(create_app(store=store)).get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] in ("sqlite", "postgresql")


def test_healthz_fails_when_the_database_is_gone():
    engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    response = TestClient(create_app(store=ResourceStore(engine))).get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unreachable"}
