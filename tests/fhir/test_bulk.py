"""Bulk import and export (NDJSON, Bundles, `songkhoe fhir`) and the `$export` job functions."""

import re
import time
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from songkhoe.db.tables import metadata, resource
from songkhoe.fhir.bulk import (
    BulkImportError,
    delete_export,
    export_file_path,
    export_ndjson,
    export_status,
    import_files,
    start_export,
)
from songkhoe.fhir.commands import fhir
from songkhoe.fhir.outcomes import FhirError

SYNTHEA = Path(__file__).with_name("data") / "synthea_alberto_atencio.json"
FILES_URL = "https://songkhoe.example/fhir/$export-files"


def patient(pid: str, family: str = "Trần") -> dict:
    return {"resourceType": "Patient", "id": pid, "name": [{"family": family}], "gender": "female"}


def observation(oid: str, subject: str) -> dict:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
        "subject": {"reference": subject},
        "valueQuantity": {"value": 85, "unit": "mm[Hg]"},
    }


def write_ndjson(path: Path, *lines: dict | str) -> Path:
    text = "".join(
        (ln if isinstance(ln, str) else orjson.dumps(ln).decode()) + "\n" for ln in lines
    )
    path.write_text(text, encoding="utf-8")
    return path


def write_json(path: Path, content: dict) -> Path:
    path.write_bytes(orjson.dumps(content))
    return path


def without_meta(resources: list[dict]) -> list[dict]:
    return sorted(
        ({k: v for k, v in r.items() if k != "meta"} for r in resources),
        key=lambda r: (r["resourceType"], r["id"]),
    )


def live_resources(store) -> list[dict]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(resource.c.content).where(resource.c.is_current, ~resource.c.deleted)
        )
        return list(rows.scalars())


def empty(store) -> None:
    with store.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def cli(store, monkeypatch):
    """`songkhoe fhir ...` against the test store."""
    url = store.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("SONGKHOE_DATABASE_URL", url)
    return lambda *args: CliRunner().invoke(fhir, list(args))


def test_ndjson_import_keeps_ids_and_updates_existing_ones(store, tmp_path):
    path = write_ndjson(
        tmp_path / "data.ndjson",
        patient("p1"),
        "",
        patient("p2"),
        observation("o1", "Patient/p1"),
    )
    report = import_files(store, [path])
    assert (report.files, dict(report.counts)) == (1, {"Patient": 2, "Observation": 1})
    assert store.read("Observation", "o1")["subject"]["reference"] == "Patient/p1"
    write_ndjson(path, patient("p1", family="Lê"), patient("p3"))
    import_files(store, [path])
    assert store.read("Patient", "p1")["meta"]["versionId"] == "2"
    assert store.read("Patient", "p1")["name"] == [{"family": "Lê"}]
    assert store.count_by_type() == {"Observation": 1, "Patient": 3}


def test_collection_bundle_import_keeps_ids(store, tmp_path):
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": patient("p1")}, {"resource": observation("o1", "Patient/p1")}],
    }
    import_files(store, [write_json(tmp_path / "collection.json", bundle)])
    assert store.read("Observation", "o1")["subject"]["reference"] == "Patient/p1"


def test_transaction_bundle_import_resolves_references(store, tmp_path):
    new_patient = {k: v for k, v in patient("x").items() if k != "id"}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:9c0e",
                "resource": new_patient,
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": observation("o1", "urn:uuid:9c0e"),
                "request": {"method": "PUT", "url": "Observation/o1"},
            },
        ],
    }
    report = import_files(store, [write_json(tmp_path / "transaction.json", bundle)])
    assert dict(report.counts) == {"Patient": 1, "Observation": 1}
    (stored_patient,) = [r for r in live_resources(store) if r["resourceType"] == "Patient"]
    reference = store.read("Observation", "o1")["subject"]["reference"]
    assert reference == f"Patient/{stored_patient['id']}"


def test_a_bad_line_writes_nothing_of_its_file_and_is_reported(store, tmp_path, cli):
    invalid = {**patient("p3"), "birthDate": "not a date"}
    path = write_ndjson(tmp_path / "bad.ndjson", patient("p1"), patient("p2"), invalid)
    with pytest.raises(BulkImportError, match=rf"^{re.escape(str(path))}:3: .*birthDate"):
        import_files(store, [path])
    assert store.count_by_type() == {}
    write_ndjson(path, patient("p1"), "{not json")
    done = cli("import", str(path))
    assert done.exit_code == 2
    assert f"{path}:2: not JSON" in done.output
    assert store.count_by_type() == {}


def test_repeated_or_overlong_ids_are_refused(store, tmp_path):
    path = write_ndjson(tmp_path / "twice.ndjson", patient("p1"), patient("p1"))
    with pytest.raises(BulkImportError, match=r":2: Patient/p1 repeats 1$"):
        import_files(store, [path])
    write_ndjson(path, patient("p1"), patient("p2"), patient("x" * 65))
    with pytest.raises(BulkImportError, match=r":3: Patient.id is not a valid FHIR id"):
        import_files(store, [path])
    assert store.count_by_type() == {}


