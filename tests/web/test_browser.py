"""The UI in a real browser: Debian's Chromium driven by Playwright, on a phone-sized screen.

Skipped, with the reason, where /usr/bin/chromium or the playwright package is missing
(`.ci/run` installs both).
"""

import pytest

from songkhoe.auth.service import create_user

from .conftest import HOME, NEIGHBOUR, PASSWORD


@pytest.fixture
def site(live_server, store):
    store.create_many(
        [
            {
                "resourceType": "Patient",
                "id": pid,
                "name": [{"family": "Trần", "given": ["Văn", given]}],
                "birthDate": "1958-02-03",
                "gender": "male",
                "managingOrganization": {"reference": f"Organization/tyt-{code}"},
            }
            for pid, given, code in (("hung", "Hùng", HOME), ("dung", "Dũng", NEIGHBOUR))
        ]
    )
    create_user(
        store.engine,
        username="yta.xa",
        password=PASSWORD,
        role="commune_health_worker",
        place=f"commune:{HOME}",
        full_name="Y tá xã",
    )
    return live_server


def test_a_commune_worker_logs_in_finds_a_person_and_sees_who_looked(phone_page, site, tmp_path):
    page = phone_page()
    page.goto(f"{site}/")
    assert page.url.endswith("/login")
    page.fill("#username", "yta.xa")
    page.fill("#password", "wrong password")
    page.click("button[type=submit]")
    assert "Sai tên đăng nhập hoặc mật khẩu" in page.inner_text("main")
    page.fill("#username", "yta.xa")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site}/")
    page.fill("input[name=q]", "tran van")  # no diacritics
    page.click("main button[type=submit]")
    rows = page.locator("tbody tr")
    assert rows.count() == 1 and "Trần Văn Hùng" in rows.first.inner_text()
    rows.first.locator("a").click()
    assert page.locator("h1").inner_text() == "Trần Văn Hùng"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "fits a 360 px screen"
    page.screenshot(path=str(tmp_path / "person.png"))
    page.click("text=Ai đã xem hồ sơ này")
    assert "yta.xa" in page.inner_text("tbody")
    page.goto(f"{site}/people/dung")
    assert "Không tìm thấy hồ sơ này" in page.inner_text("main")
    page.click("header button")  # log out
    page.wait_for_url(f"{site}/login")
    page.goto(f"{site}/people/hung")
    assert page.url.endswith("/login")
