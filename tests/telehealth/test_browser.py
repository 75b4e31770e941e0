"""The live chat in Debian's Chromium at 360 px: a message typed by the specialist appears on the
commune worker's open page without a reload (telehealth.js over the WebSocket)."""

from .test_access import open_xray_case

PASSWORD = "mật-khẩu-đủ-dài"


def test_chat_messages_appear_live(phone_page, live_server, world, log_in):
    case = open_xray_case(world)
    worker, specialist = phone_page(), phone_page()  # own cookies each
    log_in(worker, live_server, "yta.xa", PASSWORD)
    log_in(specialist, live_server, "bs.xquang", PASSWORD)
    for page in (worker, specialist):
        page.goto(f"{live_server}/telehealth/cases/{case.id}")
        page.wait_for_selector("#chat[data-live]")
    assert worker.evaluate("document.documentElement.scrollWidth") <= 360, "fits a 360 px screen"
    specialist.fill("#chat-text", "Cho xem thêm phim nghiêng.")
    specialist.click("#chat-form button")
    worker.wait_for_selector("#chat-log li >> text=Cho xem thêm phim nghiêng.", timeout=10000)
    assert specialist.input_value("#chat-text") == ""  # sent over the socket, no reload
    assert specialist.url.endswith(f"/telehealth/cases/{case.id}")
