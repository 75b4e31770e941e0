"""Bulk import and export: NDJSON files and Bundles in, one NDJSON file per resource type out, and
the Bulk Data `$export` operation (http://hl7.org/fhir/uv/bulkdata/STU1.0.1/export.html).

Import is all-or-nothing per file. An NDJSON file holds one resource per line
(http://hl7.org/fhir/uv/bulkdata/STU1.0.1/export.html#file-format); a JSON file holds a Bundle (a
transaction is processed as one, the resources of a collection or searchset are imported keeping
their ids) or a single resource. Resources keep their ids: an id the store holds gets a new version,
a new id is created; a resource without an id gets a new one. The transaction of a file also
records it, by the SHA-256 of its content (`import_batch`), and can write its AuditEvent: an
import run again, after a failure or a kill, skips the files that were committed instead of
writing their resources twice.

Export streams the current versions from the database (never the whole store in memory) into
files that appear under their final names only once complete. `$export` jobs run in a background
thread and keep their state on disk, `EXPORT_DIR/JOB_ID/status.json`, so that a job's result
outlives a restart of the server.
"""

import hashlib
import logging
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import Connection, Engine, Text, cast, insert, select
from sqlalchemy.exc import IntegrityError

from songkhoe.db.engine import reading
from songkhoe.db.tables import import_batch
from songkhoe.db.tables import resource as resource_table
from songkhoe.fhir.bundles import CreateFailed, create_all, process_bundle
from songkhoe.fhir.indexing import date_range
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.searchparams import resource_types
from songkhoe.fhir.store import ResourceStore, StoreError, Writer, new_id
from songkhoe.fhir.validation import validate

logger = logging.getLogger(__name__)

CHUNK = 2000  # resources written per statement batch; bounds the memory an import holds
IMPORT_SUFFIXES = (".ndjson", ".json")
BUNDLE_RESOURCE_TYPES = ("collection", "searchset")
_JOB_ID = re.compile(r"[0-9a-f]{32}")
_FILE_NAME = re.compile(r"[A-Z][A-Za-z]{1,63}\.ndjson")
_STATUS = "status.json"

# --- import -------------------------------------------------------------------------------


class BulkImportError(ValueError):
    """A file that cannot be imported; the message starts with `FILE:LINE:` or `FILE:`."""


@dataclass(frozen=True, slots=True)
class ImportedFile:
    """A file that an import committed, as `import_batch` records it."""

    path: str  # as it was given to the import
    sha256: str  # of its content (hex)
    counts: dict[str, int]  # resources written per type
    imported: str  # when (the store's timestamp)


@dataclass(slots=True)
class ImportReport:
    files: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    # the files skipped, each with the earlier import of the same content
    skipped: list[tuple[Path, ImportedFile]] = field(default_factory=list)

    @property
    def resources(self) -> int:
        return sum(self.counts.values())


Audit = Callable[[ImportedFile], dict]  # the AuditEvent of a file's import
_Record = Callable[[Writer, Counter[str]], None]  # records a file in its transaction


def import_files(
    store: ResourceStore, paths: Iterable[Path], *, audit: Audit | None = None
) -> ImportReport:
    """Import NDJSON and Bundle files (a directory: its files with an import suffix, in name
    order), each in a transaction of its own, which records the file and writes `audit(file)`
    if given; a file with the content of one imported before is skipped."""
    files = list(_expand(paths))
    report = ImportReport()
    started = time.perf_counter()
    for path in files:
        digest = _sha256(path)
        earlier = _imported(store.engine, digest)
        if earlier is not None:
            report.skipped.append((path, earlier))
            continue
        report.counts += _import_file(store, path, _recorder(path, digest, audit))
        report.files += 1
    store.analyze()
    report.seconds = time.perf_counter() - started
    return report


def _sha256(path: Path) -> str:
    try:
        with path.open("rb") as stream:
            return hashlib.file_digest(stream, "sha256").hexdigest()
    except OSError as exc:
        raise BulkImportError(f"{path}: {exc.strerror}") from None


def _imported(engine: Engine, digest: str) -> ImportedFile | None:
    """The import that committed a file with this content, if any."""
    with reading(engine) as conn:
        row = conn.execute(select(import_batch).where(import_batch.c.sha256 == digest)).first()
    return None if row is None else ImportedFile(row.path, row.sha256, row.counts, row.imported)


