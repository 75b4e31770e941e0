"""The optional LLM, against a small OpenAI-compatible server started here: answers phrased from
the retrieved entries with citations; the quoted entry whenever the model errs, cites badly or is
late; off by default."""

import json
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from songkhoe.chatbot.service import ask
from songkhoe.config import get_settings

QUESTION = "Pha oresol thế nào cho đúng?"


class FakeModel(BaseHTTPRequestHandler):
    """Answers /v1/chat/completions with `server.reply` after `server.delay` seconds (status
    `server.status`), recording each request body and headers."""

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append((self.path, dict(self.headers), body))
        time.sleep(self.server.delay)
        payload = json.dumps(
            {"choices": [{"message": {"role": "assistant", "content": self.server.reply}}]}
        ).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def fake_model():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeModel)
    server.requests, server.delay, server.status = [], 0.0, 200
    server.reply = "Pha cả gói với đúng lượng nước ghi trên gói [1]."
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def settings_for(server, timeout: float = 2.0):
    return replace(
        get_settings(),
        chat_llm_url=f"http://127.0.0.1:{server.server_port}/v1",
        chat_llm_model="qwen-test",
        chat_llm_api_key="secret-key",
        chat_llm_timeout_s=timeout,
    )


def test_the_model_phrases_the_answer_from_the_retrieved_entries(fake_model):
    reply = ask(QUESTION, settings=settings_for(fake_model))
    assert reply.phrased_by == "llm" and reply.answer == fake_model.reply
    assert reply.to_json()["sources"][0]["id"] == "tieu-chay-oresol"
    ((path, headers, body),) = fake_model.requests
    assert path == "/v1/chat/completions" and headers["Authorization"] == "Bearer secret-key"
    assert body["model"] == "qwen-test" and body["temperature"] == 0
    system, user = body["messages"]
    assert "Chỉ trả lời bằng thông tin có trong các mục" in system["content"]
    assert "[1] Pha và cho trẻ uống oresol" in user["content"] and QUESTION in user["content"]
    assert "50–100 ml" in user["content"]  # the entry's body goes to the model


@pytest.mark.parametrize(
    "delay, status, answer",
    [
        (1.5, 200, "Trả lời [1]."),  # later than the 0.5 s timeout
        (0.0, 500, "Trả lời [1]."),
        (0.0, 200, "Pha với nước ngọt cho dễ uống."),  # no citation
        (0.0, 200, "Theo mục [9] thì ..."),  # an entry it was not given
    ],
)
def test_the_entry_is_quoted_when_the_model_fails(fake_model, delay, status, answer):
    fake_model.delay, fake_model.status, fake_model.reply = delay, status, answer
    started = time.perf_counter()
    reply = ask(QUESTION, settings=settings_for(fake_model, timeout=0.5))
    assert time.perf_counter() - started < 1.4
    assert reply.phrased_by == "knowledge_base"
    assert reply.answer.startswith("Pha và cho trẻ uống oresol") and "Nguồn: WHO" in reply.answer


def test_the_model_is_off_by_default(fake_model, monkeypatch):
    monkeypatch.delenv("SONGKHOE_CHAT_LLM_URL", raising=False)
    assert get_settings().chat_llm_url == ""
    reply = ask(QUESTION)
    assert reply.phrased_by == "knowledge_base" and fake_model.requests == []
