"""Optional phrasing of answers by a language model behind an OpenAI-compatible
`/chat/completions` endpoint (Ollama, vLLM, llama.cpp server), off unless SONGKHOE_CHAT_LLM_URL
is set. The model sees only the retrieved entries and must cite them as [1], [2], ...; a reply
that cites nothing, cites an entry it was not given, or does not come in time is discarded and
the chatbot quotes the entry instead. The question is never logged (it may name a person)."""

import json
import logging
import re
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass

from songkhoe.chatbot.knowledge import Entry

logger = logging.getLogger(__name__)

CITATION = re.compile(r"\[(\d+)\]")
SYSTEM = (
    "Bạn là trợ lý sức khỏe của trạm y tế xã ở Việt Nam. Chỉ trả lời bằng thông tin có trong "
    "các mục kiến thức được đánh số dưới đây, bằng tiếng Việt đơn giản, ngắn gọn. Sau mỗi ý, ghi "
    "nguồn bằng số của mục trong ngoặc vuông, ví dụ [1]. Không thêm thông tin ngoài các mục, không "
    "chẩn đoán, không kê đơn. Nếu các mục không trả lời được câu hỏi, chỉ viết: "
    "Không biết — hãy hỏi trạm y tế xã."
)


@dataclass(frozen=True, slots=True)
class LlmSettings:
    url: str  # API base, e.g. http://127.0.0.1:11434/v1
    model: str
    api_key: str
    timeout_s: float


def prompt(question: str, entries: Sequence[Entry]) -> list[dict]:
    """The chat messages: the rules, then the numbered entries and the question."""
    numbered = "\n\n".join(f"[{i}] {e.title}\n{e.body}" for i, e in enumerate(entries, start=1))
    user = f"Các mục kiến thức:\n\n{numbered}\n\nCâu hỏi: {question}"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def cites_only(text: str, count: int) -> bool:
    """Whether `text` cites at least one of the entries 1..count and nothing else."""
    cited = {int(n) for n in CITATION.findall(text)}
    return bool(cited) and cited <= set(range(1, count + 1))


def phrase(question: str, entries: Sequence[Entry], settings: LlmSettings) -> str | None:
    """The model's answer from `entries`, or None (error, timeout, or an answer that does not
    cite the given entries properly)."""
    body = {"model": settings.model, "messages": prompt(question, entries), "temperature": 0}
    headers = {"Content-Type": "application/json"}
    if settings.api_key:
        headers["Authorization"] = f"Bearer {settings.api_key}"
    request = urllib.request.Request(
        settings.url.rstrip("/") + "/chat/completions",
        data=json.dumps(body).encode(),
        headers=headers,
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.timeout_s) as response:
            reply = json.loads(response.read())
        text = reply["choices"][0]["message"]["content"].strip()
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        logger.warning("chat LLM unavailable (%s): quoting the knowledge base", type(exc).__name__)
        return None
    if not cites_only(text, len(entries)):
        logger.warning("chat LLM answer without valid citations: quoting the knowledge base")
        return None
    return text