def _recorder(path: Path, digest: str, audit: Audit | None) -> _Record:
    """What records the file in the transaction of its resources (`import_batch`), with its
    AuditEvent if `audit`; the same content committed meanwhile by another import fails it."""

    def record(writer: Writer, counts: Counter[str]) -> None:
        imported = ImportedFile(str(path), digest, dict(counts), writer.timestamp)
        row = {
            "sha256": digest,
            "path": imported.path,
            "counts": imported.counts,
            "imported": imported.imported,
        }
        try:
            writer.conn.execute(insert(import_batch).values(row))
        except IntegrityError:
            raise BulkImportError(
                f"{path}: the same content was imported meanwhile by another import"
            ) from None
        if audit is not None:
            writer.create_many([audit(imported)], check=False, stage=True)

    return record


def _expand(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.name.endswith(IMPORT_SUFFIXES))
        elif path.name.endswith(IMPORT_SUFFIXES):
            yield path
        else:
            raise BulkImportError(f"{path}: not a file ending in {', '.join(IMPORT_SUFFIXES)}")


def _import_file(store: ResourceStore, path: Path, record: _Record) -> Counter[str]:
    try:
        if path.suffix == ".ndjson":
            with path.open("rb") as stream:
                return _import_resources(store, path, _ndjson_lines(path, stream), record)
        content = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise BulkImportError(f"{path}: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise BulkImportError(f"{path}: not JSON: {exc}") from None
    if not isinstance(content, dict) or content.get("resourceType") != "Bundle":
        return _import_resources(store, path, [("1", content)], record)
    kind = content.get("type")
    if kind == "transaction":
        counts: Counter[str] = Counter()

        def then(writer: Writer, _response: dict) -> None:
            counts.update(
                e["resource"]["resourceType"]
                for e in content["entry"]
                if e["request"]["method"] in ("POST", "PUT")
            )
            record(writer, counts)

        try:
            process_bundle(store, content, base_url="", then=then)
        except FhirError as exc:
            raise BulkImportError(f"{path}: {exc}") from None
        return counts
    if kind not in BUNDLE_RESOURCE_TYPES:
        raise BulkImportError(
            f"{path}: a {kind!r} Bundle cannot be imported (transaction, collection or searchset)"
        )
    entries = content.get("entry", [])
    if not isinstance(entries, list):
        raise BulkImportError(f"{path}: Bundle.entry must be an array")
    return _import_resources(
        store,
        path,
        (
            (f"Bundle.entry[{i}].resource", e.get("resource") if isinstance(e, dict) else None)
            for i, e in enumerate(entries)
        ),
        record,
    )


def _ndjson_lines(path: Path, stream: IO[bytes]) -> Iterator[tuple[str, Any]]:
    """(line number, parsed JSON) of the non-blank lines."""
    for number, line in enumerate(stream, 1):
        if line.strip():
            try:
                yield str(number), orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise BulkImportError(f"{path}:{number}: not JSON: {exc}") from None


def _checked(path: Path, where: str, res: Any) -> dict:
    """The resource, validated, with an id (its own or a new one)."""
    if not isinstance(res, dict):
        raise BulkImportError(f"{path}:{where}: not a FHIR resource (a JSON object)")
    try:
        validate(res)
    except FhirError as exc:
        raise BulkImportError(f"{path}:{where}: {exc}") from None
    return res if "id" in res else {**res, "id": new_id()}


def _import_resources(
    store: ResourceStore, path: Path, items: Iterable[tuple[str, Any]], record: _Record
) -> Counter[str]:
    """Write the resources of one file in one transaction, CHUNK at a time, and `record` it."""
    counts: Counter[str] = Counter()
    seen: dict[tuple[str, str], str] = {}
    chunk: list[tuple[str, dict]] = []
    with store.transaction() as writer:
        for where, raw in items:
            res = _checked(path, where, raw)
            key = (res["resourceType"], res["id"])
            first = seen.setdefault(key, where)
            if first != where:
                raise BulkImportError(f"{path}:{where}: {key[0]}/{key[1]} repeats {first}")
            chunk.append((where, res))
            counts[key[0]] += 1
            if len(chunk) == CHUNK:
                _upsert(writer, path, chunk)
                chunk = []
        _upsert(writer, path, chunk)
        record(writer, counts)
    return counts


def _existing(conn: Connection, resources: Sequence[dict]) -> set[tuple[str, str]]:
    """The (type, id) of those resources the store already holds (live or deleted), one query
    per resource type."""
    ids: dict[str, list[str]] = {}
    for res in resources:
        ids.setdefault(res["resourceType"], []).append(res["id"])
    found: set[tuple[str, str]] = set()
    for resource_type, type_ids in ids.items():
        rows = conn.execute(
            select(resource_table.c.res_id).where(
                resource_table.c.res_type == resource_type,
                resource_table.c.res_id.in_(type_ids),
                resource_table.c.is_current,
            )
        )
        found.update((resource_type, res_id) for (res_id,) in rows)
    return found


def _upsert(writer: Writer, path: Path, chunk: Sequence[tuple[str, dict]]) -> None:
    """Create the new ids in bulk; write a new version of the ids the store already holds."""
    existing = _existing(writer.conn, [res for _, res in chunk])
    new = [(w, r) for w, r in chunk if (r["resourceType"], r["id"]) not in existing]
    try:
        create_all(writer, [res for _, res in new])
    except CreateFailed as exc:
        raise BulkImportError(f"{path}:{new[exc.index][0]}: {exc.cause}") from None
    for where, res in chunk:
        if (res["resourceType"], res["id"]) in existing:
            try:
                writer.update(res)
            except StoreError as exc:
                raise BulkImportError(f"{path}:{where}: {exc}") from None


# --- export -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportResult:
    transaction_time: str
    counts: dict[str, int]  # resources written per type; a type with none has no file


Progress = Callable[[str, int], None]  # (resource type being written, resources written so far)


def export_filters(
    types: Sequence[str] | None, since: str | None
) -> tuple[list[str] | None, str | None]:
    """Checked `_type` and `_since` (export.html#query-parameters): known resource types, and
    the instant as the store's UTC timestamp. Raises FhirError 400."""
    checked_types = None
    if types is not None:
        unknown = sorted(set(types) - resource_types()) if types else ["(none given)"]
        if unknown:
            raise FhirError.single(
                400, "invalid", f"_type: unknown resource types: {', '.join(unknown)}", "_type"
            )
        checked_types = sorted(set(types))
    try:
        since_timestamp = None if since is None else date_range(since)[0]
    except ValueError as exc:
        raise FhirError.single(400, "invalid", f"_since: {exc}", "_since") from None
    return checked_types, since_timestamp


def export_ndjson(
    store: ResourceStore,
    out_dir: Path,
    *,
    types: Sequence[str] | None = None,
    since: str | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Write the current version of every live resource (of `types`, changed after `since`) to
    `out_dir/TYPE.ndjson`, one resource per line.

    Every export, from the command line or `$export`, goes through here: this is the one place
    where the check that only an administrator may export identifiable data will go.
    """
    checked_types, since_timestamp = export_filters(types, since)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=out_dir))
    try:
        result = _write_ndjson(store, staging, checked_types, since_timestamp, progress)
        for resource_type in result.counts:
            name = f"{resource_type}.ndjson"
            os.replace(staging / name, out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


def _write_ndjson(
    store: ResourceStore,
    staging: Path,
    types: list[str] | None,
    since: str | None,
    progress: Progress | None,
) -> ExportResult:
    """Stream the resources, ordered by type, into one file per type; the JSON text goes from
    the database to the file without being parsed."""
    query = select(resource_table.c.res_type, cast(resource_table.c.content, Text)).where(
        resource_table.c.is_current, ~resource_table.c.deleted
    )
    if types is not None:
        query = query.where(resource_table.c.res_type.in_(types))
    if since is not None:
        query = query.where(resource_table.c.last_updated > since)
    query = query.order_by(resource_table.c.res_type, resource_table.c.res_id)
    counts: dict[str, int] = {}
    out: IO[bytes] | None = None
    transaction_time = store.writes_in_flight.settled_until()  # before the read's snapshot
    with store.engine.connect() as conn, conn.begin():
        try:
            for resource_type, text in conn.execution_options(yield_per=CHUNK).execute(query):
                if resource_type not in counts:
                    if out is not None:
                        out.close()
                    out = (staging / f"{resource_type}.ndjson").open("wb")
                    counts[resource_type] = 0
                out.write(text.encode())
                out.write(b"\n")
                counts[resource_type] += 1
                if progress is not None and counts[resource_type] % CHUNK == 0:
                    progress(resource_type, sum(counts.values()))
        finally:
            if out is not None:
                out.close()
    return ExportResult(transaction_time, counts)


# --- $export jobs (http://hl7.org/fhir/uv/bulkdata/STU1.0.1/export.html) ---------------------


@dataclass(frozen=True, slots=True)
class ExportStatus:
    """A job's state: `in-progress` (with `progress`, for X-Progress), `complete` (with the
    `manifest`, export.html#response---complete-status) or `error` (with `error`)."""

    state: str
    progress: str | None = None
    manifest: dict | None = None
    error: str | None = None


def _not_found(what: str) -> FhirError:
    return FhirError.single(404, "not-found", f"{what} does not exist")


def _job_dir(export_dir: Path, job_id: str) -> Path:
    if not _JOB_ID.fullmatch(job_id) or not (export_dir / job_id / _STATUS).is_file():
        raise _not_found(f"export job {job_id!r}")
    return export_dir / job_id


def _write_status(job_dir: Path, status: dict) -> None:
    """Replace status.json atomically (write a temporary file, then rename)."""
    temporary = job_dir / f".{_STATUS}.tmp"
    temporary.write_bytes(orjson.dumps(status))
    os.replace(temporary, job_dir / _STATUS)


def _read_status(job_dir: Path) -> dict:
    return orjson.loads((job_dir / _STATUS).read_bytes())


def start_export(
    store: ResourceStore,
    *,
    export_dir: Path,
    types: list[str] | None,
    since: str | None,
    request_url: str,
) -> str:
    """Check the parameters (FhirError 400), record a new job and run it in a background
    thread; returns the job id (export.html#response---kick-off-request)."""
    export_filters(types, since)
    job_id = uuid.uuid4().hex
    job_dir = export_dir / job_id
    job_dir.mkdir(parents=True)
    status = {
        "state": "in-progress",
        "progress": "starting",
        "request": request_url,
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }
    _write_status(job_dir, status)
    thread = threading.Thread(
        target=_run_export,
        args=(store, job_dir, status, types, since),
        name=f"export-{job_id}",
        daemon=True,
    )
    thread.start()
    return job_id


def _run_export(
    store: ResourceStore,
    job_dir: Path,
    status: dict,
    types: list[str] | None,
    since: str | None,
) -> None:
    def progress(resource_type: str, written: int) -> None:
        _write_status(job_dir, {**status, "progress": f"{written:,} resources ({resource_type})"})

    try:
        result = export_ndjson(store, job_dir, types=types, since=since, progress=progress)
        outcome = {
            "state": "complete",
            "transactionTime": result.transaction_time,
            "output": [{"type": t, "count": n} for t, n in result.counts.items()],
        }
    except Exception as exc:
        if not job_dir.exists():  # deleted (cancelled) while running
            return
        logger.exception("export job %s failed", job_dir.name)
        message = str(exc) if isinstance(exc, FhirError | StoreError) else type(exc).__name__
        outcome = {"state": "error", "error": f"the export failed: {message}"}
    with suppress(FileNotFoundError):  # deleted meanwhile
        _write_status(job_dir, {**status, **outcome, "progress": None})


def _interrupted(status: dict) -> bool:
    """An in-progress job whose process, on this host, is gone: the server stopped mid-export."""
    if status["host"] != socket.gethostname():
        return False
    try:
        os.kill(status["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def export_status(export_dir: Path, job_id: str, *, files_base_url: str) -> ExportStatus:
    """The job's status (export.html#bulk-data-status-request); the manifest's file urls are
    `files_base_url/JOB_ID/TYPE.ndjson` (see `export_file_path`). Unknown job: FhirError 404."""
    status = _read_status(_job_dir(export_dir, job_id))
    if status["state"] == "in-progress":
        if _interrupted(status):
            return ExportStatus("error", error="the export was interrupted; start a new one")
        return ExportStatus("in-progress", progress=status["progress"])
    if status["state"] == "error":
        return ExportStatus("error", error=status["error"])
    base = f"{files_base_url.rstrip('/')}/{job_id}"
    manifest = {
        "transactionTime": status["transactionTime"],
        "request": status["request"],
        "requiresAccessToken": True,
        "output": [
            {"type": out["type"], "url": f"{base}/{out['type']}.ndjson", "count": out["count"]}
            for out in status["output"]
        ],
        "error": [],
    }
    return ExportStatus("complete", manifest=manifest)


def export_file_path(export_dir: Path, job_id: str, name: str) -> Path:
    """The path of one output file of a job (`Patient.ndjson`); any other name, path traversal
    included, or a file not (yet) written: FhirError 404."""
    job_dir = _job_dir(export_dir, job_id)
    path = job_dir / name
    if not _FILE_NAME.fullmatch(name) or not path.is_file():
        raise _not_found(f"export file {name!r}")
    return path


def delete_export(export_dir: Path, job_id: str) -> None:
    """Delete a job and its files, cancelling it if it runs (export.html#delete-request). The job
    directory is renamed first, so a running export cannot write into it any more."""
    job_dir = _job_dir(export_dir, job_id)
    doomed = export_dir / f".deleted-{job_id}"
    os.replace(job_dir, doomed)
    shutil.rmtree(doomed, ignore_errors=True)
