"""The official R4 examples (hl7.fhir.r4.examples 4.0.1) of the platform's resource types go through
the HTTP API unchanged: PUT /fhir/Type/id (the examples reference each other by id), then GET.

Every example must be accepted and come back equal to what was sent, except `meta` (the server sets
versionId and lastUpdated). An example that is genuinely invalid R4 goes on INVALID_EXAMPLES with
the reason; the list is exact: an example on it that is accepted fails the test, as does one off it
that is refused.
"""

import json
from pathlib import Path

import httpx

from songkhoe.fhir.indexing import extract
from songkhoe.fhir.validation import validate

# file name -> why the example is not valid R4 (none so far: every example of these types passes).
INVALID_EXAMPLES: dict[str, str] = {}
EXPECTED_COUNTS = {"Patient": 22, "Observation": 64, "MedicationRequest": 40}


def _examples(package: Path, resource_type: str) -> dict[str, dict]:
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(package.glob(f"{resource_type}-*.json"))
    }


SERVER_WRITTEN = {"AuditEvent"}


def _less_meta(resource: dict) -> dict:
    return {k: v for k, v in resource.items() if k != "meta"}


def test_examples_round_trip_through_the_api(
    fhir_base: str, auth_headers: dict[str, str], r4_examples: Path, platform_type: str, store
) -> None:
    resource_type = platform_type
    examples = _examples(r4_examples, resource_type)
    assert len(examples) == EXPECTED_COUNTS.get(resource_type, len(examples)) > 0
    unexpected: list[str] = []
    headers = {"Accept": "application/fhir+json", **auth_headers}
    with httpx.Client(base_url=fhir_base, headers=headers) as client:
        for name, example in examples.items():
            assert example["resourceType"] == resource_type, name
            url = f"/{resource_type}/{example['id']}"
            put = client.put(url, json=example, headers={"Content-Type": "application/fhir+json"})
            if resource_type in SERVER_WRITTEN:
                # the API refuses every write of an audit record; the store takes it as is
                assert put.status_code == 403, put.text
                store.update(example)
            elif name in INVALID_EXAMPLES:
                if put.status_code != 400:
                    unexpected.append(f"{name}: on INVALID_EXAMPLES but got {put.status_code}")
                continue
            elif put.status_code not in (200, 201):
                unexpected.append(f"{name}: PUT {put.status_code} {put.text[:300]}")
                continue
            got = client.get(url)
            if got.status_code != 200 or _less_meta(got.json()) != _less_meta(example):
                unexpected.append(f"{name}: GET {got.status_code} differs from what was PUT")
    assert not unexpected, "\n".join(unexpected)


def test_every_example_validates_and_indexes(
    r4_examples: Path, platform_types: tuple[str, ...]
) -> None:
    """The validator and the search-index extraction (run on every write) accept them all."""
    stamp = {"versionId": "1", "lastUpdated": "2020-01-01T00:00:00Z"}
    for resource_type in platform_types:
        for name, example in _examples(r4_examples, resource_type).items():
            if name not in INVALID_EXAMPLES:
                validate(example)
                extract({**example, "meta": stamp})
