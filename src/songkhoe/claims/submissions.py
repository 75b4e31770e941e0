"""Each claim and what became of it, as FHIR: a `Claim` per claim built (one MA_LK) and a
`ClaimResponse` per answer of the BHXH gateway (http://hl7.org/fhir/R4/claim.html,
claimresponse.html).

The Claim (id "bhyt-" + MA_LK) names the person, the facility's Organization (`provider`), the
card (`insurance.coverage` by its identifier), the visit's period, the main diagnosis, one `item`
per cost group (MA_NHOM, `net` = Σ THANH_TIEN_BV of its rows) and `total` = T_TONGCHI_BV; the
extension `EXT_TOTALS` keeps XML1's totals by field name (T_TONGCHI_BV, T_TONGCHI_BH, T_BNTT,
T_BNCCT, T_BHTT, T_NGUONKHAC, T_THUOC, T_VTYT), so a month's summary adds up exactly what was
sent. A claim that failed the checker holds its problems (`EXT_PROBLEM`, one line each); a built
one holds the digest of its tables (`EXT_CLAIM_SHA256`, `rows_digest`: the SHA-256 of each
table's XML as the envelope carries it, so not of the day it was made or of its signature). Its
settlement month (the month the visit ended, XML1 THANG_QT/NAM_QT) is a `meta.tag`, which the
accountant's page searches by.

A ClaimResponse records one sending: `request` = the Claim, `outcome` complete (received,
maKetQua 200), error (refused: `disposition` = the gateway's thongDiep) or queued (sent, and no
readable answer came back), `identifier` = maGiaoDich, the digest of the claim sent and the
gateway's code. `standing` reads them together: a claim whose tables changed since its last answer
(corrected and built again) is to be sent again.
"""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from songkhoe.claims.coverage import BHYT_FACILITY, PAYOR
from songkhoe.claims.envelope import table_document
from songkhoe.claims.gateway import Answer
from songkhoe.claims.tables import ClaimRows
from songkhoe.claims.visit import Visit
from songkhoe.fhir.systems import BASE, BHYT, ICD10

CLAIM_KEY = f"{BASE}/sid/bhyt-claim"  # MA_LK
TRANSACTION = f"{BASE}/sid/bhxh-transaction"  # maGiaoDich
MONTH_TAG = f"{BASE}/CodeSystem/bhyt-settlement-month"  # "YYYY-MM"
COST_GROUP = f"{BASE}/CodeSystem/bhyt-cost-group"  # MA_NHOM (QĐ 5937/QĐ-BYT, Phụ lục 3)
EXT_TOTALS = f"{BASE}/StructureDefinition/bhyt-xml1-totals"
EXT_PROBLEM = f"{BASE}/StructureDefinition/bhyt-check-problem"
EXT_CLAIM_SHA256 = f"{BASE}/StructureDefinition/bhyt-claim-sha256"
EXT_GATEWAY_CODE = f"{BASE}/StructureDefinition/bhxh-result-code"
CLAIM_TYPE = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type",
                "code": "institutional"}]
}  # fmt: skip
NORMAL = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority",
                      "code": "normal"}]}  # fmt: skip
TOTALS = ("T_TONGCHI_BV", "T_TONGCHI_BH", "T_BNTT", "T_BNCCT", "T_BHTT", "T_NGUONKHAC",
          "T_THUOC", "T_VTYT")  # fmt: skip


class State(StrEnum):
    """Where a claim stands (the accountant's page names each in Vietnamese and English)."""

    BUILT = "built"  # to send: never sent, or corrected since its last answer
    FAILED_CHECK = "failed_check"  # the checker found problems: fix the record, build again
    SENT = "sent"  # sent, no readable answer yet: send again
    ACCEPTED = "accepted"  # received by the gateway (maKetQua 200)
    REJECTED = "rejected"  # refused: the gateway's message says what to fix


def rows_digest(rows: ClaimRows) -> str:
    """The SHA-256 (hex) of a claim's tables as its envelope carries them."""
    return tables_digest((table, table_document(table, rows[table])) for table in rows)


def tables_digest(tables: Iterable[tuple[str, bytes]]) -> str:
    """The SHA-256 (hex) of (LOAIHOSO, the table's XML) pairs, in the envelope's order."""
    digest = hashlib.sha256()
    for table, document in tables:
        digest.update(table.encode() + b"\n" + document + b"\n")
    return digest.hexdigest()


def same_claim(stored: dict, made: dict) -> bool:
    """Whether a Claim just made says what the stored one says (then it is not written again:
    an export run twice adds no versions)."""
    ignored = ("meta", "created")
    return {k: v for k, v in stored.items() if k not in ignored} == {
        k: v for k, v in made.items() if k not in ignored
    }


def claim_id(claim_key: str) -> str:
    return f"bhyt-{claim_key}"


def settlement_month(visit: Visit) -> str:
    return visit.left.strftime("%Y-%m")


def _extension(url: str, value: str) -> dict:
    return {"url": url, "valueString": value}


