"""POST /api/chat, the public /chat page (with and without JavaScript, logged in or not) and
`songkhoe chat ask --json`; the question is neither stored nor logged."""

import logging
import re
import subprocess
import sys

import orjson
import pytest
from fastapi.testclient import TestClient

from songkhoe.app import create_app
from songkhoe.auth.service import create_user
from songkhoe.places.catalog import communes

PASSWORD = "mật-khẩu-đủ-dài"
PRIVATE = "Nguyễn Văn An 0912345678 bị đau ngực"


@pytest.fixture
def client(store):
    return TestClient(create_app(store=store))


def test_the_api_triages_then_answers_with_sources(client):
    reply = client.post("/api/chat", json={"question": "Bố tôi đau thắt ngực, vã mồ hôi"}).json()
    assert reply["triage"] == "emergency" and reply["offer_consultation"] is True
    assert reply["answer"].startswith("CẤP CỨU") and "115" in reply["answer"]
    assert reply["flags"][0]["id"] == "chest_pain"
    assert reply["sources"][0]["id"] == "dau-nguc-nhoi-mau-co-tim"

    reply = client.post("/api/chat", json={"question": "lich tiem chung cho be 2 thang"}).json()
    assert reply["triage"] == "self_care" and reply["known"] is True
    assert reply["sources"][0]["id"] == "tiem-chung-lich-duoi-1-tuoi"
    assert "Nguồn: Bộ Y tế" in reply["answer"] and reply["sources"][0]["reviewed"]

    reply = client.post("/api/chat", json={"question": "Giá vàng hôm nay bao nhiêu?"}).json()
    assert reply["answer"] == "Không biết — hãy hỏi trạm y tế xã." and reply["sources"] == []


@pytest.mark.parametrize(
    "body, error",
    [
        (b"not json", "body: send JSON"),
        (b'{"question": ""}', "question: write a question"),
        (b'{"question": 5}', "question: write a question"),
        (b"[1]", "question: write a question"),
        (orjson.dumps({"question": "a" * 1001}), "question: at most 1000"),
    ],
)
def test_bad_requests_name_the_field(client, body, error):
    response = client.post("/api/chat", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"].startswith(error)


def test_citizens_use_the_page_without_an_account_or_javascript(client):
    page = client.get("/chat")
    assert page.status_code == 200 and 'action="/chat"' in page.text
    assert "/static/chat.js" in page.text and "Đăng xuất" not in page.text
    answer = client.post("/chat", data={"question": "Bé 6 tuần tuổi sốt 38 độ"})
    assert answer.status_code == 200
    assert 'data-triage="emergency"' in answer.text and "Gọi ngay 115" in answer.text
    assert "Trẻ dưới 3 tháng tuổi bị sốt" in answer.text
    assert client.post("/chat", data={"question": " "}).status_code == 400
    assert "no-store" in answer.headers["cache-control"]


def test_logged_in_workers_see_it_in_their_menu_with_a_way_to_a_record(store, client):
    home = communes("24")[0].code
    create_user(store.engine, username="yta", password=PASSWORD, role="commune_health_worker",
                place=f"commune:{home}", full_name="Y tá")  # fmt: skip
    form = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)[1]
    client.post("/login", data={"username": "yta", "password": PASSWORD, "csrf": csrf})
    page = client.post("/chat", data={"question": "Con tôi co giật"})
    assert 'href="/chat"' in page.text and "Đăng xuất" in page.text
    assert 'href="/people"' in page.text and "tạo tư vấn" in page.text


def test_nothing_of_the_question_is_logged_or_stored(store, client, caplog):
    counts = store.count_by_type()
    with caplog.at_level(logging.DEBUG):
        assert client.post("/api/chat", json={"question": PRIVATE}).status_code == 200
        client.post("/chat", data={"question": PRIVATE})
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "0912345678" not in logged and "Nguyễn Văn An" not in logged
    assert store.count_by_type() == counts


def test_the_command_prints_one_json_object():
    run = subprocess.run(
        [sys.executable, "-m", "songkhoe", "chat", "ask", "khong kho tho, chi ho nhe", "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    reply = orjson.loads(run.stdout)
    assert {"triage", "answer", "sources"} <= set(reply) and reply["triage"] == "self_care"
    failed = subprocess.run(
        [sys.executable, "-m", "songkhoe", "chat", "ask", "", "--json"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert failed.returncode == 2
    assert failed.stderr == "songkhoe: error: question: write a question (text, not empty)\n"
