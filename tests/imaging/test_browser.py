"""The X-ray pages in Debian's Chromium on a 360 px phone screen: upload a film, the AI reads
it, switch between film and heatmap, confirm the reading. Skipped, with the reason, without
/usr/bin/chromium or the playwright package."""

import time

import pytest

from songkhoe.auth.service import create_user
from songkhoe.imaging import phantom, worker
from songkhoe.imaging.inference import Analyzer
from songkhoe.imaging.media import MediaFiles
from songkhoe.places.catalog import communes

HOME = communes("24")[0].code
PASSWORD = "mật-khẩu-đủ-dài"


@pytest.fixture
def site(live_server, store, imaging_env):
    store.create(
        {
            "resourceType": "Patient",
            "id": "lan",
            "gender": "female",
            "name": [{"family": "Nguyễn", "given": ["Thị", "Lan"]}],
            "managingOrganization": {"reference": f"Organization/tyt-{HOME}"},
        }
    )
    create_user(
        store.engine,
        username="bs.xquang",
        password=PASSWORD,
        role="radiologist",
        place="province:24",
        full_name="Bác sĩ X-quang",
    )
    return live_server


def test_a_radiologist_uploads_reads_and_confirms_on_a_phone(
    phone_page, site, store, imaging_env, phantom_model, make_png, tmp_path, log_in
):
    film = tmp_path / "phim.png"
    film.write_bytes(make_png(phantom.draw(1, height=256, seed=31, positive_fraction=1).films[0]))
    page = phone_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(page, site, "bs.xquang", PASSWORD)
    page.goto(f"{site}/people/lan")
    page.click("text=Tải phim X-quang lên")
    page.set_input_files("#film", str(film))
    page.click("main button[type=submit]")
    page.wait_for_url("**/imaging/studies/*")
    assert "AI đang đọc phim này" in page.inner_text("main")
    worker.run_once(store, MediaFiles(imaging_env), Analyzer(phantom_model))
    page.reload()
    assert "AI hỗ trợ — bác sĩ quyết định" in page.inner_text("#ai-result")
    image = page.locator("#film-image")
    assert image.get_attribute("src").endswith("-film")
    assert page.evaluate("document.getElementById('film-image').naturalWidth") > 0
    page.click("#overlay-toggle")
    assert image.get_attribute("src").endswith("-heatmap"), "switched without reloading"
    for _ in range(100):  # wait_for_function would need 'unsafe-eval', which the CSP refuses
        if page.evaluate("document.getElementById('film-image').complete"):
            break
        time.sleep(0.05)
    assert page.evaluate("document.getElementById('film-image').naturalWidth") > 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "fits 360 px"
    page.screenshot(path=str(tmp_path / "study.png"), full_page=True)
    page.click("#review button[type=submit]")
    page.wait_for_selector("#conclusion")
    assert "Nodule" in page.inner_text("#conclusion")
    page.goto(f"{site}/imaging")
    assert "Không có phim nào chờ đọc" in page.inner_text("main")
    assert errors == [], errors