def test_export_then_import_round_trips(store, tmp_path, cli):
    store.create_many([patient("p1"), patient("p2"), observation("o1", "Patient/p1")])
    store.create(patient("gone"))
    store.delete("Patient", "gone")
    before = without_meta(live_resources(store))
    done = cli("export", "--out", str(tmp_path / "out"))
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "Observation.ndjson",
        "Patient.ndjson",
    ]
    empty(store)
    done = cli("import", str(tmp_path / "out"))
    assert done.exit_code == 0, done.output
    assert "imported 3 resources from 2 files" in done.output
    imported = live_resources(store)
    audits = [r for r in imported if r["resourceType"] == "AuditEvent"]
    assert len(audits) == 2, "one AuditEvent per file, written with it"
    assert without_meta([r for r in imported if r["resourceType"] != "AuditEvent"]) == before


def test_export_filters_by_type_and_since(store, tmp_path, cli):
    store.create_many([patient("p1"), observation("o1", "Patient/p1")])
    done = cli("export", "--out", str(tmp_path / "patients"), "--type", "Patient")
    assert done.exit_code == 0, done.output
    assert [p.name for p in (tmp_path / "patients").iterdir()] == ["Patient.ndjson"]
    later = store.create(patient("p2"))["meta"]["lastUpdated"]
    result = export_ndjson(store, tmp_path / "since", since="2000-01-01")
    assert result.counts == {"Observation": 1, "Patient": 2}
    result = export_ndjson(store, tmp_path / "none", since=later)
    assert result.counts == {}
    done = cli("export", "--out", str(tmp_path / "x"), "--type", "Patient,Unicorn")
    assert done.exit_code == 2
    assert "Unicorn" in done.output


def test_an_export_misses_no_write_of_its_time_that_commits_after_it(store, tmp_path):
    """A write stamped before an export reads, committed after, is not in that export; its
    transactionTime is then earlier than the write's stamp, so that the next export `_since`
    that time has it (export.html: the export SHALL include every resource modified up to
    and including transactionTime)."""
    store.create(patient("p1"))
    with store.transaction(begin_on_first_use=True) as writer:
        (late,) = writer.create_many([patient("late")], stage=True)
        first = export_ndjson(store, tmp_path / "first")
    assert first.counts == {"Patient": 1}
    assert first.transaction_time < late["meta"]["lastUpdated"]
    second = export_ndjson(store, tmp_path / "second", since=first.transaction_time)
    assert second.counts == {"Patient": 1}
    assert orjson.loads((tmp_path / "second" / "Patient.ndjson").read_bytes())["id"] == "late"
    settled = store.writes_in_flight.settled_until()
    assert export_ndjson(store, tmp_path / "third", since=settled).counts == {}


def wait_until_done(export_dir: Path, job_id: str):
    deadline = time.monotonic() + 20
    while (status := export_status(export_dir, job_id, files_base_url=FILES_URL)).state == (
        "in-progress"
    ):
        assert time.monotonic() < deadline, status
        time.sleep(0.02)
    return status


def test_bulk_export_job_from_start_to_delete(store, tmp_path):
    store.create_many([patient("p1"), patient("p2"), observation("o1", "Patient/p1")])
    export_dir = tmp_path / "exports"
    request = "https://songkhoe.example/fhir/$export?_type=Patient"
    job_id = start_export(
        store, export_dir=export_dir, types=["Patient"], since=None, request_url=request
    )
    status = wait_until_done(export_dir, job_id)
    assert status.state == "complete", status
    manifest = status.manifest
    assert manifest["request"] == request
    assert manifest["requiresAccessToken"] is True
    assert manifest["error"] == []
    assert manifest["output"] == [
        {"type": "Patient", "url": f"{FILES_URL}/{job_id}/Patient.ndjson", "count": 2}
    ]
    lines = export_file_path(export_dir, job_id, "Patient.ndjson").read_bytes().splitlines()
    assert sorted(orjson.loads(line)["id"] for line in lines) == ["p1", "p2"]
    delete_export(export_dir, job_id)
    with pytest.raises(FhirError) as caught:
        export_status(export_dir, job_id, files_base_url=FILES_URL)
    assert caught.value.status == 404


def test_bulk_export_refuses_bad_parameters_and_paths(store, tmp_path):
    with pytest.raises(FhirError) as caught:
        start_export(store, export_dir=tmp_path, types=None, since="yesterday", request_url="x")
    assert caught.value.status == 400
    store.create(patient("p1"))
    job_id = start_export(store, export_dir=tmp_path, types=None, since=None, request_url="x")
    wait_until_done(tmp_path, job_id)
    (tmp_path / "secret.ndjson").write_text("{}\n")
    for job, name in [
        (job_id, "../secret.ndjson"),
        (job_id, "status.json"),
        (job_id, "/etc/passwd"),
        (job_id, "Observation.ndjson"),
        ("..", "secret.ndjson"),
        (f"{job_id}/..", "secret.ndjson"),
    ]:
        with pytest.raises(FhirError) as caught:
            export_file_path(tmp_path, job, name)
        assert caught.value.status == 404


def test_synthea_transaction_bundle_imports_with_every_reference_resolved(store):
    report = import_files(store, [SYNTHEA])
    assert report.files == 1 and report.resources == 76
    stored = live_resources(store)
    assert len(stored) == report.resources
    keys = {(r["resourceType"], r["id"]) for r in stored}
    references = re.findall(rb'"reference":"([^"#][^"]*)"', orjson.dumps(stored))
    assert references
    for reference in references:
        resource_type, resource_id = reference.decode().split("/")
        assert (resource_type, resource_id) in keys, reference
