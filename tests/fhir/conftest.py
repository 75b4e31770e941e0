"""Fixtures of the FHIR API tests: a live HTTP server, and the official R4 examples.

`fhir_base` is the /fhir URL of the live server (tests/conftest.py) over emptied tables.

`r4_examples` is the npm package hl7.fhir.r4.examples 4.0.1 (CC0), fetched with `npm pack` on the
first run, checked against its SHA-256, and kept in the pytest cache (`.pytest_cache`) for the
runs after; tests that need it are skipped, with the reason, when npm or the registry is missing.
"""

import hashlib
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from songkhoe.fhir.store import ResourceStore

EXAMPLES_PACKAGE = "hl7.fhir.r4.examples@4.0.1"
EXAMPLES_SHA256 = "dce87f1b5b9341867033f7d1f544fa1b5232503f6d62813887ac6b8a8b6cb682"
PLATFORM_TYPES = (
    "Patient", "Encounter", "Observation", "Condition", "MedicationRequest", "RiskAssessment",
    "ImagingStudy", "DiagnosticReport", "ServiceRequest", "Communication", "Task", "Flag",
    "AuditEvent", "Organization", "Location", "Practitioner",
)  # fmt: skip
WANTED = (  # the files of the package that the tests read
    *(f"package/{t}-" for t in PLATFORM_TYPES),
    *(f"package/StructureDefinition-{t}.json" for t in (*PLATFORM_TYPES, "Extension")),
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that takes `platform_type` runs once for each of the platform's resource types."""
    if "platform_type" in metafunc.fixturenames:
        metafunc.parametrize("platform_type", PLATFORM_TYPES)


@pytest.fixture(scope="session")
def platform_types() -> tuple[str, ...]:
    return PLATFORM_TYPES


@pytest.fixture
def fhir_base(live_server: str, store: ResourceStore) -> str:
    """The live server's FHIR base URL, its tables emptied for this test."""
    return f"{live_server}/fhir"


def _fetch_examples(folder: Path) -> Path:
    """Download the package into `folder` with npm and unpack the files the tests read."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: cannot fetch the R4 examples package")
    result = subprocess.run(
        [npm, "pack", EXAMPLES_PACKAGE, "--pack-destination", str(folder), "--silent"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    tarball = folder / "hl7.fhir.r4.examples-4.0.1.tgz"
    if result.returncode != 0 or not tarball.exists():
        pytest.skip(f"npm pack {EXAMPLES_PACKAGE} failed: {result.stderr.strip()[-300:]}")
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    if digest != EXAMPLES_SHA256:
        tarball.unlink()
        raise AssertionError(f"{tarball.name} has SHA-256 {digest}, expected {EXAMPLES_SHA256}")
    with tarfile.open(tarball) as archive:
        members = [m for m in archive.getmembers() if m.isfile() and m.name.startswith(WANTED)]
        archive.extractall(folder, members=members, filter="data")
    tarball.unlink()
    (folder / "complete").write_text("\n".join(WANTED))
    return folder / "package"


@pytest.fixture(scope="session")
def r4_examples(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The unpacked examples package: Observation-bmd.json, StructureDefinition-Patient.json, ..."""
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    name = "hl7.fhir.r4.examples-4.0.1"
    folder = cache.mkdir(name) if cache is not None else tmp_path_factory.mktemp(name)
    complete = folder / "complete"
    if complete.exists() and complete.read_text() == "\n".join(WANTED):
        return folder / "package"
    shutil.rmtree(folder / "package", ignore_errors=True)
    return _fetch_examples(folder)
