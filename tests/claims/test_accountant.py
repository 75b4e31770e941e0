"""The health-insurance accountant: the role (place-based, reads its place, writes only claims),
the month's claims page with each state and what to fix, the summary's downloads, and who may
not see them."""

import io
import re
from datetime import date, timedelta
from decimal import Decimal

import openpyxl
import pytest
from fastapi.testclient import TestClient

from songkhoe.app import create_app
from songkhoe.auth.models import ROLE_LABELS_VI, Role
from songkhoe.auth.policy import Access
from songkhoe.auth.service import InvalidAccount, issue_token, user_principal
from songkhoe.claims.month import facility_of, last_complete_month, parse_month
from songkhoe.claims.views import vnd
from songkhoe.fhir.queries import live
from songkhoe.timezones import today_in_vietnam

from ..web.conftest import HOME, NEIGHBOUR, PASSWORD, add_users, logged_in
from .month_examples import (
    CHECK_LINE,
    MONTH,
    OTHER_STATION,
    REJECTION,
    STATION,
    write_month,
    write_stranger_claim,
)

ACCOUNTS = {
    "ketoan": ("insurance_accountant", f"facility:{STATION}"),
    "ketoan.xa": ("insurance_accountant", f"commune:{NEIGHBOUR}"),
    "yte": ("commune_health_worker", f"commune:{HOME}"),
    "admin": ("admin", "national"),
}


@pytest.fixture
def month(store):
    write_month(store)
    return store, add_users(store, ACCOUNTS)


def _claims(html: str) -> dict[str, str]:
    """The text of each claim's card on the page, by MA_LK."""
    card = r'<li class="claim [^"]*" id="claim-([^"]+)">(.*?)</li>\s*(?=<li class="claim|</ol>)'
    cards = re.findall(card, html, re.S)
    return {key: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)) for key, body in cards}


def _counts(html: str) -> dict[str, int]:
    block = html.split('id="counts"')[1].split("</ul>")[0]
    pairs = re.findall(r"<strong>(\d+)</strong><br>([^<]+)</a>", block)
    return {label: int(n) for n, label in pairs}


def test_the_role_is_named_and_reads_its_place_but_writes_only_claims(month) -> None:
    store, users = month
    assert ROLE_LABELS_VI[Role.INSURANCE_ACCOUNTANT] == "Kế toán bảo hiểm y tế"
    accountant = user_principal(store.engine, users["ketoan"])
    access = Access(accountant)
    assert access.place_based and not access.unrestricted
    assert access.refusal("Claim", "write") is None
    assert access.refusal("ClaimResponse", "write") is None
    assert access.refusal("Patient", "read") is None
    for kind in ("Patient", "Observation", "Coverage"):
        assert "scopes do not allow write" in access.refusal(kind, "write")
    hour = timedelta(hours=1)
    issue_token(store.engine, scopes="user/Claim.write", expires_in=hour, user_id=users["ketoan"])
    with pytest.raises(InvalidAccount, match="beyond what this account may have"):
        issue_token(store.engine, scopes="user/*.*", expires_in=hour, user_id=users["ketoan"])
    assert facility_of(accountant.place) == STATION
    assert facility_of(user_principal(store.engine, users["ketoan.xa"]).place) == OTHER_STATION


