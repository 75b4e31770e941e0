"""Property-based API tests: schemathesis generates requests, valid and invalid, for every
operation of the app's OpenAPI schema; none may get a 5xx and each documented response must
conform to the schema.

Bounded for CI: 25 derandomized cases per operation, positive and negative mixed, no coverage
or stateful phase. The operations are driven with Hypothesis directly: schemathesis's
`from_fixture` fails under pytest 9 (it writes `Function._nodeid`, which pytest 9 lacks).
"""

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from songkhoe.app import create_app
from songkhoe.fhir.capability import supported_types
from songkhoe.fhir.store import ResourceStore

EXAMPLES = settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.generate, Phase.shrink],
)

FHIR_JSON = "application/fhir+json"


def _with_fhir_contract(raw: dict) -> dict:
    """The app's OpenAPI schema with what FastAPI cannot see in the FHIR routes: the resource
    types a path takes and the FHIR JSON bodies of create, update and transaction/batch."""
    types = sorted(supported_types())
    resource = {
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": {"enum": types}, "id": {"type": "string"}},
    }
    entry = {
        "type": "object",
        "properties": {
            "fullUrl": {"type": "string"},
            "resource": resource,
            "request": {
                "type": "object",
                "required": ["method", "url"],
                "properties": {
                    "method": {"enum": ["GET", "POST", "PUT", "DELETE"]},
                    "url": {"type": "string"},
                },
            },
        },
    }
    bundle = {
        "type": "object",
        "required": ["resourceType", "type"],
        "properties": {
            "resourceType": {"const": "Bundle"},
            "type": {"enum": ["transaction", "batch"]},
            "entry": {"type": "array", "maxItems": 3, "items": entry},
        },
    }
    bodies = {
        ("/fhir", "post"): bundle,
        ("/fhir/{resource_type}", "post"): resource,
        ("/fhir/{resource_type}/{resource_id}", "put"): resource,
    }
    for path, operations in raw["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "resource_type":
                    parameter["schema"] = {"type": "string", "enum": types}
            if (path, method) in bodies:
                content = {FHIR_JSON: {"schema": bodies[path, method]}}
                operation.setdefault("requestBody", {"required": True, "content": content})
    return raw


def test_api_conforms_and_never_fails(
    store: ResourceStore,
    auth_headers: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SONGKHOE_RATE_LIMIT_PER_MINUTE", "0")
    monkeypatch.setenv("SONGKHOE_EXPORT_DIR", str(tmp_path / "exports"))
    app = create_app(store=store)
    schema = schemathesis.openapi.from_dict(_with_fhir_contract(app.openapi()))
    schema.app = app
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @EXAMPLES
        @given(case=cases)
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers=dict(auth_headers), checks=[not_a_server_error, response_schema_conformance]
            )

        try:
            check()
        except Exception as exc:  # one report for all operations
            notes = "\n".join(getattr(exc, "__notes__", []))
            failures.append(f"{operation.label}: {type(exc).__name__}: {exc}\n{notes}")
    assert not failures, "\n\n".join(failures)
