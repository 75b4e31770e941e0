"""Telehealth pages and the live chat: the consultation inbox per specialty queue, the case page
(chat, video room, recommendation), the new-consultation form from a person's chart, referrals
(create, receive, outcome, printable letter) and the panels on the home page and the chart.

Live chat: a WebSocket at /telehealth/cases/{id}/ws, signed in by the session cookie; a
handshake whose Origin is not this server is refused (a cookie alone does not protect a
WebSocket from cross-site use). Each message is kept as a Communication before it is broadcast
to the case's other sockets in this process. Without JavaScript the same chat is a form post.

`install(app, store)` serves all this on an app (called by songkhoe.app.create_app): the pages
and the socket, the app's chat hub, and the escalation of overdue consultations while it runs.
"""

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

import orjson
from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    Request,
    WebSocket,
    WebSocketDisconnect,
    WebSocketException,
)
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from songkhoe.auth.audit import RequestContext
from songkhoe.auth.caller import Caller
from songkhoe.auth.models import Role
from songkhoe.auth.service import session_for_cookie
from songkhoe.config import get_settings
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.store import ResourceStore
from songkhoe.places.facilities import central_hospitals, facilities
from songkhoe.prescribing.service import may_prescribe
from songkhoe.telehealth import panel, referrals, service
from songkhoe.telehealth import texts as _texts  # noqa: F401  (registers the interface text)
from songkhoe.telehealth.escalation import is_overdue, start_escalation
from songkhoe.telehealth.models import RECOMMENDED_ACTIONS, SPECIALTIES, URGENCIES, Case
from songkhoe.telehealth.queues import all_queues, queues_of
from songkhoe.timezones import local_time
from songkhoe.web.pages import (
    FormDep,
    StoreDep,
    Viewer,
    ViewerDep,
    message,
    page,
    page_router,
    register_chart_panel,
    register_home_panel,
    register_nav,
)
from songkhoe.web.session import SESSION_COOKIE, form_pairs

POLICY_VIOLATION = 1008  # WebSocket close code (RFC 6455, 7.4.1)


def now() -> datetime:
    return datetime.now(UTC)


def chat_item(message_: dict) -> dict:
    return {
        "id": message_["id"],
        "sender": message_.get("sender", {}).get("display", ""),
        "text": message_["payload"][0].get("contentString", ""),
        "sent": local_time(message_.get("sent")),
        "recommendation": service.recommendation_of(message_),
    }


def authorised(
    store: ResourceStore, cookie: str, address: str | None, case_id: str
) -> tuple[Caller, Case] | None:
    """The signed-in caller behind a session cookie and the case, if the session is still live
    and the caller may still open the case (audited); None otherwise."""
    session = session_for_cookie(store.engine, cookie)
    if session is None:
        return None
    caller = Caller(store, session.principal, RequestContext(address))
    try:
        return caller, service.load_case(caller, case_id)
    except FhirError:
        return None


@dataclass(eq=False)
class Listener:
    """An open chat socket and the session it was opened with."""

    socket: WebSocket
    cookie: str
    address: str | None


class ChatHub:
    """The open chat sockets of each case in this process (one hub per app: `install`). Each
    message is delivered only to the sockets whose session is still live and whose user may
    still open the case (logged out, or replaced by an escalation: closed with 1008)."""

    def __init__(self, store: ResourceStore) -> None:
        self.store = store
        self.listeners: dict[str, set[Listener]] = defaultdict(set)

    async def authorised(self, listener: Listener, case_id: str) -> tuple[Caller, Case] | None:
        """`authorised` for the listener's session, now."""
        return await run_in_threadpool(
            authorised, self.store, listener.cookie, listener.address, case_id
        )

    async def broadcast(self, case_id: str, item: dict) -> None:
        for listener in list(self.listeners.get(case_id, ())):
            allowed = await self.authorised(listener, case_id)
            try:
                if allowed is None:
                    await listener.socket.close(code=POLICY_VIOLATION)
                else:
                    await listener.socket.send_json(item)
                    continue
            except (RuntimeError, WebSocketDisconnect):
                pass
            self.listeners[case_id].discard(listener)


def chat_hub(connection: HTTPConnection) -> ChatHub:
    """The chat hub of the app serving the request or the socket (`install`)."""
    return connection.app.state.telehealth_chat


HubDep = Annotated[ChatHub, Depends(chat_hub)]


def _case_view(caller: Caller, case: Case) -> dict:
    return {
        "case": case,
        "status": case.status,
        "urgency": case.urgency,
        "deadline": local_time(case.task.get("restriction", {}).get("period", {}).get("end")),
        "overdue": is_overdue(case, now()),
        "business": case.business,
        "owner": case.task.get("owner", {}).get("display") or case.owner_id,
        "mine": caller.principal.id == case.owner_id,
    }


