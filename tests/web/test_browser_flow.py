"""The health worker's day in a real browser (Debian's Chromium driven by Playwright, 360 px
wide): log in, find a person typed without diacritics, enter a check-up and see the recomputed
risk, work a worklist item; then a manager opens the disease map and every commune of the
province is coloured. No console errors; screenshots go to var/screenshots/.

Skipped, with the reason, where /usr/bin/chromium or the playwright package is missing.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from songkhoe.db.tables import resource
from songkhoe.fhir.indexing import normalize_string
from songkhoe.places.catalog import communes

from .conftest import PASSWORD, PROVINCE

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def watched(page, errors: list[str]):
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, f"{name} fits 360 px"


def test_a_worker_enters_a_checkup_works_a_list_and_a_manager_opens_the_map(
    phone_page, town, live_server, log_in
):
    with town.store.engine.connect() as conn:
        people = [
            c
            for (c,) in conn.execute(
                select(resource.c.content).where(resource.c.res_type == "Patient")
            )
        ]
    home = f"Organization/tyt-{town.commune}"
    person = next(
        p
        for p in people
        if p["managingOrganization"]["reference"] == home and "1950" < p["birthDate"] < "1975"
    )
    name = person["name"][0]["text"]
    errors: list[str] = []
    page = watched(phone_page(), errors)
    log_in(page, live_server, "worker", PASSWORD)
    shot(page, "home-worker")

    page.fill("input[name=q]", normalize_string(name))  # typed without diacritics
    page.click("main form.search button")
    page.click(f"a[href='/people/{person['id']}']")
    assert page.locator("h1").inner_text() == name
    shot(page, "person-chart")

    page.click("text=Nhập kết quả khám định kỳ")
    day = (datetime.now(UTC) + timedelta(hours=7)).date().isoformat()
    page.fill("#f-day", day)
    page.fill("#f-sbp", "400")  # out of range: the browser refuses to send the form
    page.fill("#f-dbp", "96")
    page.select_option("#f-smoking", "current")
    page.fill("#f-cholesterol", "6.4")
    page.click("main button[type=submit]")
    assert page.evaluate("document.querySelector('#f-sbp').validity.rangeOverflow")
    assert "/checkup" in page.url and page.locator("#risk-result").count() == 0
    page.fill("#f-sbp", "158")
    page.click("main button[type=submit]")
    result = page.locator("#risk-result")
    result.wait_for()
    assert "Nguy cơ tim mạch 10 năm" in result.inner_text() or "Chưa tính được" in (
        result.inner_text()
    )
    assert "158/96 mmHg" in result.inner_text()
    shot(page, "checkup-risk")

    page.goto(f"{live_server}/worklists/overdue")
    row = page.locator("table.worklist tbody tr").first
    patient = row.get_attribute("id")
    row.locator("select").select_option("call")
    row.locator("input[name=note]").fill("Đã gọi, hẹn thứ Hai")
    row.locator("button[type=submit]").click()
    done = page.locator(f"tr#{patient}.done")
    done.wait_for()
    assert "Đã liên hệ" in done.inner_text()
    shot(page, "worklist")

    page.click("header button")  # log out
    page.wait_for_url(f"{live_server}/login")
    log_in(page, live_server, "manager", PASSWORD)
    page.goto(f"{live_server}/map")
    page.wait_for_selector("#map[data-ready='1']")
    areas = int(page.get_attribute("#map", "data-areas"))
    coloured = int(page.get_attribute("#map", "data-coloured"))
    assert areas == coloured == len(communes(PROVINCE))
    fills = page.eval_on_selector_all(
        "#map path.leaflet-interactive", "ps => ps.map(p => p.getAttribute('fill'))"
    )
    assert len(fills) == areas and "#cccccc" not in fills
    page.hover("#map path.leaflet-interactive >> nth=0", force=True)
    shot(page, "map")
    page.goto(f"{live_server}/dashboard")
    shot(page, "dashboard")
    assert errors == [], errors
