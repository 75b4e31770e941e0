"""The month's list of BHYT claims that a facility files with BHXH, computed from its Claims
(`claims.month`), as CSV and XLSX.

Which form. Mẫu C79a-HD "Danh sách người bệnh BHYT khám chữa bệnh ngoại trú đề nghị thanh toán"
(and C80a-HD for inpatients) of Thông tư 178/2012/TT-BTC (23/10/2012) was replaced by mẫu C79-HD
"Danh sách người bệnh bảo hiểm y tế khám chữa bệnh nội, ngoại trú đề nghị thanh toán" of Thông
tư 102/2018/TT-BTC (14/11/2018, the accounting regime of Vietnam Social Security), one list for
outpatients and inpatients. Neither circular could be read from here; this is as two independent
HIS vendors' public code has it: a C++ HIS whose Excel export heads the sheet "Mẫu số: C79-HD
(Ban hành theo Thông tư số 102/2018/TT-BTC ngày 14/11/2018 của Bộ Tài chính)", and DHG.Hospital's
change note "Module Reports ... Mẫu C79-HD (Thông tư 102/2018/TT-BTC) lấy dữ liệu từ XML4750"
(Công ty Giải Pháp Kỹ Thuật Số DH, 07/08/2024), which fills the form from the QĐ 130/4750 tables.
The "mẫu 19/20/21/BHYT" of QĐ 1399/QĐ-BHXH that vendors also export are statistics of supplies,
drugs and services, not the list of people; C79a-HD exports (178/2012) still circulate in older
HIS code. No later replacement of C79-HD was found (not verified in BHXH's own documents).

Columns, in C79-HD's order as both vendors write it: A STT, B họ và tên, C năm sinh, D giới tính,
E mã thẻ BHYT, G mã bệnh, H ngày vào, I ngày ra (the form's letters skip F and J, which the
Vietnamese alphabet lacks); then the costs: (1) tổng cộng, (2)-(10) by cost group, the fund's part,
the person's co-payment (cùng chi trả) and own payment (tự trả), other sources. Where this list
differs from the form, and why:
- "K số ngày điều trị" is left out: the Claim does not hold MA_LOAI_KCB, which says how XML1
  SO_NGAY_DTRI counts days.
- Mã ĐKBĐ, a column of C79a-HD, is not one of C79-HD; the Claim does not hold it either.
- The form's (1) and its groups are the costs within the fund's scope (THANH_TIEN_BH, DH's note);
  the Claim's items hold THANH_TIEN_BV by cost group (`submissions._items`), so here (1) is
  T_TONGCHI_BV and the groups add up to it, and T_TONGCHI_BH is a column of its own.
- The fund's part is one column (T_BHTT): the Claim does not say which part the province, the
  centre (ARV drugs) or Nghị định 70/2015 pays; other sources are one column (T_NGUONKHAC).
- The form's sections by kind of care and by where the card was registered are not made: the
  Claim does not hold MA_LOAI_KCB or MA_DKBD. One list, by MA_LK, and a total row.

Cost groups (MA_NHOM, QĐ 5937/QĐ-BYT Phụ lục 3, `claims.codes`) to columns, as DH's note maps
them for C79-HD: khám bệnh 13; ngày giường 14, 15, 16; xét nghiệm 1; CĐHA/TDCN 2, 3; thủ thuật,
phẫu thuật 8, 18; máu 7 (and 17 chế phẩm máu here: CV 3360/BHXH-CSYT, as DH quotes it, calls the
column "tiền máu và chế phẩm của máu"); thuốc 4; VTYT 10; vận chuyển 12. Group 19 (QĐ 4750: the
other services, e.g. meals, travel) has no column on the form: it gets one, "Dịch vụ khác".

Which claims: those the gateway received (`State.ACCEPTED`, maKetQua 200). The form lists what
the facility asks BHXH to pay, sent with the month's data ("Gửi cùng với file dữ liệu hàng
tháng", as the vendors' headers say): a built claim not yet sent, one sent without an answer,
one refused and one that failed the checker are not in BHXH's hands. `Summary.left_out` counts
them.

Exactness: amounts are Decimal in đồng (2 decimals); each total is the exact sum of its column,
and a claim whose cost groups do not add up to its T_TONGCHI_BV is refused (`SummaryError`).
CSV: UTF-8 with a BOM (so Excel reads Vietnamese), ";" between fields (the separator of the
Vietnamese locale's lists, where "," is the decimal comma), amounts written with "." and 2
decimals as the claims XML writes them, dates dd/mm/yyyy.
"""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from songkhoe.claims.month import ClaimLine
from songkhoe.claims.submissions import State

