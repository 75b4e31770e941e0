"""Export a facility's or province's claims: one signed GIAMDINHHS envelope per claimable visit,
written as <MA_LK>.xml, each checked before it is written, and each claim's FHIR Claim recorded
(``claims.submissions``) so that the accountant's page and `songkhoe bhyt send` know it.

Per visit (``claim_outcome``): ``claims.claimable.not_claimable`` (a legal reason to skip it);
the amounts (``claims.benefit.visit_amounts``); the rows (``claims.tables``); the envelope
(``claims.envelope``); ``claims.check`` on it, every rule but the signature's; then the
facility's signature (``claims.signing``). The signature is not verified again per claim: the
signer refuses a certificate that is not its key's, and the tests verify what it signs with the
certificate and with signxml (re-verifying took a fifth of the time per claim). A claim with a
failing problem is
not written: its lines are reported and its Claim says it failed the check, as do visits whose
data cannot be priced or written (a ``ValueError`` naming the fault). A file is written whole or
not at all (``songkhoe.files``). The claims of a batch are made by ``jobs`` processes (building,
signing and checking take a core each; the store is read and written by this process only).

Reading a visit reads a person's records, so the export is audited: ``audit`` is called with
each batch of visits read, before their claims are made; ``read_audit_event`` is its AuditEvent
(``songkhoe.auth.audit``), naming each Patient and Encounter, purpose HPAYMT (v3 ActReason
"healthcare payment": operations for payment for the provision of care).
"""

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from itertools import islice
from pathlib import Path

from songkhoe.auth.audit import RequestContext, audit_event
from songkhoe.auth.models import Principal
from songkhoe.claims.benefit import visit_amounts
from songkhoe.claims.check import check_file
from songkhoe.claims.claimable import not_claimable
from songkhoe.claims.envelope import envelope
from songkhoe.claims.signing import Signer
from songkhoe.claims.submissions import claim_resource, rows_digest
from songkhoe.claims.tables import ClaimError, ClaimRows, claim_rows
from songkhoe.claims.visit import Visit
from songkhoe.files import atomic_text_file

AUDIT_BATCH = 1000
"""Visits named by one AuditEvent: a district month (~30,000 visits) is ~30 events."""

PAYMENT_PURPOSE = "HPAYMT"

_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,99}")
"""A MA_LK usable as a file name: a FHIR id ([A-Za-z0-9.-]{1,64}) not starting with a dot."""


@dataclass(frozen=True)
class Outcome:
    """What became of one visit: its signed, checked envelope (``content``), or the legal
    reason it is not claimed (``skipped``), or the lines saying why it could not be (``errors``:
    ``file, MA_LK, table, field: message``, as ``songkhoe bhyt check`` prints them); ``rows``
    whenever they could be made."""

    key: str
    content: bytes | None = None
    skipped: str | None = None
    errors: tuple[str, ...] = ()
    rows: ClaimRows | None = None


@dataclass
class ExportReport:
    """Claims written, visits skipped by reason, and the error lines of the claims not written."""

    written: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Identity:
    """The facility's signing key and certificate (PEM), as each process needs them."""

    key_pem: bytes
    cert_pem: bytes


def claim_outcome(visit: Visit, signer: Signer, made_on: date) -> Outcome:
    """The visit's claim, checked and then signed by `signer`, or why there is none."""
    key = visit.claim_key
    name = f"{key}.xml"
    if not _FILE_NAME.fullmatch(key):
        return Outcome(
            key, errors=(f"{key!r}: MA_LK cannot be a file name (a FHIR id is expected)",)
        )
    rows = None
    try:
        reason = not_claimable(visit)
        if reason is not None:
            return Outcome(key, skipped=reason)
        rows = claim_rows(visit, visit_amounts(visit))
        unsigned = envelope(visit.facility.code, made_on, [rows])
    except ClaimError as exc:
        return Outcome(key, errors=(f"{name}, {exc}",), rows=rows)
    except ValueError as exc:  # claims.benefit's: data that cannot be priced
        return Outcome(key, errors=(f"{name}, {key}, -, -: {exc}",), rows=rows)
    failing = tuple(p.line() for p in check_file(name, unsigned) if p.fails)
    if failing:
        return Outcome(key, errors=failing, rows=rows)
    return Outcome(key, content=signer.sign(unsigned), rows=rows)


