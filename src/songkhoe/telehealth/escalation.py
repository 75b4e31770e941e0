"""Escalation of consultations whose response target is missed (emergency 1 h, urgent 24 h,
routine 72 h, models.URGENCIES): a case still waiting for its specialist to accept it after its
deadline goes to the next backup of its queue, with a new deadline and the record shared with
them; with no backup left it is flagged overdue (Task.businessStatus) for the coordinators.

Run by `songkhoe telehealth escalate` (cron) and by a background thread of the app
(SONGKHOE_ESCALATION_INTERVAL_S); `now` is a parameter so tests control the clock.
"""

import logging
import threading
from datetime import UTC, datetime

from songkhoe.auth.audit import RequestContext
from songkhoe.auth.caller import Caller
from songkhoe.auth.models import Place, Principal, parse_scopes
from songkhoe.fhir.store import ResourceStore
from songkhoe.telehealth.models import TASK_CODE, Case
from songkhoe.telehealth.queues import QueueError, queue
from songkhoe.telehealth.records import instant, search, write
from songkhoe.telehealth.service import joined
from songkhoe.telehealth.staff import user_ref

log = logging.getLogger(__name__)
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


def escalate_overdue(store: ResourceStore, now: datetime) -> list[str]:
    """Escalate every overdue case; returns the ids of the cases reassigned."""
    caller = Caller(store, ESCALATOR, RequestContext(None))
    waiting = search(
        caller,
        "Task",
        [("code", f"{TASK_CODE}|consultation"), ("status", "requested"), ("_count", "1000")],
    )
    escalated = []
    for case in joined(caller, waiting):
        if case.deadline is None or case.deadline > now:
            continue
        try:
            backups = queue(store, case.performer).backups
        except QueueError:
            backups = ()
        backup = _next_backup(backups, case.owner_id)
        stamp = instant(now)
        if backup is None:
            if case.task.get("businessStatus", {}).get("text") != "overdue":
                write(caller, update=[{**case.task, "businessStatus": {"text": "overdue"},
                                       "lastModified": stamp}])  # fmt: skip
            continue
        note = {"text": "Quá hạn phản hồi: chuyển chuyên gia dự phòng / escalated to a backup",
                "time": stamp}  # fmt: skip
        task = {
            **case.task,
            "owner": user_ref(store, backup),
            "businessStatus": {"text": "escalated"},
            "restriction": {"period": {"start": stamp, "end": instant(now + case.urgency.target)}},
            "note": [*case.task.get("note", []), note],
            "lastModified": stamp,
        }
        write(caller, update=[task])
        caller.share(
            user_id=backup,
            patient_id=case.patient_id,
            reason="Hội chẩn từ xa: chuyên gia dự phòng khi quá hạn phản hồi",
            basis=f"ServiceRequest/{case.id}",
        )
        escalated.append(case.id)
    return escalated


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
    return case.status == "requested" and case.deadline is not None and case.deadline <= now
