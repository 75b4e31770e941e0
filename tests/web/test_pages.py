"""Every page of the web app as plain HTTP (no JavaScript), and every form's bad input answered
with a message next to the field, in Vietnamese, with nothing written."""

import gzip
import re
from datetime import UTC, date, datetime, timedelta

import orjson
import pytest
from sqlalchemy import select

from songkhoe.db.tables import resource
from songkhoe.fhir.search import SearchRequest, page
from songkhoe.ncd.figures import projections_month
from songkhoe.ncd.indicators import indicators
from songkhoe.ncd.scores import who_cvd_lab
from songkhoe.places.catalog import communes

from .conftest import PROVINCE, csrf_of

INLINE_STYLE = re.compile(r"<[^>]+\sstyle=", re.I)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)


def field_error(html: str, name: str) -> str | None:
    """The message shown next to a field (the element after its input), if any."""
    match = re.search(
        rf'<div class="field invalid">\s*<label for="f-{re.escape(name)}".*?'
        rf'<p class="field-error" id="e-{re.escape(name)}" role="alert">([^<]*)</p>',
        html,
        re.S,
    )
    return match[1] if match else None


def a_patient(town, commune_code: str) -> dict:
    """An adult of the commune aged about 45 to 70 today, inside the WHO CVD model's 40-80 (the
    first one born before 1975 turned 80 on 2026-12-08, and their risk became NaN)."""
    year = datetime.now(UTC).year
    earliest, latest = str(year - 70), str(year - 45)
    with town.store.engine.connect() as conn:
        for (content,) in conn.execute(
            select(resource.c.content).where(resource.c.res_type == "Patient")
        ):
            ref = content["managingOrganization"]["reference"]
            here = ref == f"Organization/tyt-{commune_code}"
            if here and earliest < content["birthDate"] < latest:
                return content
    raise AssertionError("no adult in the commune")


def test_every_page_answers_plain_html_under_the_csp(town):
    worker, manager = town.client("worker"), town.client("manager")
    person = a_patient(town, town.commune)
    pages = [
        (worker, "/"),
        (worker, "/people?q=nguyen"),
        (worker, f"/people/{person['id']}"),
        (worker, f"/people/{person['id']}/checkup"),
        (worker, f"/people/{person['id']}/access-log"),
        (worker, "/people/new"),
        (worker, "/worklists"),
        *[
            (worker, f"/worklists/{kind}")
            for kind in (
                "overdue",
                "uncontrolled",
                "high-risk-untreated",
                "undiagnosed-htn",
                "lung-screening",
                "af-stroke-risk",
            )
        ],
        (worker, "/dashboard"),
        (manager, "/"),
        (manager, "/dashboard"),
        (manager, "/map"),
        (manager, "/map?indicator=high_cvd_risk"),
        (manager, "/map?indicator=bp_control"),
    ]
    for client, path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert 'lang="vi"' in response.text
        assert not INLINE_STYLE.search(response.text), f"style attribute in {path}"
        assert not INLINE_SCRIPT.search(response.text), f"inline script in {path}"
        assert "/static/vendor/htmx.min.js" in response.text


def test_pages_refuse_who_may_not_see_them(town):
    worker, manager, director = (town.client(u) for u in ("worker", "manager", "director"))
    other = a_patient(town, town.other_commune)
    assert worker.get(f"/people/{other['id']}").status_code == 404
    assert worker.get(f"/people/{other['id']}/checkup").status_code == 404
    assert worker.get(f"/worklists?commune={town.other_commune}").status_code == 403
    assert worker.get("/map").status_code == 403
    assert manager.get("/people/new").status_code == 403
    assert manager.get("/worklists").status_code == 403
    assert manager.get("/map?level=province").status_code == 403
    assert director.get(f"/map?province={PROVINCE}").status_code == 403
    assert director.get(f"/dashboard?province={PROVINCE}").status_code == 403
    assert "Bản đồ này nằm ngoài địa bàn" in director.get(f"/map?province={PROVINCE}").text
    for path in ("/worklists", "/map", "/dashboard", "/people/new"):
        visitor = town.client("worker")
        visitor.cookies.clear()
        assert visitor.get(path, follow_redirects=False).headers["location"] == "/login"


def test_person_chart_shows_trends_and_the_risk_with_its_inputs(town):
    worker = town.client("worker")
    with town.store.engine.connect() as conn:
        contents = [c for (c,) in conn.execute(select(resource.c.content))]
    home = {
        c["id"]
        for c in contents
        if c["resourceType"] == "Patient"
        and c["managingOrganization"]["reference"] == f"Organization/tyt-{town.commune}"
    }
    risk = next(
        c
        for c in contents
        if c["resourceType"] == "RiskAssessment" and c["subject"]["reference"][8:] in home
    )
    html = worker.get(f"/people/{risk['subject']['reference'][8:]}").text
    assert html.count('<svg class="chart"') >= 1 and "<polyline" in html
    shown = f"{round(risk['prediction'][0]['probabilityDecimal'] * 100, 1)}%"
    assert shown in html
    basis = re.search(r'<ul class="basis">(.*?)</ul>', html, re.S)[1]
    assert basis.count("<li>") == len(risk["basis"])
    assert "Huyết áp" in basis and "mmHg" in basis