@dataclass(frozen=True)
class _Job:
    identity: Identity
    made_on: date
    folder: Path
    built: datetime


@dataclass(frozen=True)
class _Made:
    """One visit's part of the report, and its Claim (None for a visit skipped)."""

    written: bool
    skipped: str | None
    errors: tuple[str, ...]
    claim: dict | None


def _make(visit: Visit, signer: Signer, job: _Job) -> _Made:
    """The visit's claim made, its file written, and its Claim."""
    outcome = claim_outcome(visit, signer, job.made_on)
    if outcome.skipped is not None:
        return _Made(False, outcome.skipped, (), None)
    built_rows = outcome.rows if outcome.content is not None else None
    if outcome.content is not None:
        with atomic_text_file(job.folder / f"{outcome.key}.xml") as handle:
            handle.write(outcome.content.decode())
    digest = rows_digest(built_rows) if built_rows is not None else None
    claim = claim_resource(visit, outcome.rows, digest, outcome.errors, job.built)
    return _Made(outcome.content is not None, None, outcome.errors, claim)


_signer: Signer | None = None  # a worker process's, made once by `_start_worker`


def _start_worker(identity: Identity) -> None:
    global _signer
    _signer = Signer(identity.key_pem, identity.cert_pem)


def _make_in_worker(job: _Job, visits: list[Visit]) -> list[_Made]:
    assert _signer is not None, "_start_worker runs first in each worker"
    return [_make(visit, _signer, job) for visit in visits]


def export_claims(
    visits: Iterable[Visit],
    folder: Path,
    identity: Identity,
    *,
    made_on: date,
    audit: Callable[[Sequence[Visit]], None],
    record: Callable[[list[dict]], None],
    jobs: int = 1,
) -> ExportReport:
    """Write each claimable visit's claim as FOLDER/<MA_LK>.xml, replacing an earlier one, and
    `record` the Claims of each batch (built, or failed with their lines)."""
    report = ExportReport()
    signer = Signer(identity.key_pem, identity.cert_pem)
    pool = (
        ProcessPoolExecutor(jobs, initializer=_start_worker, initargs=(identity,))
        if jobs > 1
        else None
    )
    try:
        for batch in _batches(visits, AUDIT_BATCH):
            audit(batch)
            folder.mkdir(parents=True, exist_ok=True)
            job = _Job(identity, made_on, folder, datetime.now(UTC))
            if pool is None:
                made = [_make(visit, signer, job) for visit in batch]
            else:  # a share of the batch per process; the results come back in order
                shares = [batch[i::jobs] for i in range(jobs)]
                parts = list(pool.map(partial(_make_in_worker, job), shares))
                made = [parts[i % jobs][i // jobs] for i in range(len(batch))]
            record(_counted(made, report))
    finally:
        if pool is not None:
            pool.shutdown()
    return report


def _counted(made: Sequence[_Made], report: ExportReport) -> list[dict]:
    """Add the batch to the report; the batch's Claims."""
    for one in made:
        report.written += one.written
        if one.skipped is not None:
            report.skipped[one.skipped] += 1
        report.errors.extend(one.errors)
    return [one.claim for one in made if one.claim is not None]


def _batches(visits: Iterable[Visit], size: int) -> Iterator[list[Visit]]:
    iterator = iter(visits)
    while batch := list(islice(iterator, size)):
        yield batch


def read_audit_event(principal: Principal, visits: Sequence[Visit], description: str) -> dict:
    """The AuditEvent of reading `visits` for claims: each Patient and Encounter named once."""
    references: list[str] = []
    for visit in visits:
        references += [f"Patient/{visit.person.id}", f"Encounter/{visit.encounter_id}"]
    return audit_event(
        principal=principal,
        context=RequestContext(address=None, purpose=PAYMENT_PURPOSE),
        interaction="search-type",
        outcome="success",
        references=list(dict.fromkeys(references)),
        description=description,
    )