def test_the_accountant_sees_each_state_and_what_to_fix(month) -> None:
    store, _ = month
    client = logged_in(store, "ketoan")
    response = client.get(f"/claims?month={MONTH}")
    assert response.status_code == 200, response.text
    html = response.text
    assert "Kế toán bảo hiểm y tế" in html  # the role in the header
    cards = _claims(html)
    assert sorted(cards) == ["enc-acc-1", "enc-acc-2", "enc-built", "enc-fail", "enc-rej",
                             "enc-sent"]  # not October's, nor the next station's  # fmt: skip
    expected = {
        "enc-acc-1": ("Đã tiếp nhận", "Mã giao dịch GD-0001"),
        "enc-acc-2": ("Đã tiếp nhận", "Mã giao dịch GD-0002"),
        "enc-rej": ("Bị từ chối", f"Cần sửa: {REJECTION}"),
        "enc-sent": ("Đã gửi", "chưa có trả lời của cổng: gửi lại"),
        "enc-built": ("Đã lập", "Chưa gửi cổng giám định"),
        "enc-fail": ("Lỗi kiểm tra", f"Cần sửa: {CHECK_LINE}"),
    }
    for key, (state, fix) in expected.items():
        assert state in cards[key] and fix in cards[key], (key, cards[key])
    # FOLLOW_UP: T_TONGCHI_BV 468865.50, T_BHTT 374592.20 (month_examples)
    assert "Nguyễn Văn An" in cards["enc-acc-1"]
    assert (
        "Ngày khám 05/11/2026 · Tổng chi phí 468.865,50 đ · Quỹ BHYT 374.592,20 đ"
        in (cards["enc-acc-1"])
    )
    assert _counts(html) == {"Đã lập": 1, "Lỗi kiểm tra": 1, "Đã gửi": 1, "Đã tiếp nhận": 2,
                             "Bị từ chối": 1}  # fmt: skip
    summary = re.sub(r"<[^>]+>", "", html.split('id="summary"')[1].split("</section>")[0])
    assert "Số hồ sơ: 2 · Chưa tính (trạng thái khác): 4" in summary
    # 468865.50 + 38700.00 and 374592.20 + 38700.00
    assert "Tổng chi phí: 507.565,50 đ · Quỹ BHYT: 413.292,20 đ" in summary
    assert 'href="/claims/summary.xlsx?month=2026-11"' in html


def test_a_filter_shows_one_state(month) -> None:
    store, _ = month
    html = logged_in(store, "ketoan").get(f"/claims?month={MONTH}&state=rejected").text
    assert sorted(_claims(html)) == ["enc-rej"]
    assert _counts(html)["Đã tiếp nhận"] == 2  # the counts stay the month's


def test_the_month_is_the_last_complete_one_unless_asked(month) -> None:
    assert last_complete_month(date(2026, 12, 8)) == "2026-11"
    assert last_complete_month(date(2027, 1, 1)) == "2026-12"
    with pytest.raises(ValueError, match="month must be YYYY-MM"):
        parse_month("2026-1")
    store, _ = month
    client = logged_in(store, "ketoan")
    default = last_complete_month(today_in_vietnam())
    assert f'name="month" value="{default}"' in client.get("/claims").text
    assert client.get("/claims?month=11-2026").status_code == 400


def test_another_facility_is_neither_shown_nor_reachable(month) -> None:
    store, _ = month
    client = logged_in(store, "ketoan.xa")
    assert sorted(_claims(client.get(f"/claims?month={MONTH}").text)) == ["enc-next-door"]
    refused = client.get(f"/claims?month={MONTH}&facility={STATION}")
    assert refused.status_code == 403 and "chỉ xem được hồ sơ của cơ sở mình" in refused.text
    assert client.get(f"/claims/summary.csv?month={MONTH}&facility={STATION}").status_code == 403


def test_a_commune_health_worker_gets_no_page_and_no_link(month) -> None:
    store, _ = month
    worker = logged_in(store, "yte")
    assert 'href="/claims"' not in worker.get("/").text
    for path in ("/claims", "/claims/summary.csv", "/claims/summary.xlsx"):
        response = worker.get(f"{path}?month={MONTH}")
        assert response.status_code == 403 and "kế toán bảo hiểm y tế" in response.text
    assert 'href="/claims"' in logged_in(store, "ketoan").get("/").text


def test_an_administrator_names_the_facility(month) -> None:
    store, _ = month
    admin = logged_in(store, "admin")
    assert 'name="facility"' in admin.get("/claims").text
    html = admin.get(f"/claims?month={MONTH}&facility={STATION}").text
    assert len(_claims(html)) == 6
    assert f"/claims/summary.csv?month={MONTH}&amp;facility={STATION}" in html
    assert admin.get(f"/claims?facility=nowhere&month={MONTH}").status_code == 404


