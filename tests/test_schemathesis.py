"""The API's description (/openapi.json) and schemathesis over it, on each backend.

schemathesis runs as `schemathesis run` does (its engine, in this process, against the ASGI app):
the examples, coverage, fuzzing and stateful phases, over every documented operation, with an
administrator's token and a small synthetic province in the store (people, case reports, alerts).
No answer may be a 5xx, and every answer must be as documented: its status code, media type,
headers and body schema.

Bounded for CI, derandomized: at most 25 cases per operation in fuzzing, 10 steps per stateful
scenario; the coverage phase sends what it derives from the description (about 2,200 requests,
one per resource type among them). Hypothesis's `target` phase is left out: it hill-climbs
towards inputs an operation accepts, with many more calls per operation, and made the run ten
times longer. About 55 s on SQLite and 35 s on PostgreSQL on a 2-core machine (3,300 requests).
"""

import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import Phase, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema
from schemathesis.generation import GenerationMode
from schemathesis.hooks import HookContext

from songkhoe.app import create_app
from songkhoe.auth.service import create_user, issue_token
from songkhoe.fhir.store import ResourceStore
from songkhoe.surveillance import service
from songkhoe.surveillance.synth_cases import synthetic_province

FHIR_JSON = "application/fhir+json"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)


@pytest.fixture
def app(store: ResourceStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FastAPI]:
    """The app; at the end, the Bulk Data exports it started are waited for."""
    monkeypatch.setenv("SONGKHOE_EXPORT_DIR", str(tmp_path / "exports"))
    yield create_app(store=store)
    for thread in threading.enumerate():
        if thread.name.startswith("export-"):  # songkhoe.fhir.bulk.start_export's threads
            thread.join(timeout=60)


@pytest.fixture
def admin_token(store: ResourceStore) -> str:
    """An administrator's token over a province with people, case reports and an alert."""
    outbreak = synthetic_province(
        store, province_code="12", people=200, seed=9, as_of=date(2026, 6, 30)
    )
    service.run_weekly(store, week=outbreak.week)
    user_id = create_user(
        store.engine,
        username="quantri",
        password="mật-khẩu-đủ-dài",
        role="admin",
        place="national",
        full_name="Quản trị",
    )
    return issue_token(
        store.engine, scopes="user/*.*", expires_in=timedelta(hours=1), user_id=user_id
    )


@pytest.fixture
def without_target_phase() -> Iterator[None]:
    """Hypothesis without its `target` phase while the test runs (see the module docstring)."""
    previous = settings.get_current_profile_name()
    settings.register_profile(
        "songkhoe-bounded", phases=[Phase.explicit, Phase.generate, Phase.shrink]
    )
    settings.load_profile("songkhoe-bounded")
    yield
    settings.load_profile(previous)


def fhir_contract(_context: HookContext, case: schemathesis.Case) -> schemathesis.Case:
    """What a valid FHIR write has and the OpenAPI description cannot say: the body's
    resourceType is the URL's, an update's id is the URL's (http.html#update), and no element
    the type lacks (the description gives none of the types' elements)."""
    meta, body, path = case.meta, case.body, case.path_parameters or {}
    positive = meta is not None and meta.generation.mode == GenerationMode.POSITIVE
    if positive and isinstance(body, dict) and "resource_type" in path:
        case.body = {"resourceType": path["resource_type"]}
        if case.method == "PUT":
            case.body["id"] = path["resource_id"]
    return case


