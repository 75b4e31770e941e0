"""The chatbot's one operation: triage a question, then answer it from the knowledge base.

Nothing about the question is stored or logged: it may name a person or describe their health.
"""

from dataclasses import dataclass

from songkhoe.chatbot import llm
from songkhoe.chatbot.retrieval import Hit, Retriever, default_retriever
from songkhoe.chatbot.triage import CALL, EMERGENCY, SELF_CARE, Triage, triage
from songkhoe.config import Settings, get_settings

MAX_QUESTION_CHARS = 1000
UNKNOWN = "Không biết — hãy hỏi trạm y tế xã."
CONSULTATION = (
    "Bạn có muốn mở một cuộc tư vấn với trạm y tế xã không? Hãy gọi hoặc đến trạm y tế xã nơi "
    "bạn sống; nhân viên y tế có thể mở tư vấn từ xa với bác sĩ tuyến trên."
)


class ChatInputError(ValueError):
    """A question that cannot be answered as given; the message names the field."""


@dataclass(frozen=True, slots=True)
class Reply:
    triage: Triage
    answer: str
    hits: tuple[Hit, ...]  # the entries the answer rests on; empty: "I don't know"
    phrased_by: str  # "knowledge_base" (quoted) or "llm"

    @property
    def offers_consultation(self) -> bool:
        return self.triage.level != SELF_CARE

    def to_json(self) -> dict:
        """The reply as `POST /api/chat` and `songkhoe chat ask --json` give it."""
        return {
            "triage": self.triage.level,
            "flags": self.triage.to_json()["flags"],
            "answer": self.answer,
            "sources": [hit.entry.citation() for hit in self.hits],
            "known": bool(self.hits),
            "offer_consultation": self.offers_consultation,
            "phrased_by": self.phrased_by,
        }


def clean_question(question: object) -> str:
    if not isinstance(question, str) or not question.strip():
        raise ChatInputError("question: write a question (text, not empty)")
    if len(question) > MAX_QUESTION_CHARS:
        raise ChatInputError(f"question: at most {MAX_QUESTION_CHARS} characters")
    return question.strip()


def llm_settings(settings: Settings) -> llm.LlmSettings | None:
    if not settings.chat_llm_url:
        return None
    return llm.LlmSettings(
        settings.chat_llm_url,
        settings.chat_llm_model,
        settings.chat_llm_api_key,
        settings.chat_llm_timeout_s,
    )


def quote(hits: tuple[Hit, ...]) -> str:
    """The best entry as written, with its source, and the titles of the other matches."""
    best = hits[0].entry
    text = f"{best.title}\n\n{best.body}\n\nNguồn: {best.source} (xem xét lại ngày "
    text += f"{best.reviewed:%d/%m/%Y})."
    if len(hits) > 1:
        text += "\n\nXem thêm: " + "; ".join(hit.entry.title for hit in hits[1:]) + "."
    return text


def triage_text(result: Triage) -> str:
    """What to do now, before any other information: emergency advice or a visit."""
    if result.level == SELF_CARE:
        return ""
    flags = [flag for flag in result.flags if flag.level == result.level]
    labels = "; ".join(flag.label for flag in flags)
    advice = " ".join(dict.fromkeys(flag.advice for flag in flags))
    if result.level == EMERGENCY:
        return f"CẤP CỨU — {labels}. {CALL} {advice}\n\n{CONSULTATION}"
    return f"Nên đi khám — {labels}. {advice}\n\n{CONSULTATION}"


def ask(
    question: object, *, retriever: Retriever | None = None, settings: Settings | None = None
) -> Reply:
    """Triage `question`, then answer from the knowledge base (phrased by the LLM when one is
    configured and answers properly), or say "I don't know"."""
    text = clean_question(question)
    result = triage(text)
    retriever = retriever or default_retriever()
    hits = tuple(retriever.answerable(retriever.search(text)))
    phrased_by = "knowledge_base"
    if not hits:  # an emergency without a matching entry needs no "I don't know"
        body = "" if result.level == EMERGENCY else UNKNOWN
    else:
        llm_config = llm_settings(settings or get_settings())
        phrased = llm.phrase(text, [h.entry for h in hits], llm_config) if llm_config else None
        body = phrased or quote(hits)
        phrased_by = "llm" if phrased else phrased_by
    first = triage_text(result)
    return Reply(result, "\n\n".join(part for part in (first, body) if part), hits, phrased_by)
