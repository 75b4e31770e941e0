"""Recording the claims an export made, and sending them to the BHXH gateway with each answer
recorded (`claims.submissions` says how, as FHIR Claim and ClaimResponse).

A file of the export is sent when its Claim is built and not yet received: never sent, sent with
no answer (the gateway takes a claim sent again under the same MA_LK as the same claim), or
refused and since corrected (its tables' digest differs from the one refused). A file whose
tables are not those its Claim records (an older export's) is not sent. A facility whose BHYT
code is synthetic (`claims.providers`) sends nothing unless told it is a stand-in gateway.

Writes are audited like the export's reads: one AuditEvent per batch of Claims written, and one
per claim sent, purpose HPAYMT.
"""

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

from songkhoe.auth.audit import RequestContext, audit_event, command_line_principal, record
from songkhoe.claims.gateway import GatewayClient, NoAnswer, Sender
from songkhoe.claims.providers import is_synthetic
from songkhoe.claims.submissions import (
    EXT_CLAIM_SHA256,
    State,
    claim_id,
    extension_values,
    response_resource,
    same_claim,
    standing,
    tables_digest,
)
from songkhoe.fhir.queries import live, referencing
from songkhoe.fhir.store import ResourceStore

PAYMENT_PURPOSE = "HPAYMT"


class SendError(Exception):
    """Sending must stop: the message says why (nothing more is sent)."""


def _audit(store: ResourceStore, interaction: str, references: list[str], what: str) -> None:
    record(
        store,
        audit_event(
            principal=command_line_principal(),
            context=RequestContext(address=None, purpose=PAYMENT_PURPOSE),
            interaction=interaction,
            outcome="success",
            references=references,
            description=what,
        ),
    )


def record_claims(store: ResourceStore, claims: list[dict]) -> None:
    """Write the Claims that changed (an export run twice adds no versions), audited."""
    if not claims:
        return
    with store.engine.connect() as conn:
        ids = [c["id"] for c in claims]
        stored = {c["id"]: c for c in conn.execute(live("Claim", ids)).scalars()}
    changed = [c for c in claims if c["id"] not in stored or not same_claim(stored[c["id"]], c)]
    if not changed:
        return
    with store.transaction() as writer:
        for claim in changed:
            writer.update(claim)
    references = [f"Claim/{c['id']}" for c in changed]
    _audit(store, "update", references, f"songkhoe bhyt export: {len(changed)} Claims recorded")


@dataclass
class SendReport:
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    unanswered: int = 0
    unchanged: int = 0


def envelope_tables(content: bytes) -> tuple[str, list[tuple[str, bytes]]]:
    """The facility code (MACSKCB) of an envelope of one claim and its (LOAIHOSO, table XML)
    pairs; ValueError naming what is wrong."""
    if b"<!DOCTYPE" in content:
        raise ValueError("a DOCTYPE is not allowed in a claim")
    try:
        root = ElementTree.fromstring(content)
        records = root.findall("THONGTINHOSO/DANHSACHHOSO/HOSO")
        if len(records) != 1:
            raise ValueError(f"{len(records)} HOSO, not 1")
        tables = [
            (item.findtext("LOAIHOSO", ""), base64.b64decode(item.findtext("NOIDUNGFILE", "")))
            for item in records[0].iterfind("FILEHOSO")
        ]
    except (ElementTree.ParseError, binascii.Error) as exc:
        raise ValueError(f"not a readable claims envelope ({exc})") from None
    return root.findtext("THONGTINDONVI/MACSKCB", ""), tables


def send_claims(
    store: ResourceStore,
    files: Sequence[Path],
    gateway: GatewayClient,
    *,
    allow_synthetic: bool,
    echo: Callable[[str], None],
) -> SendReport:
    """Send each file whose claim is due (see the module's docstring), one line each."""
    report = SendReport()
    for path in files:
        claim = _live_one(store, "Claim", claim_id(path.stem))
        if claim is None:
            echo(f"{path.name}: no Claim recorded for it: export it with `songkhoe bhyt export`")
            report.unchanged += 1
            continue
        try:
            facility, tables = envelope_tables(path.read_bytes())
        except (OSError, ValueError) as exc:
            echo(f"{path.name}: {exc}")
            report.unchanged += 1
            continue
        digest = tables_digest(tables)
        if extension_values(claim, EXT_CLAIM_SHA256) != [digest]:
            echo(f"{path.name}: not the claim recorded (an older export?): export again")
            report.unchanged += 1
            continue
        with store.engine.connect() as conn:
            answered = referencing("ClaimResponse", "request", [claim["id"]], "Claim")
            responses = list(conn.execute(live("ClaimResponse", answered)).scalars())
        state = standing(claim, responses).state
        if state in (State.ACCEPTED, State.REJECTED):  # refused as it is: correct it first
            report.unchanged += 1
            continue
        _refuse_synthetic(store, claim, allow_synthetic)
        try:
            answer = gateway.send_claim(path.read_bytes(), Sender(facility, facility[:2]))
        except NoAnswer as exc:
            answer = None
            echo(f"{path.name}: {exc}")
        response = store.create(response_resource(claim, answer, digest, datetime.now(UTC)))
        _audit(store, "create", [f"Claim/{claim['id']}", f"ClaimResponse/{response['id']}"],
               f"songkhoe bhyt send {path.name}")  # fmt: skip
        report.sent += 1
        if answer is None:
            report.unanswered += 1
        elif answer.accepted:
            report.accepted += 1
            echo(f"{path.name}: {answer.code} {answer.transaction} {answer.message}")
        else:
            report.rejected += 1
            echo(f"{path.name}: {answer.code} {answer.transaction} {answer.message}")
    return report


def _live_one(store: ResourceStore, resource_type: str, resource_id: str) -> dict | None:
    with store.engine.connect() as conn:
        return conn.execute(live(resource_type, [resource_id])).scalar()


def _refuse_synthetic(store: ResourceStore, claim: dict, allowed: bool) -> None:
    reference = claim["provider"].get("reference", "")
    organization = _live_one(store, "Organization", reference.removeprefix("Organization/"))
    if organization is not None and is_synthetic(organization) and not allowed:
        raise SendError(
            f"{reference}: its BHYT code is synthetic (the demo's), not one BHXH issued; "
            "--allow-synthetic sends it to a stand-in gateway only"
        )