def chart_panel(store: ResourceStore, who: Viewer, patient_id: str) -> dict | None:
    """The person's consultations, referrals, advice and prescriptions (one read, one
    AuditEvent: songkhoe.telehealth.panel)."""
    caller = who.caller
    shown = panel.read(caller, patient_id)
    return {
        "patient_id": patient_id,
        "cases": [_case_view(caller, c) for c in shown.consultations],
        "referrals": [_referral_view(c) for c in shown.referrals],
        "recommendations": [chat_item(m) for m in shown.recommendations],
        "prescriptions": shown.prescriptions,
        "prescriber": may_prescribe(who.principal),
        "actions": RECOMMENDED_ACTIONS,
    }


def _referral_view(case: Case) -> dict:
    return {
        "case": case,
        "number": case.request["identifier"][0]["value"],
        "to": case.request["performer"][0].get("display", case.performer),
        "diagnosis": case.request["reasonCode"][0],
        "outcome": referrals.output(case, "outcome"),
        "advice": referrals.output(case, "advice"),
    }


def home_panel(store: ResourceStore, who: Viewer) -> dict | None:
    p = who.principal
    if p.role not in (Role.SPECIALIST, Role.DOCTOR, Role.COMMUNE_HEALTH_WORKER):
        return None
    caller = who.caller
    open_cases = [c for c in service.cases_for(caller) if c.status != "completed"]
    recent = referrals.referrals_for(caller)[:10]  # with the outcome and advice when answered
    if not open_cases and not recent and p.role == Role.COMMUNE_HEALTH_WORKER:
        return None
    return {
        "cases": [_case_view(caller, c) for c in open_cases[:10]],
        "referrals": [_referral_view(r) for r in recent],
    }


register_nav("/telehealth", "th_nav", lambda access: access.sees_people, order=40)
register_chart_panel("telehealth/chart_panel.html", chart_panel, order=40)
register_home_panel("telehealth/home_panel.html", home_panel, order=40)


@asynccontextmanager
async def escalation_worker(store: ResourceStore) -> AsyncIterator[None]:
    """While the app runs, escalate the overdue consultations every
    SONGKHOE_ESCALATION_INTERVAL_S seconds (0: never)."""
    interval = get_settings().escalation_interval_s
    stop = start_escalation(store, interval) if interval > 0 else None
    try:
        yield
    finally:
        if stop is not None:
            stop.set()


router = page_router()
# Not on the page router, whose login dependency reads an HTTP request: the chat socket is
# signed in by its own dependency, `chat_listener`, from the same session cookie.
sockets = APIRouter(include_in_schema=False)


def install(app: FastAPI, store: ResourceStore) -> None:
    """Serve telehealth on `app`: the pages and the chat socket, the app's chat hub, and the
    escalation of overdue consultations while the app runs (`escalation_worker`)."""
    app.state.telehealth_chat = ChatHub(store)
    app.include_router(router)
    app.include_router(sockets)
    # a router without routes: FastAPI's public way to add to a made app's lifespan
    app.include_router(APIRouter(lifespan=lambda _app: escalation_worker(store)))


def refused(request: Request, who: Viewer, exc: Exception) -> Response:
    """The page answering a refused or failed case action."""
    if isinstance(exc, service.CaseClosed) or (isinstance(exc, FhirError) and exc.status == 409):
        return message(request, who, 409, "th_conflict")
    if isinstance(exc, FhirError):
        status = exc.status if exc.status in (403, 404) else 400
        return message(request, who, status, "not_found" if status == 404 else "forbidden")
    return page(request, "telehealth/error.html", who, 400, error=str(exc))


def opened(request: Request, who: Viewer, case_id: str, code: str) -> Case | Response:
    """The case of `code` ("consultation", "referral") if the viewer may open it, else the
    refusal page."""
    try:
        return service.load_case(who.caller, case_id, code=code)
    except FhirError as exc:
        return refused(request, who, exc)


@router.get("/telehealth")
def inbox(request: Request, store: StoreDep, who: ViewerDep) -> Response:
    if not who.access.sees_people:
        return message(request, who, 403, "aggregates_only")
    caller = who.caller
    cases = service.cases_for(caller)
    mine = [c for c in cases if c.owner_id == caller.principal.id]
    sent = [c for c in cases if c.requester_id == caller.principal.id]
    queues = [
        (q, [_case_view(caller, c) for c in mine if c.performer == q.id])
        for q in queues_of(store, caller.principal.id)
    ]
    refs = referrals.referrals_for(caller)
    incoming = [r for r in refs if referrals.at_receiving_site(caller.principal, r)]
    names = service.patient_names(caller, {c.patient_id for c in cases + refs})
    return page(
        request,
        "telehealth/inbox.html",
        who,
        queues=queues,
        mine=[_case_view(caller, c) for c in mine],
        sent=[_case_view(caller, c) for c in sent],
        incoming=[_referral_view(r) for r in incoming],
        outgoing=[_referral_view(r) for r in refs if r not in incoming],
        names=names,
    )


