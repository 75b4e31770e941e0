"""The chat page in Debian's Chromium (Playwright) on a 360 px screen: the question goes to
/api/chat by fetch under the strict CSP, the answer shows with its triage and sources.

Skipped, with the reason, where /usr/bin/chromium or the playwright package is missing."""


def test_a_citizen_asks_twice_and_sees_triage_and_sources(phone_page, live_server, tmp_path):
    page = phone_page()
    problems: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(f"{live_server}/chat")
    page.fill("#chat-question", "be 1 thang tuoi bi sot, bo bu")
    page.click("#chat-form button[type=submit]")
    answer = page.locator(".chat-bot").first
    answer.wait_for()
    assert answer.get_attribute("data-triage") == "emergency"
    assert "Gọi ngay 115" in answer.inner_text()
    assert page.url.endswith("/chat")  # answered by fetch, no page load

    page.fill("#chat-question", "Pha oresol thế nào cho đúng?")
    page.click("#chat-form button[type=submit]")
    second = page.locator(".chat-bot").nth(1)
    second.wait_for()
    assert second.get_attribute("data-triage") == "self_care"
    assert second.locator(".chat-sources a").first.get_attribute("href").startswith("https://")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page is {width} px wide at 360 px"
    page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)
    assert problems == []