def test_the_downloads_hold_the_received_claims(month) -> None:
    store, _ = month
    client = logged_in(store, "ketoan")
    as_csv = client.get(f"/claims/summary.csv?month={MONTH}")
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert f'filename="bhyt-{STATION}-{MONTH}.csv"' in as_csv.headers["content-disposition"]
    lines = as_csv.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 4 and lines[-1].startswith(";Tổng cộng;") and ";507565.50;" in lines[-1]
    as_xlsx = client.get(f"/claims/summary.xlsx?month={MONTH}")
    sheet = openpyxl.load_workbook(io.BytesIO(as_xlsx.content)).active
    values = [row for row in sheet.iter_rows(values_only=True) if row[1] == "Tổng cộng"]
    assert len(values) == 1 and values[0][8] == pytest.approx(507565.50, abs=0.001)


def test_claims_of_people_outside_the_place_are_counted_and_block_the_summary(month) -> None:
    store, _ = month
    write_stranger_claim(store)
    client = logged_in(store, "ketoan")
    html = client.get(f"/claims?month={MONTH}").text
    assert "enc-stranger" not in html and "Trần Thị Bình" not in html
    assert re.search(r'id="hidden">1 hồ sơ của tháng này thuộc người bệnh ngoài địa bàn', html)
    assert "summary.csv" not in html
    refused = client.get(f"/claims/summary.csv?month={MONTH}")
    assert refused.status_code == 409 and "không xem được" in refused.text
    admin = logged_in(store, "admin")
    whole = admin.get(f"/claims/summary.csv?month={MONTH}&facility={STATION}")
    assert len(whole.content.decode("utf-8-sig").splitlines()) == 5  # header, 3 claims, total


def test_the_page_is_audited_as_payment(month) -> None:
    store, users = month
    logged_in(store, "ketoan").get(f"/claims?month={MONTH}")
    with store.engine.connect() as conn:
        events = [c for (c,) in conn.execute(live("AuditEvent"))]
    mine = [e for e in events if e["agent"][0]["who"]["identifier"]["value"] == users["ketoan"]]
    assert {e["purposeOfEvent"][0]["coding"][0]["code"] for e in mine} == {"HPAYMT"}
    named = {x["what"]["reference"] for e in mine for x in e.get("entity", ()) if "what" in x}
    assert "Patient/p-0001" in named


def test_amounts_are_written_the_vietnamese_way() -> None:
    assert vnd(Decimal("1234567.5")) == "1.234.567,50"
    assert vnd(Decimal("0")) == "0,00"
    assert vnd(Decimal("999.99")) == "999,99"


def test_the_fhir_api_gives_the_accountant_the_claims_of_their_place(month) -> None:
    store, users = month
    token = issue_token(store.engine, scopes="user/*.read user/Claim.write",
                        expires_in=timedelta(hours=1), user_id=users["ketoan"])  # fmt: skip
    api = TestClient(create_app(store=store))
    headers = {"Authorization": f"Bearer {token}"}
    found = api.get("/fhir/Claim", params={"provider": f"Organization/{STATION}", "_count": "50"},
                    headers=headers).json()  # fmt: skip
    assert len(found["entry"]) == 7  # November's six and October's
    person = {"resourceType": "Patient", "name": [{"family": "Lê"}]}
    assert api.post("/fhir/Patient", json=person, headers=headers).status_code == 403


@pytest.fixture
def site(live_server, store):
    write_month(store)
    add_users(store, {"ketoan": ACCOUNTS["ketoan"]})
    return live_server


def test_the_page_fits_a_360_px_phone(phone_page, site, log_in, tmp_path) -> None:
    page = phone_page()
    log_in(page, site, "ketoan", PASSWORD)
    page.goto(f"{site}/claims?month={MONTH}")
    assert page.locator("ol.claims > li").count() == 6
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "fits a 360 px screen"
    page.select_option("#state", "failed_check")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"state=failed_check"))
    assert page.locator("ol.claims > li").count() == 1
    assert CHECK_LINE in page.inner_text("ol.claims")
    page.screenshot(path=str(tmp_path / "claims.png"), full_page=True)