SUMMARY_STATES = frozenset({State.ACCEPTED})
FORM = "C79-HD"
FORM_BASIS = "Thông tư số 102/2018/TT-BTC ngày 14/11/2018 của Bộ Tài chính"
TITLE = "DANH SÁCH NGƯỜI BỆNH BẢO HIỂM Y TẾ KHÁM CHỮA BỆNH ĐỀ NGHỊ THANH TOÁN"

GROUP_COLUMNS: tuple[tuple[str, frozenset[str]], ...] = (
    ("Khám bệnh", frozenset({"13"})),
    ("Ngày giường", frozenset({"14", "15", "16"})),
    ("Xét nghiệm", frozenset({"1"})),
    ("CĐHA, TDCN", frozenset({"2", "3"})),
    ("Thủ thuật, phẫu thuật", frozenset({"8", "18"})),
    ("Máu, chế phẩm máu", frozenset({"7", "17"})),
    ("Thuốc, dịch truyền", frozenset({"4"})),
    ("Vật tư y tế", frozenset({"10"})),
    ("Vận chuyển người bệnh", frozenset({"12"})),
    ("Dịch vụ khác", frozenset({"19"})),
)
FUND_HEADER = "Quỹ BHYT thanh toán (đề nghị)"
TOTAL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Trong phạm vi BHYT", "T_TONGCHI_BH"),
    (FUND_HEADER, "T_BHTT"),
    ("Người bệnh cùng chi trả", "T_BNCCT"),
    ("Người bệnh tự trả", "T_BNTT"),
    ("Nguồn khác", "T_NGUONKHAC"),
)
PERSON_HEADERS = ("STT", "Họ và tên", "Năm sinh", "Giới tính", "Mã thẻ BHYT", "Mã bệnh",
                  "Ngày vào", "Ngày ra")  # fmt: skip
AMOUNT_HEADERS = ("Tổng chi phí", *(name for name, _ in GROUP_COLUMNS),
                  *(name for name, _ in TOTAL_COLUMNS))  # fmt: skip
HEADERS = (*PERSON_HEADERS, *AMOUNT_HEADERS)
TOTAL_LABEL = "Tổng cộng"
SEXES = {"male": "Nam", "female": "Nữ"}
ZERO = Decimal("0.00")


class SummaryError(ValueError):
    """A claim the summary cannot add up (its text names the MA_LK)."""


@dataclass(frozen=True)
class SummaryRow:
    number: int
    name: str
    birth_year: str
    sex: str
    card: str
    diagnosis: str
    arrived: str  # dd/mm/yyyy
    left: str
    amounts: tuple[Decimal, ...]  # in AMOUNT_HEADERS' order


@dataclass(frozen=True)
class Summary:
    facility_name: str
    facility_code: str  # MA_CSKCB
    month: str  # YYYY-MM
    rows: tuple[SummaryRow, ...]
    total: tuple[Decimal, ...]  # in AMOUNT_HEADERS' order
    left_out: int  # claims of the month in another state than SUMMARY_STATES

    @property
    def cost(self) -> Decimal:
        """Σ T_TONGCHI_BV."""
        return self.total[0]

    @property
    def fund(self) -> Decimal:
        """Σ T_BHTT: what the facility asks the fund to pay."""
        return self.total[AMOUNT_HEADERS.index(FUND_HEADER)]


