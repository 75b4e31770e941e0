"""The outbreak alert in Debian's Chromium on a 360 px phone screen: a provincial officer logs in,
finds the open alert of the injected dengue outbreak, confirms it and sees the response task; no
console errors. Skipped, with the reason, without /usr/bin/chromium or the playwright package."""

from datetime import date

import pytest

from songkhoe.auth.service import create_user
from songkhoe.places.catalog import commune
from songkhoe.surveillance import aggregation as agg
from songkhoe.surveillance import service
from songkhoe.surveillance.synth_cases import synthetic_province

PROVINCE = "12"
PASSWORD = "mật-khẩu-đủ-dài"


@pytest.fixture
def site(live_server, store):
    outbreak = synthetic_province(store, province_code=PROVINCE, people=500, seed=21,
                                  as_of=date(2026, 6, 30))  # fmt: skip
    service.run_weekly(store, week=outbreak.week)
    create_user(store.engine, username="ql.tinh", password=PASSWORD, role="provincial_manager",
                place=f"province:{PROVINCE}", full_name="Cán bộ Sở Y tế")  # fmt: skip
    return live_server, outbreak


def test_an_officer_confirms_the_outbreak_alert_on_a_phone(phone_page, site, tmp_path, log_in):
    url, outbreak = site
    place = commune(outbreak.commune).full_name
    page = phone_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(page, url, "ql.tinh", PASSWORD)
    page.goto(f"{url}/surveillance")
    row = page.locator("table.surv-alerts tbody tr", has_text=place).filter(
        has_text="Sốt xuất huyết Dengue"
    )
    assert row.count() == 1, page.inner_text("main")
    assert agg.week_label(outbreak.week) in row.inner_text()
    row.locator("a").click()
    page.wait_for_url("**/surveillance/alerts/*")
    assert "Chờ xem xét" in page.inner_text("dl.facts")
    assert page.locator("svg.surv-chart rect.bar.alarm").count() == 1
    page.fill("#note", "Đã xác minh tại xã")
    page.click("text=Xác nhận và giao xử lý")
    page.wait_for_selector("text=Nhiệm vụ điều tra, xử lý ổ dịch")
    main = page.inner_text("main")
    station = service.owner_choices(outbreak.commune)[f"tyt-{outbreak.commune}"]
    assert "Đã xác nhận" in main and station in main  # the task's owner, by default
    assert "Đã xác minh tại xã" in main and "ql.tinh" in main
    assert page.locator("form[method=post] input[name=action]").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "fits 360 px"
    page.screenshot(path=str(tmp_path / "alert-confirmed.png"), full_page=True)
    assert errors == [], errors
