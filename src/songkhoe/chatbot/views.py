"""The chat page (`/chat`) and `POST /api/chat`.

Both are public: citizens ask without an account, and nothing personal is read, stored or
logged (the question goes through triage and retrieval in memory only). Logged-in users see the
page in their usual frame, with a link to open a person's record for a consultation. The
rate limit of the whole app applies.
"""

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from songkhoe.chatbot.service import ChatInputError, ask
from songkhoe.fhir.openapi import (
    JSON,
    MIDDLEWARE_ERROR,
    MIDDLEWARE_ERRORS,
    body_doc,
    json_answer,
    response_doc,
)
from songkhoe.web.i18n import register
from songkhoe.web.pages import StoreDep, Viewer, page, register_nav, render, viewer
from songkhoe.web.session import form_data

register(
    {
        "chat_nav": ("Hỏi đáp sức khỏe", "Health questions"),
        "chat_title": ("Hỏi đáp sức khỏe", "Ask a health question"),
        "chat_intro": (
            "Hỏi về huyết áp, tiểu đường, sốt xuất huyết, tay chân miệng, tiêu chảy ở trẻ, tiêm "
            "chủng, bảo hiểm y tế... Câu trả lời lấy từ tài liệu của Bộ Y tế và WHO, có ghi nguồn.",
            "Ask about blood pressure, diabetes, dengue, hand-foot-mouth disease, diarrhoea in "
            "children, vaccination, health insurance... Answers come from Ministry of Health and "
            "WHO guidance, with their sources (in Vietnamese).",
        ),
        "chat_privacy": (
            "Không ghi tên, số điện thoại hay số căn cước vào câu hỏi. Câu hỏi không được lưu lại.",
            "Do not write names, phone or ID numbers. Questions are not stored.",
        ),
        "chat_emergency_note": (
            "Cấp cứu: gọi 115 ngay, không chờ trả lời ở đây.",
            "Emergency: call 115 now, do not wait for an answer here.",
        ),
        "chat_question": ("Câu hỏi của bạn", "Your question"),
        "chat_send": ("Gửi câu hỏi", "Ask"),
        "chat_sources": ("Nguồn", "Sources"),
        "chat_reviewed": ("xem xét lại", "reviewed"),
        "chat_emergency": ("Cấp cứu", "Emergency"),
        "chat_see_clinician": ("Nên đi khám", "See a health worker"),
        "chat_self_care": ("Tự chăm sóc", "Self-care"),
        "chat_open_record": (
            "Mở hồ sơ người bệnh để tạo tư vấn với tuyến trên",
            "Open the person's record to start a consultation",
        ),
        "chat_error": ("Vui lòng nhập câu hỏi (tối đa 1000 ký tự).", "Please type a question."),
    }
)
register_nav("/chat", "chat_nav", lambda access: True, order=90)


router = APIRouter()  # public: citizens ask without an account (see the module's docstring)


def optional_viewer(request: Request, store: StoreDep) -> Viewer | None:
    """The logged-in user, if any: they see the page in their frame."""
    return viewer(store, request)


OptionalViewerDep = Annotated[Viewer | None, Depends(optional_viewer)]


def chat_page(request: Request, who: Viewer | None, status: int = 200, **context) -> Response:
    context.setdefault("reply", None)
    context.setdefault("question", "")
    if who is None:
        return render(request, "chat/chat.html", status, user=None, **context)
    return page(
        request, "chat/chat.html", who, status, sees_people=who.access.sees_people, **context
    )


@router.get("/chat", include_in_schema=False)
def chat_form(request: Request, who: OptionalViewerDep) -> Response:
    return chat_page(request, who)


@router.post("/chat", include_in_schema=False)
async def chat_answer(request: Request, who: OptionalViewerDep) -> Response:
    """The page without JavaScript: the form posts here (no CSRF token: nothing changes and no
    session is needed)."""
    question = (await form_data(request)).get("question", "")
    try:
        reply = ask(question)
    except ChatInputError:
        return chat_page(request, who, 400, error="chat_error", question=question)
    return chat_page(request, who, reply=reply.to_json(), question=question)


@router.post(
    "/api/chat",
    tags=["Chatbot"],
    responses={
        **MIDDLEWARE_ERRORS,
        **json_answer(
            {
                "type": "object",
                "required": ["triage", "flags", "answer", "sources", "known"],
                "properties": {
                    "triage": {"type": "string"},
                    "flags": {"type": "array", "items": {"type": "object"}},
                    "answer": {"type": "string"},
                    "sources": {"type": "array"},
                    "known": {"type": "boolean"},
                    "offer_consultation": {"type": "boolean"},
                    "phrased_by": {"enum": ["knowledge_base", "llm"]},
                },
            },
            "The answer, its triage and sources",
        ),
        400: response_doc(
            {
                "anyOf": [
                    {
                        "type": "object",
                        "required": ["error"],
                        "properties": {"error": {"type": "string"}},
                    },
                    MIDDLEWARE_ERROR,
                ]
            },
            "Not a question",
            media_type=JSON,
        ),
    },
    openapi_extra=body_doc(
        {
            "type": "object",
            "required": ["question"],
            "properties": {"question": {"type": "string"}},
        },
        "A question",
        media_type=JSON,
    ),
)
async def chat_api(request: Request) -> JSONResponse:
    """Body `{"question": "..."}`; answer `{"triage", "flags", "answer", "sources", ...}`."""
    try:
        body = json.loads(await request.body())
    except ValueError:
        return JSONResponse({"error": 'body: send JSON {"question": "..."}'}, 400)
    try:
        reply = ask(body.get("question") if isinstance(body, dict) else None)
    except ChatInputError as exc:
        return JSONResponse({"error": str(exc)}, 400)
    return JSONResponse(reply.to_json())