def test_vendor_libraries_and_boundaries_are_served_compressed(town):
    client = town.client("manager")
    for name, marker in (
        ("htmx.min.js", b"htmx"),
        ("leaflet.js", b"Leaflet"),
        ("leaflet.css", b".leaflet-"),
    ):
        response = client.get(f"/static/vendor/{name}", headers={"accept-encoding": "gzip"})
        assert response.status_code == 200 and marker in response.content
        assert response.headers["content-encoding"] == "gzip"
        assert "max-age" in response.headers["cache-control"]
    assert client.get("/static/vendor/other.js").status_code == 404
    shapes = client.get(f"/static/geo/communes-{PROVINCE}.json")
    features = orjson.loads(shapes.content)["features"]
    assert sorted(f["properties"]["code"] for f in features) == [c.code for c in communes(PROVINCE)]
    assert len(shapes.content) < 60_000
    raw = client.get(f"/static/geo/communes-{PROVINCE}.json", headers={"accept-encoding": "gzip"})
    assert len(gzip.compress(raw.content)) > 0


@pytest.mark.parametrize(
    ("indicator", "numerator", "denominator"),
    [
        ("bp_control", "htn_controlled", "htn_denominator"),
        ("htn_prevalence", "htn_registered", "adults"),
        ("checkup_coverage", "checkup_12m", "adults"),
    ],
)
def test_map_values_are_the_ncd_indicators_of_each_commune(town, indicator, numerator, denominator):
    month = projections_month(town.store.engine)
    rows, _ = indicators(
        town.store.engine, place=("province", PROVINCE), month=month, by_commune=True
    )
    expected = {
        r["place_code"]: round(100 * r[numerator] / r[denominator], 1) if r[denominator] else None
        for r in rows[1:]
    }
    html = town.client("manager").get(f"/map?indicator={indicator}").text
    data = orjson.loads(re.search(r'id="map-data">(.*?)</script>', html, re.S)[1])
    assert {code: v[0] for code, v in data["values"].items()} == expected
    assert sum(v is not None for v in expected.values()) > 10
    assert all((v[0] is None) == (v[1] is None) for v in data["values"].values())
    assert len(re.findall(r"<tr data-code=", html)) == len(communes(PROVINCE))


def test_registering_a_person_checks_the_cccd_and_duplicates(town):
    worker = town.client("worker")
    form = worker.get("/people/new").text
    good = {
        "csrf": csrf_of(form),
        "family": "Lò",
        "given": "Văn Pín",
        "sex": "male",
        "birth": "1980-03-04",
        "cccd": "012080123456",
        "bhyt": "GD4120000012345",
        "phone": "0912345678",
        "line": "Bản Mới",
        "commune": town.commune,
    }
    before = town.count("Patient")
    bad_cases = {
        "cccd": [
            ("099080123456", "mã tỉnh"),
            ("012180123456", "giới tính"),
            ("012081123456", "năm sinh"),
            ("012280123456", "năm sinh"),
            ("01208012345", "định dạng"),
        ],
        "bhyt": [("GD412", "định dạng")],
        "phone": [("912345678", "định dạng")],
        "birth": [("2999-01-01", "Ngày phải từ"), ("hôm qua", "năm-tháng-ngày")],
        "family": [("", "Vui lòng nhập")],
        "sex": [("other", "chọn một giá trị")],
        "commune": [(town.other_commune, "chọn một giá trị")],
    }
    for name, cases in bad_cases.items():
        for value, says in cases:
            response = worker.post("/people/new", data={**good, name: value})
            assert response.status_code == 422, (name, value)
            message = field_error(response.text, name)
            assert message is not None and says in message, (name, value, message)
    assert town.count("Patient") == before, "nothing written"
    created = worker.post("/people/new", data=good, follow_redirects=False)
    assert created.status_code == 303
    assert town.count("Patient") == before + 1
    again = worker.post("/people/new", data={**good, "bhyt": ""})
    assert "đã được đăng ký" in field_error(again.text, "cccd")
    twin = {**good, "cccd": "", "bhyt": "", "given": "văn  pín"}
    asked = worker.post("/people/new", data=twin)
    assert asked.status_code == 422 and "cùng họ tên" in field_error(asked.text, "given")
    assert created.headers["location"] in asked.text, "the existing person is linked"
    confirmed = worker.post(
        "/people/new", data={**twin, "confirm_new": "1"}, follow_redirects=False
    )
    assert confirmed.status_code == 303 and town.count("Patient") == before + 2


