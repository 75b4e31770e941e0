"""The month's list filed with BHXH (claims.summary): the received claims of a facility's month,
their totals equal to the sum of their XML1 totals, the same numbers in CSV and XLSX, and the
command that writes them."""

import csv
import dataclasses
import io
from decimal import Decimal

import openpyxl
import pytest

from songkhoe.auth.audit import RequestContext
from songkhoe.auth.caller import Caller
from songkhoe.auth.models import Place, Principal, parse_scopes
from songkhoe.claims.codes import SERVICE_COST_GROUPS
from songkhoe.claims.month import read_month
from songkhoe.claims.submissions import EXT_TOTALS
from songkhoe.claims.summary import (
    AMOUNT_HEADERS,
    GROUP_COLUMNS,
    HEADERS,
    TOTAL_LABEL,
    SummaryError,
    csv_bytes,
    summarize,
    xlsx_bytes,
)
from songkhoe.cli import main

from .month_examples import MONTH, STATION, write_month

D = Decimal
RECEIVED = ("enc-acc-1", "enc-acc-2")


def _everyone(store) -> Caller:
    reader = Principal("client", "test", "test", None, Place("national"),
                       parse_scopes("system/*.read"))  # fmt: skip
    return Caller(store, reader, RequestContext(None, "HPAYMT"))


def _xml1(claim: dict, field: str) -> Decimal:
    """A total of the Claim's XML1 extension, read straight from its JSON."""
    parts = next(e["extension"] for e in claim["extension"] if e["url"] == EXT_TOTALS)
    return D(str(next(p["valueDecimal"] for p in parts if p["url"] == field))).quantize(D("0.01"))


def _column(summary, header: str) -> Decimal:
    return summary.total[AMOUNT_HEADERS.index(header)]


def test_the_totals_are_the_sum_of_the_received_claims_xml1_totals(store) -> None:
    claims = write_month(store)
    month = read_month(_everyone(store), STATION, MONTH)
    summary = summarize(month.lines, "Trạm Y tế", "24003", MONTH)

    assert [row.name for row in summary.rows] == ["Nguyễn Văn An"] * 2
    assert [row.card for row in summary.rows] == ["DN4240123456789"] * 2
    assert summary.left_out == 4  # rejected, sent, built, failed_check
    # the issue's requirement, against the Claims' own JSON
    for header, fields in (
        ("Tổng chi phí", ("T_TONGCHI_BV",)),
        ("Quỹ BHYT thanh toán (đề nghị)", ("T_BHTT",)),
        ("Người bệnh cùng chi trả", ("T_BNCCT",)),
        ("Người bệnh tự trả", ("T_BNTT",)),
    ):
        expected = sum((_xml1(claims[key], f) for key in RECEIVED for f in fields), D(0))
        assert _column(summary, header) == expected, header
    # by hand (month_examples): 468865.50 + 38700.00; 374592.20 + 38700.00;
    # (93648.05 + 625.25) + (0 + 0)
    assert summary.cost == D("507565.50")
    assert summary.fund == D("413292.20")
    person = _column(summary, "Người bệnh cùng chi trả") + _column(summary, "Người bệnh tự trả")
    assert person == D("94273.30")
    # cost groups: khám 38700 × 2, xét nghiệm 21500, thuốc 10515 + 396900, VTYT 1250.50
    groups = dict(zip(AMOUNT_HEADERS[1:11], summary.total[1:11], strict=True))
    assert groups == {
        "Khám bệnh": D("77400.00"), "Ngày giường": 0, "Xét nghiệm": D("21500.00"),
        "CĐHA, TDCN": 0, "Thủ thuật, phẫu thuật": 0, "Máu, chế phẩm máu": 0,
        "Thuốc, dịch truyền": D("407415.00"), "Vật tư y tế": D("1250.50"),
        "Vận chuyển người bệnh": 0, "Dịch vụ khác": 0,
    }  # fmt: skip
    assert sum(groups.values()) == summary.cost


def test_every_cost_group_has_exactly_one_column() -> None:
    columns = [group for _, groups in GROUP_COLUMNS for group in groups]
    assert sorted(columns, key=int) == sorted(SERVICE_COST_GROUPS, key=int)