@router.get("/telehealth/cases/new")
def new_case(request: Request, store: StoreDep, who: ViewerDep, patient: str) -> Response:
    try:
        person = who.caller.read("read", "Patient", patient)
    except (FhirError, LookupError):
        return message(request, who, 404, "not_found")
    return page(
        request,
        "telehealth/new_case.html",
        who,
        patient=person,
        queues=all_queues(store),
        urgencies=URGENCIES,
        specialties=SPECIALTIES,
        candidates=service.attachable(who.caller, patient),
    )


@router.post("/telehealth/cases")
async def create_case(request: Request, who: ViewerDep, form: FormDep) -> Response:
    attachments = [v for k, v in await form_pairs(request) if k == "attachment"]
    try:
        case = await run_in_threadpool(
            service.open_case,
            who.caller,
            patient_id=form.get("patient", ""),
            queue_id=form.get("queue", ""),
            urgency=form.get("urgency", ""),
            question=form.get("question", ""),
            attachments=attachments,
            now=now(),
        )
    except (FhirError, service.CaseError) as exc:
        return refused(request, who, exc)
    return RedirectResponse(f"/telehealth/cases/{case.id}", 303)


@router.get("/telehealth/cases/{case_id}")
def case_page(request: Request, who: ViewerDep, case_id: str) -> Response:
    case = opened(request, who, case_id, "consultation")
    if not isinstance(case, Case):
        return case
    caller = who.caller
    chat = [chat_item(m) for m in service.messages(caller, case)]
    return page(
        request,
        "telehealth/case.html",
        who,
        view=_case_view(caller, case),
        patient_name=service.patient_names(caller, {case.patient_id}).get(
            case.patient_id, case.patient_id
        ),
        question=case.request["note"][0]["text"],
        attachments=service.attached(caller, case),
        chat=chat,
        room=service.room_link(case),
        actions=RECOMMENDED_ACTIONS,
        facilities=_referral_targets(),
        prescriber=may_prescribe(who.principal),
    )


@router.post("/telehealth/cases/{case_id}/{action}")
async def case_action(
    request: Request, who: ViewerDep, form: FormDep, hub: HubDep, case_id: str, action: str
) -> Response:
    case = await run_in_threadpool(opened, request, who, case_id, "consultation")
    if not isinstance(case, Case):
        return case
    caller = who.caller
    try:
        if action == "accept":
            await run_in_threadpool(lambda: service.accept(caller, case=case, now=now()))
        elif action == "messages":
            sent = await run_in_threadpool(
                lambda: service.post_message(
                    caller, case=case, text=form.get("text", ""), now=now()
                )
            )
            await hub.broadcast(case_id, chat_item(sent))
        elif action == "recommend":
            rec = await run_in_threadpool(
                lambda: service.recommend(
                    caller, case=case, action=form.get("action", ""),
                    advice=form.get("advice", ""), diagnosis=form.get("diagnosis", ""),
                    refer_to=form.get("refer_to", ""), now=now(),
                )
            )  # fmt: skip
            await hub.broadcast(case_id, chat_item(rec))
        else:
            return message(request, who, 404, "not_found")
    except (FhirError, service.CaseError) as exc:
        return refused(request, who, exc)
    return RedirectResponse(f"/telehealth/cases/{case_id}#chat", 303)


async def chat_listener(websocket: WebSocket, hub: HubDep, case_id: str) -> Listener:
    """The listener of a chat socket opened from this site's page by a live session that may
    open the case; the handshake is refused with 1008 otherwise (a cookie alone does not
    protect a WebSocket from another site's page)."""
    origin = websocket.headers.get("origin", "")
    if urlsplit(origin).netloc != websocket.headers.get("host"):
        raise WebSocketException(POLICY_VIOLATION)  # another site's page
    listener = Listener(
        websocket,
        websocket.cookies.get(SESSION_COOKIE) or "",
        websocket.client.host if websocket.client else None,
    )
    if await hub.authorised(listener, case_id) is None:
        raise WebSocketException(POLICY_VIOLATION)
    return listener