def test_a_checkup_is_saved_at_once_with_the_recomputed_risk(town):
    worker = town.client("worker")
    person = a_patient(town, town.commune)
    path = f"/people/{person['id']}/checkup"
    form = worker.get(path).text
    assert 'min="60.0" max="300.0" step="1"' in form and "required" in form
    today = datetime.now(UTC).date()
    day = (today - timedelta(days=1)).isoformat()
    good = {
        "csrf": csrf_of(form),
        "day": day,
        "sbp": "162",
        "dbp": "101",
        "weight": "61.5",
        "height": "158",
        "waist": "84",
        "smoking": "current",
        "fpg": "7.4",
        "cholesterol": "6.8",
    }
    counts = {t: town.count(t) for t in ("Encounter", "Observation", "RiskAssessment")}
    bad_cases = [
        ("sbp", "400", "Giá trị phải từ 60 đến 300"),
        ("sbp", "", "Vui lòng nhập"),
        ("sbp", "abc", "nhập một số"),
        ("sbp", "120.5", "chữ số thập phân"),
        ("dbp", "170", "nhỏ hơn tâm thu"),
        ("weight", "0", "Giá trị phải từ"),
        ("cholesterol", "30", "Giá trị phải từ 1 đến 20"),
        ("fpg", "-1", "Giá trị phải từ"),
        ("smoking", "sometimes", "chọn một giá trị"),
        ("day", (today + timedelta(days=2)).isoformat(), "Ngày phải từ"),
    ]
    for name, value, says in bad_cases:
        response = worker.post(path, data={**good, name: value})
        assert response.status_code == 422, (name, value)
        assert says in (field_error(response.text, name) or ""), (name, value)
    assert {t: town.count(t) for t in counts} == counts, "nothing written"
    saved = worker.post(path, data=good)
    assert saved.status_code == 200, saved.text
    assert town.count("Encounter") == counts["Encounter"] + 1
    added = town.count("Observation") - counts["Observation"]
    assert added == 8  # BP, weight, height, waist, BMI, smoking, glucose, cholesterol
    age = (date.fromisoformat(day) - date.fromisoformat(person["birthDate"])).days / 365.25
    expected = float(who_cvd_lab([person["gender"]], [age], [1.0], [1.0], [162.0], [6.8])[0])
    assert f"<strong>{round(expected, 1)}%</strong>" in saved.text
    with town.store.engine.connect() as conn:
        found = [
            r
            for _, r in page(conn, "RiskAssessment", SearchRequest(count=2000))
            if r["subject"]["reference"] == f"Patient/{person['id']}"
        ]
        assert len(found) == 1
        assert found[0]["prediction"][0]["probabilityDecimal"] == pytest.approx(expected / 100)
        basis = [b["reference"] for b in found[0]["basis"]]
        assert basis[0].startswith("Encounter/") and len(basis) >= 5  # BP, chol, smoke, glucose
    chart = worker.get(f"/people/{person['id']}").text
    assert f"{round(expected, 1)}%" in chart and "162/101 mmHg" in chart


def test_working_a_worklist_item_records_a_communication(town):
    worker = town.client("worker")
    listing = worker.get("/worklists/overdue")
    ids = re.findall(r'<tr id="p-([^"]+)"', listing.text)
    assert ids, "the synthetic commune has overdue people"
    before = town.count("Communication")
    data = {"csrf": csrf_of(listing.text), "commune": town.commune, "patient": ids[0]}
    bad = worker.post("/worklists/overdue/contact", data={**data, "mode": "letter"})
    assert bad.status_code == 422
    assert "chọn một giá trị" in (field_error(bad.text, f"{ids[0]}-mode") or "")
    long_note = worker.post(
        "/worklists/overdue/contact", data={**data, "mode": "call", "note": "x" * 201}
    )
    assert "Tối đa 200 ký tự" in (field_error(long_note.text, f"{ids[0]}-note") or "")
    assert town.count("Communication") == before
    done = worker.post(
        "/worklists/overdue/contact",
        data={**data, "mode": "call", "note": "Hẹn tái khám thứ Hai"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and town.count("Communication") == before + 1
    after = worker.get("/worklists/overdue").text
    row = re.search(rf'<tr id="p-{ids[0]}" class="done">(.*?)</tr>', after, re.S)
    assert row and "Đã liên hệ" in row[1]
    chart = worker.get(f"/people/{ids[0]}").text
    assert "Gọi điện" in chart and "Hẹn tái khám thứ Hai" in chart
    other = a_patient(town, town.other_commune)
    refused = worker.post(
        "/worklists/overdue/contact", data={**data, "patient": other["id"], "mode": "visit"}
    )
    assert refused.status_code == 403 and town.count("Communication") == before + 1


def test_the_dashboard_shows_the_indicators_and_their_trend(town):
    month = projections_month(town.store.engine)
    rows, _ = indicators(
        town.store.engine, place=("province", PROVINCE), month=month, by_commune=True
    )
    html = town.client("manager").get("/dashboard").text
    coverage = rows[0]["checkup_coverage_pct"]
    assert f"<strong>{coverage}%</strong>" in html
    assert html.count("<tr><td>") == len(communes(PROVINCE))
    assert '<svg class="chart"' in html and '<svg class="spark"' in html
    bad = town.client("manager").get("/dashboard?month=2026-13")
    assert bad.status_code == 400 and "Kỳ không hợp lệ" in bad.text