def test_a_claim_that_does_not_add_up_is_refused_by_its_ma_lk(store) -> None:
    write_month(store)
    line = next(x for x in read_month(_everyone(store), STATION, MONTH).lines
                if x.key == "enc-acc-1")  # fmt: skip
    short = dataclasses.replace(line, groups={**line.groups, "4": D("1.00")})
    with pytest.raises(SummaryError, match=r"enc-acc-1: the cost groups add up to 61451\.50"):
        summarize([short], "", "", MONTH)  # 468865.50 − 407415.00 + 1.00
    unknown = dataclasses.replace(line, groups={"99": line.totals["T_TONGCHI_BV"]})
    with pytest.raises(SummaryError, match="enc-acc-1: cost group MA_NHOM '99'"):
        summarize([unknown], "", "", MONTH)


def _csv_table(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


def _xlsx_table(content: bytes) -> list[list[str]]:
    """The XLSX's table from its header row down, each cell as the CSV writes it."""
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(rows) if r[0] == "STT")
    money = len(HEADERS) - len(AMOUNT_HEADERS)

    def cell(index: int, value: object) -> str:
        if value is None:
            return ""
        if index >= money and isinstance(value, int | float):
            return f"{D(str(value)):.2f}"
        return str(value)

    return [[cell(i, v) for i, v in enumerate(r)] for r in rows[start:]]


def test_the_xlsx_holds_the_same_table_as_the_csv(store) -> None:
    write_month(store)
    summary = summarize(read_month(_everyone(store), STATION, MONTH).lines, "Trạm", "24003", MONTH)
    as_csv, as_xlsx = _csv_table(csv_bytes(summary)), _xlsx_table(xlsx_bytes(summary))
    assert as_csv == as_xlsx
    assert as_csv[0] == list(HEADERS)
    assert [r[0] for r in as_csv[1:]] == ["1", "2", ""]
    total = as_csv[-1]
    assert total[1] == TOTAL_LABEL and total[8] == "507565.50"
    assert as_csv[1][:8] == ["1", "Nguyễn Văn An", "1961", "Nam", "DN4240123456789", "I10",
                             "05/11/2026", "05/11/2026"]  # fmt: skip


def test_the_csv_is_utf8_with_a_bom_and_semicolons(store) -> None:
    write_month(store)
    summary = summarize(read_month(_everyone(store), STATION, MONTH).lines, "", "", MONTH)
    content = csv_bytes(summary)
    assert content.startswith(b"\xef\xbb\xbfSTT;H\xe1\xbb\x8d v\xc3\xa0 t\xc3\xaan;")  # "Họ và tên"
    assert content.endswith(b"\r\n")


def test_the_command_writes_either_file(store, tmp_path, monkeypatch, capsys) -> None:
    write_month(store)
    monkeypatch.setenv("SONGKHOE_DATABASE_URL", store.engine.url.render_as_string(False))
    tables = []
    for name in ("c79.csv", "c79.xlsx"):
        with pytest.raises(SystemExit) as done:
            main(["bhyt", "summary", "--facility", STATION, "--month", MONTH,
                  "--output", str(tmp_path / name)])  # fmt: skip
        assert done.value.code == 0
        assert capsys.readouterr().out.strip() == (
            f"{tmp_path / name}: 2 hồ sơ đã tiếp nhận, 4 chưa tính / "
            "2 received claim(s), 4 not counted"
        )
        content = (tmp_path / name).read_bytes()
        tables.append(_csv_table(content) if name.endswith("csv") else _xlsx_table(content))
    assert tables[0] == tables[1] and len(tables[0]) == 4
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--month", "2026-13", "--output", "x.csv"], "month must be YYYY-MM"),
        (["--month", MONTH, "--output", "x.pdf"], "must end in .csv or .xlsx"),
    ],
)
def test_the_command_names_what_is_wrong(store, monkeypatch, capsys, args, error) -> None:
    monkeypatch.setenv("SONGKHOE_DATABASE_URL", store.engine.url.render_as_string(False))
    with pytest.raises(SystemExit) as done:
        main(["bhyt", "summary", "--facility", STATION, *args])
    assert done.value.code != 0 and error in capsys.readouterr().err