@sockets.websocket("/telehealth/cases/{case_id}/ws")
async def chat_socket(
    websocket: WebSocket,
    hub: HubDep,
    listener: Annotated[Listener, Depends(chat_listener)],
    case_id: str,
) -> None:
    """The session and the right to open the case are checked again for every message sent or
    delivered (closed with 1008 once lost)."""
    await websocket.accept()
    hub.listeners[case_id].add(listener)
    try:
        while True:
            text = _chat_text(await websocket.receive_text())
            allowed = await hub.authorised(listener, case_id)
            if allowed is None:
                await websocket.close(code=POLICY_VIOLATION)
                return
            caller, case = allowed
            try:
                sent = await run_in_threadpool(
                    service.post_message, caller, case=case, text=text, now=now()
                )
            except (service.CaseError, FhirError) as exc:
                await websocket.send_json({"error": str(exc)})
                continue
            await hub.broadcast(case_id, chat_item(sent))
    except (WebSocketDisconnect, RuntimeError, asyncio.CancelledError):
        pass
    finally:
        hub.listeners[case_id].discard(listener)


@router.get("/telehealth/referrals/new")
def new_referral(request: Request, who: ViewerDep, patient: str, case: str = "") -> Response:
    try:
        person = who.caller.read("read", "Patient", patient)
    except (FhirError, LookupError):
        return message(request, who, 404, "not_found")
    return page(
        request,
        "telehealth/new_referral.html",
        who,
        patient=person,
        case_id=case,
        facilities=_referral_targets(),
    )


@router.post("/telehealth/referrals")
async def create_referral(request: Request, who: ViewerDep, form: FormDep) -> Response:
    try:
        case = await run_in_threadpool(
            lambda: referrals.create_referral(
                who.caller, patient_id=form.get("patient", ""),
                to_facility=form.get("to_facility", ""), diagnosis=form.get("diagnosis", ""),
                summary=form.get("summary", ""), reason=form.get("reason", ""),
                urgent=form.get("urgent") == "1", case_id=form.get("case") or None, now=now(),
            )
        )  # fmt: skip
    except (FhirError, service.CaseError) as exc:
        return refused(request, who, exc)
    return RedirectResponse(f"/telehealth/referrals/{case.id}", 303)


@router.get("/telehealth/referrals/{referral_id}")
def referral_page(request: Request, who: ViewerDep, referral_id: str) -> Response:
    case = opened(request, who, referral_id, "referral")
    if not isinstance(case, Case):
        return case
    return page(
        request,
        "telehealth/referral.html",
        who,
        ref=_referral_view(case),
        patient_name=service.patient_names(who.caller, {case.patient_id}).get(
            case.patient_id, case.patient_id
        ),
        receiving=referrals.at_receiving_site(who.principal, case),
        outcomes=referrals.OUTCOMES,
    )


@router.post("/telehealth/referrals/{referral_id}/{action}")
async def referral_action(
    request: Request, who: ViewerDep, form: FormDep, referral_id: str, action: str
) -> Response:
    case = await run_in_threadpool(opened, request, who, referral_id, "referral")
    if not isinstance(case, Case):
        return case
    try:
        if action == "receive":
            await run_in_threadpool(lambda: referrals.receive(who.caller, case=case, now=now()))
        elif action == "outcome":
            await run_in_threadpool(
                lambda: referrals.record_outcome(
                    who.caller, case=case, outcome=form.get("outcome", ""),
                    advice=form.get("advice", ""), now=now(),
                )
            )  # fmt: skip
        else:
            return message(request, who, 404, "not_found")
    except (FhirError, service.CaseError) as exc:
        return refused(request, who, exc)
    return RedirectResponse(f"/telehealth/referrals/{referral_id}", 303)


@router.get("/telehealth/referrals/{referral_id}/letter.pdf")
def referral_letter(request: Request, who: ViewerDep, referral_id: str) -> Response:
    case = opened(request, who, referral_id, "referral")
    if not isinstance(case, Case):
        return case
    pdf = referrals.letter(who.caller, case)
    number = case.request["identifier"][0]["value"]
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"content-disposition": f'inline; filename="{number}.pdf"'},
    )


def _chat_text(raw: str) -> str:
    """The text of a chat frame, {"text": "..."}; "" for anything else (then a field error)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return ""
    return str(data.get("text", "")) if isinstance(data, dict) else ""


def _referral_targets() -> list:
    """Facilities a case can be referred to: hospitals (regional, provincial, central)."""
    hospitals = [f for f in facilities() if f.kind != "commune_station"]
    central = {f.id for f in central_hospitals()}
    return sorted(hospitals, key=lambda f: (f.id not in central, f.province_code, f.name))
