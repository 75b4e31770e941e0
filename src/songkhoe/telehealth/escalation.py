"""Escalation of consultations whose response target is missed (emergency 1 h, urgent 24 h,
routine 72 h, models.URGENCIES): the target runs until the recommendation, so a case still
unanswered after its deadline, accepted or not, goes to the next backup of its queue, back to
`requested`, with a new deadline; the record is shared with the backup and no longer with the
replaced specialist. With no backup left the case is flagged overdue (Task.businessStatus) for
the coordinators, once.

Run by `songkhoe telehealth escalate` (cron) and by a background thread in each worker process
of the app (SONGKHOE_ESCALATION_INTERVAL_S); `now` is a parameter so tests control the clock.
Several workers, or cron and the app, may scan at the same time: each escalation is an update
conditional on the version of the Task it read (If-Match), so a case changed meanwhile (accepted,
answered, or escalated by another worker) is skipped, never escalated twice or undone.
"""

import logging
import threading
from datetime import UTC, datetime

from songkhoe.auth.audit import RequestContext
from songkhoe.auth.caller import Caller
from songkhoe.auth.models import Place, Principal, parse_scopes
from songkhoe.clinical.records import Unshare, instant, write
from songkhoe.clinical.staff import user_ref
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.store import ResourceStore
from songkhoe.telehealth.models import (
    OPEN_STATUSES,
    TASK_CODE,
    URGENCIES,
    URGENCY_OF_PRIORITY,
    Case,
    business_status,
)
from songkhoe.telehealth.queues import QueueError, queue
from songkhoe.telehealth.service import joined, share_with_specialist

log = logging.getLogger(__name__)
PAGE = 200
ESCALATOR = Principal(
    kind="client",
    id="songkhoe-telehealth-escalation",
    display="songkhoe-telehealth-escalation",
    role=None,
    place=Place("national"),
    scopes=parse_scopes("system/*.*"),
    can_see_names=True,
)


def _next_backup(backups: tuple[str, ...], owner: str | None) -> str | None:
    start = backups.index(owner) + 1 if owner in backups else 0
    return next((b for b in backups[start:] if b != owner), None)


def overdue(caller: Caller, now: datetime) -> list[Case]:
    """Unanswered consultations past their deadline, not yet flagged overdue, oldest first.

    The index cannot search Task.restriction (no R4 search parameter), but a deadline is never
    earlier than authoredOn + the urgency's target (escalation only moves it later), so each
    urgency is searched for cases authored at least its target ago, and the deadline checked
    here. Every page is read before any case is changed (a flagged case leaves the results)."""
    found = []
    for code, urgency in URGENCIES.items():
        priorities = [p for p, c in URGENCY_OF_PRIORITY.items() if c == code]
        items = [
            ("code", f"{TASK_CODE}|consultation"),
            ("status", ",".join(OPEN_STATUSES)),
            ("business-status:not", "overdue"),
            ("priority", ",".join(priorities)),
            ("authored-on", f"le{instant(now - urgency.target)}"),
            ("_sort", "authored-on"),
            ("_count", str(PAGE)),
        ]
        offset = 0
        while True:
            batch = caller.search("Task", [*items, ("_offset", str(offset))])
            found += batch
            if len(batch) < PAGE:
                break
            offset += PAGE
    cases = joined(caller, found)
    return [c for c in cases if c.deadline is not None and c.deadline <= now]


def escalate(caller: Caller, *, case: Case, now: datetime) -> bool:
    """Reassign one overdue case to the next backup (True), or flag it overdue when none is
    left (False); a case changed since it was read is left alone (False)."""
    try:
        backups = queue(caller.store, case.performer).backups
    except QueueError:
        backups = ()
    backup = _next_backup(backups, case.owner_id)
    stamp = instant(now)
    try:
        if backup is None:
            flagged = {**case.task, "businessStatus": business_status("overdue"),
                       "lastModified": stamp}  # fmt: skip
            write(caller, update=[flagged])
            return False
        note = {"text": "Quá hạn phản hồi: chuyển chuyên gia dự phòng / escalated to a backup",
                "time": stamp}  # fmt: skip
        task = {
            **case.task,
            "status": "requested",
            "owner": user_ref(caller.store, backup),
            "businessStatus": business_status("escalated"),
            "restriction": {"period": {"start": stamp, "end": instant(now + case.urgency.target)}},
            "note": [*case.task.get("note", []), note],
            "lastModified": stamp,
        }
        share = share_with_specialist(
            user_id=backup,
            case_id=case.id,
            patient_id=case.patient_id,
            reason="Hội chẩn từ xa: chuyên gia dự phòng khi quá hạn phản hồi",
            until=now + case.urgency.target,
            now=now,
        )
        replaced = [case.owner_id] if case.owner_id else []
        unshare = [Unshare(u, case.patient_id, f"ServiceRequest/{case.id}") for u in replaced]
        write(caller, update=[task], share=[share], unshare=unshare)
    except FhirError as exc:
        if exc.status != 409:
            raise
        log.info("telehealth: a case changed while being escalated; left for the next round")
        return False
    return True


def escalate_overdue(store: ResourceStore, now: datetime) -> list[str]:
    """Escalate every overdue case; returns the ids of the cases reassigned."""
    caller = Caller(store, ESCALATOR, RequestContext(None))
    return [case.id for case in overdue(caller, now) if escalate(caller, case=case, now=now)]


def start_escalation(store: ResourceStore, interval_s: int) -> threading.Event:
    """A daemon thread escalating every `interval_s` seconds; set the returned event to stop."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval_s):
            try:
                done = escalate_overdue(store, datetime.now(UTC))
                if done:
                    log.info("telehealth: %d overdue consultations escalated", len(done))
            except Exception:  # keep the thread alive; the next round retries
                log.exception("telehealth escalation failed")

    threading.Thread(target=run, name="telehealth-escalation", daemon=True).start()
    return stop


def is_overdue(case: Case, now: datetime) -> bool:
    return case.status in OPEN_STATUSES and case.deadline is not None and case.deadline <= now
