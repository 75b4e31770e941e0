"""What the telehealth panel of a person's chart shows: the consultations and referrals about the
person that the viewer may open, the recommendations answering those consultations, and the
codes of the prescriptions signed for the person.

One query reads the person's ServiceRequests, Tasks, recommendation Communications and
MedicationRequests through the reference index (their `subject`, Task.for), as
`songkhoe.ncd.chart.about` reads the NCD chart; the access rule is applied to what is found, and the
panel is audited as one search that lists what it shows. The viewer has already opened the
person's record (the chart route checked it), so a record that names only this person and falls
under no rule of its own is visible without asking the database again; a record that names other
people, and every record of a consultation (its ServiceRequest and Task, the Communications based
on it: seen by its participants only, songkhoe.telehealth.access), is checked in full by
`Access.can_see`.
"""

from dataclasses import dataclass

from sqlalchemy import Connection

from songkhoe.auth.caller import Caller
from songkhoe.auth.policy import patients_referenced
from songkhoe.fhir.queries import keep_tagged
from songkhoe.fhir.search import of_subject
from songkhoe.prescribing.service import prescription_codes
from songkhoe.telehealth.models import CONSULT_CATEGORY, MESSAGE_CATEGORY, TASK_CODE, Case
from songkhoe.telehealth.service import may_open

PANEL_TYPES = ("ServiceRequest", "Task", "Communication", "MedicationRequest")
CASE_KINDS = ("consultation", "referral")


@dataclass(frozen=True, slots=True)
class Panel:
    consultations: list[Case]  # newest first (Task last updated)
    referrals: list[Case]  # newest first
    recommendations: list[dict]  # Communications answering the consultations, newest first
    prescriptions: list[str]  # prescription codes, newest first


def read(caller: Caller, patient_id: str) -> Panel:
    """The panel of a person the caller has opened (checked by the caller, e.g. `open_record`),
    audited as one search."""
    with caller.store.engine.connect() as conn:
        found = _about(conn, patient_id)

        def visible(content: dict, ruled: bool) -> bool:
            plain = not ruled and patients_referenced(content) == {patient_id}
            return plain or caller.access.can_see(conn, content)

        cases = [
            c
            for c in _cases(found)
            if may_open(caller, c)
            and all(visible(r, _consultation(c)) for r in (c.request, c.task))
        ]
        opened = {f"ServiceRequest/{c.id}" for c in cases if c.kind == "consultation"}
        answers = [
            m
            for m in found["Communication"]
            if opened & {ref.get("reference") for ref in m.get("basedOn", [])}
            and visible(m, ruled=True)
        ]
        medicines = [r for r in found["MedicationRequest"] if visible(r, ruled=False)]
    answers.sort(key=lambda m: m.get("sent", ""), reverse=True)
    prescriptions = prescription_codes(medicines)
    signed = [r for r in medicines if r.get("groupIdentifier", {}).get("value") in prescriptions]
    shown = [*(r for c in cases for r in (c.request, c.task)), *answers, *signed]
    people = sorted({f"Patient/{p}" for r in shown for p in patients_referenced(r)})
    caller.audit(
        "search-type",
        [*people, *(f"{r['resourceType']}/{r['id']}" for r in shown)],
        query=f"Patient/{patient_id}: telehealth panel",
    )
    return Panel(
        [c for c in cases if c.kind == "consultation"],
        [c for c in cases if c.kind == "referral"],
        answers,
        prescriptions,
    )


def _about(conn: Connection, patient_id: str) -> dict[str, list[dict]]:
    """The live resources of `PANEL_TYPES` whose subject is the person, by type; of the
    Communications, the recommendations only (not the chat nor the NCD worklists' calls)."""
    query = keep_tagged(
        of_subject(patient_id, PANEL_TYPES),
        "Communication",
        "category",
        MESSAGE_CATEGORY,
        "recommendation",
    )
    found: dict[str, dict[str, dict]] = {t: {} for t in PANEL_TYPES}
    for res_type, content in conn.execute(query):
        found[res_type][content["id"]] = content
    return {t: list(by_id.values()) for t, by_id in found.items()}


def _cases(found: dict[str, list[dict]]) -> list[Case]:
    """The consultations and referrals among the resources found (a Task of either code with the
    person's ServiceRequest of the same id), newest first."""
    requests = {r["id"]: r for r in found["ServiceRequest"]}
    cases = [
        Case(requests[t["id"]], t)
        for t in found["Task"]
        if t["id"] in requests and _coded([t.get("code", {})], TASK_CODE, CASE_KINDS)
    ]
    return sorted(cases, key=lambda c: c.task["meta"]["lastUpdated"], reverse=True)


def _consultation(case: Case) -> bool:
    """Whether the consultation rule applies to the case's records: its Task's code or its
    ServiceRequest's category says consultation."""
    return case.kind == "consultation" or _coded(
        case.request.get("category", []), CONSULT_CATEGORY["system"], (CONSULT_CATEGORY["code"],)
    )


def _coded(concepts: list[dict], system: str, codes: tuple[str, ...]) -> bool:
    return any(
        c.get("system") == system and c.get("code") in codes
        for concept in concepts
        for c in concept.get("coding", [])
    )