def _group_column(key: str, group: str) -> int:
    for number, (_, groups) in enumerate(GROUP_COLUMNS):
        if group in groups:
            return number
    raise SummaryError(f"{key}: cost group MA_NHOM {group!r} is not one of QĐ 5937/QĐ-BYT's")


def _amounts(line: ClaimLine) -> tuple[Decimal, ...]:
    groups = [ZERO] * len(GROUP_COLUMNS)
    for group, value in line.groups.items():
        groups[_group_column(line.key, group)] += value
    total = line.totals.get("T_TONGCHI_BV", ZERO)
    if sum(groups, ZERO) != total:
        raise SummaryError(
            f"{line.key}: the cost groups add up to {sum(groups, ZERO)}, T_TONGCHI_BV is {total}"
        )
    return (total, *groups, *(line.totals.get(field, ZERO) for _, field in TOTAL_COLUMNS))


def summarize(
    lines: Sequence[ClaimLine], facility_name: str, facility_code: str, month: str
) -> Summary:
    """The summary of a month's claims: those in SUMMARY_STATES, by MA_LK, and their total."""
    counted = sorted((x for x in lines if x.standing.state in SUMMARY_STATES), key=lambda x: x.key)
    rows = tuple(
        SummaryRow(
            number=number,
            name=line.name,
            birth_year=line.birth_year,
            sex=SEXES.get(line.gender, ""),
            card=line.card,
            diagnosis=line.diagnosis,
            arrived=line.arrived.strftime("%d/%m/%Y"),
            left=line.left.strftime("%d/%m/%Y"),
            amounts=_amounts(line),
        )
        for number, line in enumerate(counted, start=1)
    )
    total = tuple(sum(column, ZERO) for column in zip(*(r.amounts for r in rows), strict=True))
    return Summary(
        facility_name=facility_name,
        facility_code=facility_code,
        month=month,
        rows=rows,
        total=total or (ZERO,) * len(AMOUNT_HEADERS),
        left_out=len(lines) - len(rows),
    )


def _person_cells(row: SummaryRow) -> list[str | int]:
    return [row.number, row.name, row.birth_year, row.sex, row.card, row.diagnosis, row.arrived,
            row.left]  # fmt: skip


def csv_bytes(summary: Summary) -> bytes:
    """The summary as CSV (see the module's docstring): a header line, a line per claim, the
    total line."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in summary.rows:
        writer.writerow([*_person_cells(row), *(f"{a:.2f}" for a in row.amounts)])
    blanks = [""] * (len(PERSON_HEADERS) - 2)
    writer.writerow(["", TOTAL_LABEL, *blanks, *(f"{a:.2f}" for a in summary.total)])
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(summary: Summary) -> bytes:
    """The summary as an Excel workbook: the facility, the form and the month above the same
    table as the CSV, amounts as numbers shown with thousands separators."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new Workbook has one sheet
    sheet.title = summary.month
    year, month = summary.month.split("-")
    sheet.append([f"Tên cơ sở KCB: {summary.facility_name}"])
    sheet.append([f"Mã cơ sở KCB: {summary.facility_code}"])
    sheet.append([f"Theo các cột của mẫu số {FORM} ({FORM_BASIS})"])
    sheet.append([TITLE])
    sheet.append([f"Tháng {month} năm {year}"])
    sheet.append(list(HEADERS))
    header_row = sheet.max_row
    for row in summary.rows:
        sheet.append([*_person_cells(row), *row.amounts])
    sheet.append(["", TOTAL_LABEL, *[""] * (len(PERSON_HEADERS) - 2), *summary.total])
    sheet["A4"].font = Font(bold=True)
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    first_amount = len(PERSON_HEADERS) + 1
    for column in range(first_amount, len(HEADERS) + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 14
        for (cell,) in sheet.iter_rows(min_row=header_row + 1, min_col=column, max_col=column):
            cell.number_format = "#,##0.00"
    sheet.column_dimensions["B"].width = 24
    sheet.column_dimensions["E"].width = 18
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=3)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