def test_api_conforms_and_never_fails(
    app: FastAPI, admin_token: str, without_target_phase: None
) -> None:
    admin = {"Authorization": f"Bearer {admin_token}"}
    config = SchemathesisConfig.from_dict(
        {
            "seed": 19,
            "headers": admin,
            "generation": {"max-examples": 25, "deterministic": True, "database": "none"},
            "phases": {"stateful": {"max-steps": 10}},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        }
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    schema.hooks.register_hook_with_name(fhir_contract, "map_case")
    failures: set[str] = set()
    errors: list[str] = []
    cases: dict[str, int] = {}
    answered: set[tuple[str, int]] = set()  # (operation, status)
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            cases[event.phase.value] = cases.get(event.phase.value, 0) + len(recorder.cases)
            for case_id, interaction in recorder.interactions.items():
                case = recorder.cases[case_id].value
                if interaction.response is not None:
                    answered.add((f"{case.method} {case.path}", interaction.response.status_code))
            for checks in recorder.checks.values():
                failures.update(
                    f"{recorder.label}: {check.name}: {check.failure_info.failure.title}\n"
                    f"{check.failure_info.failure.message}\n{check.failure_info.code_sample}"
                    for check in checks
                    if check.status == Status.FAILURE and check.failure_info is not None
                )
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.info.title}: {event.info.message}")
        elif isinstance(event, events.FatalError):
            errors.append(repr(event.exception))
    assert not errors, "\n\n".join(errors)
    assert not failures, "\n\n".join(sorted(failures))
    assert set(cases) == {"examples", "coverage", "fuzzing", "stateful"}, cases
    assert all(cases.values()), cases
    # the FHIR writes got past the media type check (they were all 415 without the description),
    # which generated cases show when one is valid, and these two always do
    create = schema["/fhir/{resource_type}"]["POST"].Case(
        path_parameters={"resource_type": "Patient"},
        body={"resourceType": "Patient"},
        media_type=FHIR_JSON,
        headers=admin,
    )
    assert create.call_and_validate().status_code == 201
    transaction = schema["/fhir"]["POST"].Case(
        body={"resourceType": "Bundle", "type": "transaction", "entry": []},
        media_type=FHIR_JSON,
        headers=admin,
    )
    assert transaction.call_and_validate().status_code == 200
    assert ("POST /fhir/{resource_type}", 400) in answered  # generated bodies reach validation


def test_every_documented_answer_has_a_schema(app: FastAPI) -> None:
    """The JSON APIs and the FHIR API document what they answer: FHIR JSON for FHIR, the JSON
    of each /api route, and the FHIR writes take `application/fhir+json` bodies."""
    paths = TestClient(app).get("/openapi.json").json()["paths"]
    assert {"/api/surveillance/alerts", "/api/surveillance/cases", "/api/ncd/indicators"} <= set(
        paths
    )
    for path, operations in paths.items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                for media_type, content in answer.get("content", {}).items():
                    assert content["schema"], f"{method} {path} {status} {media_type}"
                    if path.startswith("/fhir") and status.startswith("2"):
                        assert media_type in (
                            FHIR_JSON,
                            "application/json",
                            "application/fhir+ndjson",
                        )
    for path, method in (("/fhir", "post"), ("/fhir/{resource_type}", "post"),
                         ("/fhir/{resource_type}/{resource_id}", "put")):  # fmt: skip
        operation = paths[path][method]
        assert list(operation["requestBody"]["content"]) == [FHIR_JSON]
        assert all(list(answer["content"]) == [FHIR_JSON] for status, answer in
                   operation["responses"].items() if status.startswith("2"))  # fmt: skip
    alerts = paths["/api/surveillance/alerts"]["get"]["responses"]["200"]["content"]
    assert alerts["application/json"]["schema"]["required"] == ["total", "alerts"]


def test_options_answers_the_allowed_methods(app: FastAPI) -> None:
    client = TestClient(app)
    for path, allowed in (
        ("/fhir/Patient", "GET, POST, OPTIONS"),
        ("/fhir/Patient/p1", "GET, PUT, DELETE, OPTIONS"),
        ("/api/surveillance/cases", "POST, OPTIONS"),
        ("/healthz", "GET, OPTIONS"),
    ):
        answer = client.options(path)
        assert (answer.status_code, answer.headers.get("allow")) == (204, allowed), path
    assert client.options("/no/such/path").status_code == 404