def claim_resource(
    visit: Visit,
    rows: ClaimRows | None,
    claim_sha256: str | None,
    problems: Sequence[str],
    built: datetime,
) -> dict:
    """The Claim of a visit's claim: built (`rows` and their `rows_digest`) or failed
    (`problems`, and the rows when they could be made)."""
    claim: dict = {
        "resourceType": "Claim",
        "id": claim_id(visit.claim_key),
        "meta": {"tag": [{"system": MONTH_TAG, "code": settlement_month(visit)}]},
        "identifier": [{"system": CLAIM_KEY, "value": visit.claim_key}],
        "status": "active",
        "type": CLAIM_TYPE,
        "use": "claim",
        "patient": {"reference": f"Patient/{visit.person.id}"},
        "billablePeriod": {"start": visit.arrived.isoformat(), "end": visit.left.isoformat()},
        "created": built.isoformat(),
        "provider": _provider(visit),
        "priority": NORMAL,
        "insurance": [{"sequence": 1, "focal": True, "coverage": _coverage(visit)}],
    }
    if visit.main_diagnosis is not None:
        coding = {"system": ICD10, "code": visit.main_diagnosis.code,
                  "display": visit.main_diagnosis.name}  # fmt: skip
        claim["diagnosis"] = [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [coding]}}]
    extensions = [_extension(EXT_PROBLEM, line) for line in problems]
    if claim_sha256 is not None:
        extensions.append(_extension(EXT_CLAIM_SHA256, claim_sha256))
    if rows is not None:
        summary = rows["XML1"][0]
        claim["total"] = _money(summary["T_TONGCHI_BV"])
        claim["item"] = _items(rows)
        parts = [{"url": name, "valueDecimal": float(summary[name] or 0)} for name in TOTALS]
        extensions.append({"url": EXT_TOTALS, "extension": parts})
    if extensions:
        claim["extension"] = extensions
    return claim


def _provider(visit: Visit) -> dict:
    facility = visit.facility
    reference = {"identifier": {"system": BHYT_FACILITY, "value": facility.code},
                 "display": facility.name}  # fmt: skip
    if facility.organization:
        reference["reference"] = f"Organization/{facility.organization}"
    return reference


def _coverage(visit: Visit) -> dict:
    if visit.card is None:
        return {"display": "no card in force"}
    return {"identifier": {"system": BHYT, "value": visit.card.number}}


def _money(amount: str) -> dict:
    return {"value": float(Decimal(amount or "0")), "currency": "VND"}


def _items(rows: ClaimRows) -> list[dict]:
    """One item per cost group of XML2 and XML3, net = Σ THANH_TIEN_BV (exact in đồng: two
    decimals, summed as Decimal)."""
    groups: dict[str, Decimal] = {}
    for table in ("XML2", "XML3"):
        for row in rows.get(table, ()):
            group = row["MA_NHOM"]
            groups[group] = groups.get(group, Decimal(0)) + Decimal(row["THANH_TIEN_BV"] or "0")
    return [
        {
            "sequence": number,
            "productOrService": {"coding": [{"system": COST_GROUP, "code": group}]},
            "net": {"value": float(amount), "currency": "VND"},
        }
        for number, (group, amount) in enumerate(sorted(groups.items(), key=_group_order), 1)
    ]


def _group_order(item: tuple[str, Decimal]) -> int:
    return int(item[0]) if item[0].isdigit() else 0


def response_resource(claim: dict, answer: Answer | None, claim_sha256: str, at: datetime) -> dict:
    """The ClaimResponse of one sending of `claim`; `answer` None: sent, no readable answer."""
    if answer is None:
        outcome = "queued"
    else:
        outcome = "complete" if answer.accepted else "error"
    response: dict = {
        "resourceType": "ClaimResponse",
        "status": "active",
        "type": CLAIM_TYPE,
        "use": "claim",
        "patient": claim["patient"],
        "created": (answer.received_at if answer and answer.received_at else at).isoformat(),
        "insurer": {"display": PAYOR},
        "request": {"reference": f"Claim/{claim['id']}"},
        "outcome": outcome,
        "extension": [_extension(EXT_CLAIM_SHA256, claim_sha256)],
    }
    if answer is not None:
        response["extension"].append(_extension(EXT_GATEWAY_CODE, answer.code))
        if answer.transaction:
            response["identifier"] = [{"system": TRANSACTION, "value": answer.transaction}]
        if answer.message:
            response["disposition"] = answer.message
    return response


def extension_values(resource: dict, url: str) -> list[str]:
    return [e["valueString"] for e in resource.get("extension", ()) if e["url"] == url]


@dataclass(frozen=True)
class Standing:
    """A claim's state and what the accountant is told: the checker's lines or the gateway's
    message."""

    state: State
    messages: tuple[str, ...]
    transaction: str


def standing(claim: dict, responses: Sequence[dict]) -> Standing:
    """Where `claim` stands, given its ClaimResponses (any order)."""
    problems = extension_values(claim, EXT_PROBLEM)
    if problems:
        return Standing(State.FAILED_CHECK, tuple(problems), "")
    latest = max(responses, key=lambda r: r["meta"]["lastUpdated"], default=None)
    current = extension_values(claim, EXT_CLAIM_SHA256)
    if latest is None or extension_values(latest, EXT_CLAIM_SHA256) != current:
        return Standing(State.BUILT, (), "")
    transaction = next((i["value"] for i in latest.get("identifier", ())), "")
    message = (latest["disposition"],) if latest.get("disposition") else ()
    state = {"complete": State.ACCEPTED, "error": State.REJECTED}.get(latest["outcome"], State.SENT)
    return Standing(state, message, transaction)
