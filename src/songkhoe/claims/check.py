"""Check a claims envelope from any HIS against the rules the QĐ 130/4750 appendix states.

The envelope (``GIAMDINHHS``: ``THONGTINDONVI/MACSKCB``; ``THONGTINHOSO`` with ``NGAYLAP``,
``SOLUONGHOSO`` and ``DANHSACHHOSO/HOSO/FILEHOSO`` whose ``LOAIHOSO`` is XML1 … XML15 and whose
``NOIDUNGFILE`` is the base64 of that table; ``CHUKYDONVI``) is as the project's README describes
it; the field rules cite the appendix (``songkhoe.claims.fields``) as "XML2 #20" = table XML2,
field number 20. No official XSD is published and the gateway's own rule set is not public, so
this checks only what the text states, with the code lists of ``songkhoe.claims.codes``, the
card numbers of ``songkhoe.claims.card`` and the signature of ``songkhoe.claims.signing``: an
unsigned envelope is a note, a signature that does not verify fails.

A problem with ``fails=False`` is a note: it is printed but does not fail the check.
"""

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache, partial, reduce
from xml.etree import ElementTree

from songkhoe.claims import codes
from songkhoe.claims.card import card_problem
from songkhoe.claims.fields import NUMBER, FieldSpec, field_tables
from songkhoe.claims.signing import DSIG, SIGNATURE_ELEMENT, verify_envelope

TOLERANCE = Decimal("0.01")
"""Amounts are "làm tròn số đến 2 chữ số thập phân" (XML2 #20-#30, XML3 #19-#30): a formula
holds when the stated amount is within one unit of the second decimal of the computed one."""

TABLES = tuple(f"XML{n}" for n in range(1, 16))
"""The LOAIHOSO of the envelope; the check-in table goes to the gateway at arrival, not in it."""

WRAPPERS = {
    "XML1": ("TONG_HOP",),
    "XML2": ("CHITIEU_CHITIET_THUOC", "DSACH_CHI_TIET_THUOC", "CHI_TIET_THUOC"),
    "XML3": ("CHITIEU_CHITIET_DVKT_VTYT", "DSACH_CHI_TIET_DVKT", "CHI_TIET_DVKT"),
    "XML4": ("CHITIEU_CHITIET_DICHVUCANLAMSANG", "DSACH_CHI_TIET_CLS", "CHI_TIET_CLS"),
    "XML5": (
        "CHITIEU_CHITIET_DIENBIENLAMSANG",
        "DSACH_CHI_TIET_DIEN_BIEN_BENH",
        "CHI_TIET_DIEN_BIEN_BENH",
    ),
    "XML13": ("CHI_TIEU_GIAYCHUYENTUYEN",),  # one record, the root is the row
    "XML14": ("CHI_TIEU_GIAYHEN_KHAMLAI",),
    "CHECKIN": ("CHI_TIEU_TRANG_THAI_KCB", "DSACH_TRANG_THAI_KCB", "TRANG_THAI_KCB"),
}
"""Root, list and row element names seen in vendors' code (not an official schema; XML13 and
XML14 as the Java DTOs of an open HIS name them, the check-in table as BHXH's guide for QĐ 4750
shows it in a public summary): other names are reported as notes, and the rows are read
whatever the wrappers are called."""


@dataclass(frozen=True)
class Problem:
    """One finding: ``file, MA_LK, table, field: message``; a note when ``fails`` is false."""

    file: str
    ma_lk: str
    table: str
    field: str
    message: str
    fails: bool = True

    def line(self) -> str:
        text = self.message if self.fails else f"note: {self.message}"
        return f"{self.file}, {self.ma_lk or '-'}, {self.table or '-'}, {self.field or '-'}: {text}"


Row = dict[str, str]


@dataclass
class _Claim:
    """The tables of one HOSO: each table's rows, fields by name."""

    tables: dict[str, list[Row]]

    def rows(self, table: str) -> list[Row]:
        return self.tables.get(table, [])


class _Report:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, ma_lk: str, table: str, field: str, message: str, *, fails: bool = True) -> None:
        self.problems.append(Problem(self.file, ma_lk, table, field, message, fails))


def check_file(path: str, content: bytes, cert_pem: bytes | None = None) -> list[Problem]:
    """Every problem found in one envelope; malformed XML or base64 is one problem, not an error.
    The signature is verified with ``cert_pem`` when given, else with the certificate it embeds."""
    report = _Report(path)
    try:
        root = _parse(content)
    except ElementTree.ParseError as exc:
        report.add("", "", "", f"not readable XML ({exc})")
        return report.problems
    if root.tag != "GIAMDINHHS":
        report.add("", "", "", f"the root element is {root.tag}, not GIAMDINHHS")
        return report.problems
    _check_envelope(root, report)
    _check_signature(root, content, cert_pem, report)
    for hoso in root.iterfind("THONGTINHOSO/DANHSACHHOSO/HOSO"):
        claim = _read_hoso(hoso, report)
        if claim is not None:
            _check_claim(claim, report)
    return report.problems


def _parse(content: bytes) -> ElementTree.Element:
    """The document's root. A claim has no use for a DTD, so one is refused: its entities are
    how XML bombs work (expat also limits their expansion)."""
    if b"<!DOCTYPE" in content:
        raise ElementTree.ParseError("a DOCTYPE is not allowed in a claim")
    return ElementTree.fromstring(content)


def _text(element: ElementTree.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _check_envelope(root: ElementTree.Element, report: _Report) -> None:
    """MACSKCB present, NGAYLAP a yyyyMMdd date, SOLUONGHOSO = the number of HOSO."""
    if not _text(root.find("THONGTINDONVI/MACSKCB")):
        report.add("", "", "MACSKCB", "missing")
    lap = _text(root.find("THONGTINHOSO/NGAYLAP"))
    if _parse_time(lap, frozenset({8})) is None:
        report.add("", "", "NGAYLAP", f"{lap!r} is not a yyyyMMdd date")
    count = len(root.findall("THONGTINHOSO/DANHSACHHOSO/HOSO"))
    stated = _text(root.find("THONGTINHOSO/SOLUONGHOSO"))
    if stated != str(count):
        report.add("", "", "SOLUONGHOSO", f"says {stated or 'nothing'} but there are {count} HOSO")


def _check_signature(
    root: ElementTree.Element, content: bytes, cert_pem: bytes | None, report: _Report
) -> None:
    """No signature at all is a note; one that does not verify (wherever it is, or whatever
    CHUKYDONVI holds instead) fails; one that verifies is a note naming the signer and whether
    the certificate was given or only embedded (``songkhoe.claims.signing``)."""
    slot = root.find(SIGNATURE_ELEMENT)
    filled = slot is not None and bool(_text(slot) or len(slot))
    if not filled and next(root.iter(f"{{{DSIG}}}Signature"), None) is None:
        report.add("", "", SIGNATURE_ELEMENT, "unsigned", fails=False)
        return
    result = verify_envelope(content, cert_pem)
    if result.valid:
        report.add(
            "", "", SIGNATURE_ELEMENT, f"signed by {result.signer}; {result.message}", fails=False
        )
    else:
        report.add("", "", SIGNATURE_ELEMENT, f"signature does not verify: {result.message}")


def _read_hoso(hoso: ElementTree.Element, report: _Report) -> _Claim | None:
    """Decode each FILEHOSO; a bad LOAIHOSO, base64 or inner XML is one problem for that file,
    and then the checks across the HOSO's tables (totals, MA_LK) are not made."""
    claim = _Claim({})
    readable = True
    for item in hoso.iterfind("FILEHOSO"):
        table = _text(item.find("LOAIHOSO"))
        if table not in TABLES:
            report.add("", table, "LOAIHOSO", f"{table!r} is not one of XML1 … XML15")
            readable = False
            continue
        if table in claim.tables:
            report.add("", table, "LOAIHOSO", "appears twice in one HOSO")
            readable = False
            continue
        encoded = "".join(_text(item.find("NOIDUNGFILE")).split())
        try:
            inner = _parse(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            report.add("", table, "NOIDUNGFILE", "not valid base64")
            readable = False
            continue
        except ElementTree.ParseError as exc:
            report.add("", table, "NOIDUNGFILE", f"the decoded table is not readable XML ({exc})")
            readable = False
            continue
        claim.tables[table] = _read_rows(inner, table, report)
    if not readable:
        return None
    if "XML1" not in claim.tables:
        report.add("", "XML1", "", "no XML1 (summary table) in this HOSO")
        return None
    return claim


def _read_rows(root: ElementTree.Element, table: str, report: _Report) -> list[Row]:
    """The rows are the elements whose children are all fields (leaves), whatever they are named."""
    rows: list[Row] = []
    names: set[str] = set()
    for element in root.iter():
        if len(element) == 0:
            continue  # a field
        names.add(element.tag)
        if element.find("*/*") is None:  # no grandchild: its children are all fields
            rows.append(_read_row(element, table, report))
    known = WRAPPERS.get(table)
    if known is not None:
        for name in sorted(names - set(known)):
            report.add(
                "", table, name, "element name not among those used by HIS vendors", fails=False
            )
    return rows


def _read_row(element: ElementTree.Element, table: str, report: _Report) -> Row:
    row: Row = {}
    ma_lk = _text(element.find("MA_LK"))
    for child in element:
        if child.tag in row:
            report.add(ma_lk, table, child.tag, "appears twice in one row")
        row[child.tag] = (child.text or "").strip()
    _check_fields(row, table, report)
    return row


def _check_fields(row: Row, table: str, report: _Report) -> None:
    """Known to the table, its type (Số: a number), its maximum size and its time format.

    Types and sizes are the appendix's as amended by QĐ 4750 (see ``songkhoe.claims.fields``);
    numbers use "." as the decimal separator ("Sử dụng dấu chấm “.” để phân cách", XML2 #18-#30).
    MA_LK is "PRIMARY KEY" in every table (#1), so it is required.
    """
    rules = _rules(table)
    ma_lk = row.get("MA_LK", "")
    if not ma_lk:
        report.add("", table, "MA_LK", "missing (the claim's key, #1 of every table)")
    for name, value in row.items():
        rule = rules.get(name)
        if rule is None:
            report.add(ma_lk, table, name, f"unknown field (not in table {table} of QĐ 130/4750)")
        elif value and not rule[1](value):
            # a value of the wrong form is not looked up in its list as well
            for message in list(_value_problems(rule[0], value)) or _listed_problems(
                table, name, value
            ):
                report.add(ma_lk, table, name, message)


Holds = Callable[[str], bool]


def _both(first: Holds, second: Holds) -> Holds:
    return lambda value: first(value) and second(value)


def _compiled(table: str, spec: FieldSpec) -> Holds:
    """Whether a (non-empty) value of the field holds: true exactly when `_value_problems` and
    `_listed_problems` find nothing (they say what is wrong). Made once per field from only the
    checks it needs: this is the checker's inner loop, and a claim without problems is the
    common case."""
    size = None if spec.is_time and not spec.several_values else spec.max_size
    checks: list[Holds] = []
    if size is not None:
        checks.append(lambda value: len(value) <= size)
    if spec.type == NUMBER:
        checks.append(lambda value: _number(value) is not None)
    if spec.is_time:
        checks.append(partial(_times_hold, spec))
    if (table, spec.name) in codes.CODE_LISTS:
        checks.append(lambda value: codes.code_problem(table, spec.name, value) is None)
    if spec.name == "MA_THE_BHYT":
        checks.append(lambda value: not any(card_problem(c) for c in value.split(";")))
    return reduce(_both, checks) if checks else lambda value: True


def _times_hold(spec: FieldSpec, value: str) -> bool:
    for part in value.split(";") if spec.several_values else (value,):
        if len(part) not in spec.time_lengths or not part.isdigit():
            return False
        if spec.checks_date and _parse_time(part, spec.time_lengths) is None:
            return False
    return True


@cache
def _rules(table: str) -> dict[str, tuple[FieldSpec, Holds]]:
    return {name: (spec, _compiled(table, spec)) for name, spec in field_tables()[table].items()}


def _listed_problems(table: str, name: str, value: str) -> Iterator[str]:
    """A coded field's value is one of its list's codes (``songkhoe.claims.codes``, which cites
    each list); each card of MA_THE_BHYT (";" between the cards held during one treatment, XML1
    #16) is a well-formed card number (``songkhoe.claims.card``)."""
    problem = codes.code_problem(table, name, value)
    if problem is not None:
        yield problem
    if name == "MA_THE_BHYT":
        for card in value.split(";"):
            problem = card_problem(card)
            if problem is not None:
                yield f"{card}: {problem}"


def _value_problems(spec: FieldSpec, value: str) -> Iterator[str]:
    single_time = spec.is_time and not spec.several_values  # its format says the length
    if spec.max_size is not None and len(value) > spec.max_size and not single_time:
        yield f"{len(value)} characters, more than the maximum {spec.max_size}"
    if spec.type == NUMBER and _number(value) is None:
        yield f"{value!r} is not a number (Số; decimals after a '.')"
    if spec.is_time:
        lengths = " or ".join(
            ("yyyyMMddHHmm", "yyyyMMdd")[n == 8] for n in sorted(spec.time_lengths, reverse=True)
        )
        for part in value.split(";") if spec.several_values else [value]:
            if len(part) not in spec.time_lengths or not part.isdigit():
                yield f"{part!r} is {len(part)} characters, not {lengths}"
            elif spec.checks_date and _parse_time(part, spec.time_lengths) is None:
                yield f"{part!r} is not a valid date/time"


_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
"""The common form of a number, read without the checks an unusual one needs."""


def _number(value: str) -> Decimal | None:
    if _PLAIN_NUMBER.fullmatch(value) is not None:  # the common case, first
        return Decimal(value)
    if not value.replace(".", "", 1).lstrip("-").isdigit():
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def _parse_time(value: str, lengths: frozenset[int]) -> datetime | None:
    """yyyyMMddHHmm (12) or yyyyMMdd (8) digits, of a length in `lengths`, as a valid datetime.
    Cut by hand: strptime took a third of the check's time (about 20 times per claim)."""
    if len(value) not in lengths or not (value.isascii() and value.isdigit()):
        return None
    hour, minute = (int(value[8:10]), int(value[10:12])) if len(value) == 12 else (0, 0)
    try:
        return datetime(int(value[:4]), int(value[4:6]), int(value[6:8]), hour, minute)
    except ValueError:
        return None


def _amount(row: Row, name: str, default: Decimal | None = None) -> Decimal | None:
    value = row.get(name, "")
    return _number(value) if value else default


ZERO = Decimal(0)
HUNDRED = Decimal(100)


def _check_claim(claim: _Claim, report: _Report) -> None:
    summaries = claim.rows("XML1")
    if len(summaries) != 1:
        report.add("", "XML1", "", f"{len(summaries)} summary rows, not 1")
        return
    summary = summaries[0]
    ma_lk = summary.get("MA_LK", "")
    for table, rows in claim.tables.items():
        for row in rows:
            if table != "XML1" and row.get("MA_LK") and row["MA_LK"] != ma_lk:
                report.add(row["MA_LK"], table, "MA_LK", f"does not match XML1's {ma_lk!r}")
    _check_summary(summary, report)
    for row in claim.rows("XML2"):
        _check_row_amounts(row, "XML2", report)
    for row in claim.rows("XML3"):
        _check_row_amounts(row, "XML3", report)
    for table in ("XML2", "XML3"):
        for row in claim.rows(table):
            _check_order(row, table, ("NGAY_YL", "NGAY_TH_YL", "NGAY_KQ"), report)
    _check_totals(summary, claim.rows("XML2"), claim.rows("XML3"), report)


def _check_summary(summary: Row, report: _Report) -> None:
    """XML1 #26 MA_BENH_CHINH: "chỉ ghi 01 mã bệnh chính" (exactly one code); the times in
    order (#34 NGAY_VAO ≤ #35 NGAY_VAO_NOI_TRU ≤ #36 NGAY_RA, #18 GT_THE_TU ≤ #19 GT_THE_DEN
    card by card); #38 SO_NGAY_DTRI as 4750 restates it by MA_LOAI_KCB: 0 for "01", "07", "09";
    NGAY_RA − NGAY_VAO + 1 (in days) for "02", "03", "04", "06"."""
    ma_lk = summary.get("MA_LK", "")
    main = summary.get("MA_BENH_CHINH", "")
    if not main:
        report.add(ma_lk, "XML1", "MA_BENH_CHINH", "missing: the main diagnosis (one ICD-10 code)")
    elif ";" in main:
        report.add(ma_lk, "XML1", "MA_BENH_CHINH", "more than one code; record exactly one")
    _check_order(summary, "XML1", ("NGAY_VAO", "NGAY_VAO_NOI_TRU", "NGAY_RA"), report)
    starts = summary.get("GT_THE_TU", "").split(";")
    ends = summary.get("GT_THE_DEN", "").split(";")
    for start, end in zip(starts, ends, strict=False):
        if start and end and start.isdigit() and end.isdigit() and start > end:
            report.add(ma_lk, "XML1", "GT_THE_DEN", f"{end} is before GT_THE_TU {start}")
    days = _number(summary.get("SO_NGAY_DTRI", ""))
    kind = summary.get("MA_LOAI_KCB", "")
    came, left = (_parse_time(summary.get(n, ""), frozenset({12})) for n in ("NGAY_VAO", "NGAY_RA"))
    expected: int | None = None
    if kind in (codes.OUTPATIENT_VISIT, codes.DRUGS_BY_APPOINTMENT, codes.INPATIENT_UNDER_4_HOURS):
        expected = 0
    elif (
        kind
        in (codes.OUTPATIENT_TREATMENT, codes.INPATIENT, codes.DAY_TREATMENT, codes.FACILITY_STAY)
        and came
        and left
    ):
        expected = (left.date() - came.date()).days + 1
    if expected is not None and days is not None and days != expected:
        report.add(
            ma_lk, "XML1", "SO_NGAY_DTRI", f"{days} but MA_LOAI_KCB {kind} makes it {expected}"
        )
    _check_card_validity(summary, report)


def _check_card_validity(summary: Row, report: _Report) -> None:
    """The day of NGAY_VAO (#34) falls within GT_THE_TU..GT_THE_DEN (#18, #19) of a card of
    MA_THE_BHYT, both days included. With several cards (a new one issued during the treatment,
    appended after ";"), the card the person held on arrival is the first, so any card of the
    list covering that day passes. An empty GT_THE_DEN has no end (#19: left empty for QN, HC,
    LS, XK, CY, CA cards the gateway cannot look up); a claim without a card (not BHYT) and
    dates that are not yyyyMMdd (reported by the field checks) are not checked here."""
    arrival = _parse_time(summary.get("NGAY_VAO", ""), frozenset({12}))
    starts = summary.get("GT_THE_TU", "").split(";")
    ends = summary.get("GT_THE_DEN", "").split(";")
    if arrival is None or not summary.get("MA_THE_BHYT") or not starts[0]:
        return
    periods: list[tuple[datetime, datetime | None]] = []
    for index, start in enumerate(starts):
        end = ends[index] if index < len(ends) else ""
        begins = _parse_time(start, frozenset({8}))
        stops = _parse_time(end, frozenset({8})) if end else None
        if begins is None or (end and stops is None):
            return
        periods.append((begins, stops))
    day = datetime(arrival.year, arrival.month, arrival.day)
    if any(begins <= day and (stops is None or day <= stops) for begins, stops in periods):
        return
    valid = "; ".join(
        f"{begins:%d/%m/%Y}–{f'{stops:%d/%m/%Y}' if stops else '…'}" for begins, stops in periods
    )
    report.add(
        summary.get("MA_LK", ""),
        "XML1",
        "MA_THE_BHYT",
        f"card out of validity: valid {valid}, visit {day:%d/%m/%Y}",
    )


def _check_order(row: Row, table: str, names: tuple[str, ...], report: _Report) -> None:
    """Each time present is not before the one named before it."""
    times = [(n, _parse_time(row.get(n, ""), frozenset({12}))) for n in names]
    present = [(n, t) for n, t in times if t is not None]
    for (before, earlier), (after, later) in zip(present, present[1:], strict=False):
        if later < earlier:
            report.add(
                row.get("MA_LK", ""), table, after, f"{row[after]} is before {before} {row[before]}"
            )


def _check_row_amounts(row: Row, table: str, report: _Report) -> None:
    """Each row's amounts, by the formulas of XML2 #20-#30 and XML3 #19-#30.

    THANH_TIEN_BV = SO_LUONG × DON_GIA (XML2 #20); XML3 #19 as corrected by 4750 reads
    SO_LUONG × DON_GIA_BV × TYLE_TT_DV, where TYLE_TT_DV is a percentage written as an integer
    (#17: "ghi 100" for the full price, given only for some services), so it is taken as
    TYLE_TT_DV/100 and as 100 when absent, as #20 writes it. THANH_TIEN_BH = SO_LUONG × DON_GIA
    × TYLE_TT_BH/100 (XML2 #21; XML3 #20 with DON_GIA_BH and TYLE_TT_DV/100). T_NGUONKHAC is
    the sum of its four sources (#26/#27). With no other source (T_NGUONKHAC = 0), step 1 of
    #28-#30: T_BNTT = THANH_TIEN_BV − THANH_TIEN_BH, T_BHTT = THANH_TIEN_BH × MUC_HUONG/100,
    T_BNCCT = THANH_TIEN_BH − T_BHTT. With another source, case (a) deducts it from T_BNTT, then
    T_BNCCT, then T_BHTT, and case (b) deducts it from the cost before THANH_TIEN_BH is computed
    (the example of #28), and the file does not say which applies: then only what both keep is
    checked, THANH_TIEN_BV = T_BHTT + T_BNCCT + T_BNTT + T_NGUONKHAC.
    """
    ma_lk = row.get("MA_LK", "")
    price_bv, price_bh = ("DON_GIA", "DON_GIA") if table == "XML2" else ("DON_GIA_BV", "DON_GIA_BH")
    quantity = _amount(row, "SO_LUONG")
    service_rate = _amount(row, "TYLE_TT_DV", HUNDRED) if table == "XML3" else HUNDRED
    if quantity is None or service_rate is None:
        return
    amounts = {n: _amount(row, n, ZERO) for n in (
        "THANH_TIEN_BV", "THANH_TIEN_BH", "T_BNTT", "T_BNCCT", "T_BHTT", "T_NGUONKHAC",
        "T_NGUONKHAC_NSNN", "T_NGUONKHAC_VTNN", "T_NGUONKHAC_VTTN", "T_NGUONKHAC_CL",
    )}  # fmt: skip
    if any(v is None for v in amounts.values()):
        return
    a: dict[str, Decimal] = {k: v for k, v in amounts.items() if v is not None}

    def expect(field: str, value: Decimal | None, formula: str) -> None:
        if value is not None and abs(a[field] - value) > TOLERANCE:
            report.add(
                ma_lk, table, field, f"{a[field]} but {formula} = {value.quantize(Decimal('0.01'))}"
            )

    service_share = " × TYLE_TT_DV/100" if table == "XML3" else ""
    bv, bh, rate = _amount(row, price_bv), _amount(row, price_bh), _amount(row, "TYLE_TT_BH")
    if bv is not None:
        formula = f"SO_LUONG × {price_bv}{service_share}"
        expect("THANH_TIEN_BV", quantity * bv * service_rate / HUNDRED, formula)
    sources = sum(
        (
            a[n]
            for n in ("T_NGUONKHAC_NSNN", "T_NGUONKHAC_VTNN", "T_NGUONKHAC_VTTN", "T_NGUONKHAC_CL")
        ),
        ZERO,
    )
    if sources or a["T_NGUONKHAC"]:
        expect("T_NGUONKHAC", sources, "the sum of T_NGUONKHAC_NSNN, _VTNN, _VTTN, _CL")
    if a["T_NGUONKHAC"]:
        shares = a["T_BHTT"] + a["T_BNCCT"] + a["T_BNTT"] + a["T_NGUONKHAC"]
        expect("THANH_TIEN_BV", shares, "T_BHTT + T_BNCCT + T_BNTT + T_NGUONKHAC")
        return
    if bh is not None and rate is not None:
        formula = f"SO_LUONG × {price_bh}{service_share} × TYLE_TT_BH/100"
        expect("THANH_TIEN_BH", quantity * bh * service_rate / HUNDRED * rate / HUNDRED, formula)
    expect("T_BNTT", a["THANH_TIEN_BV"] - a["THANH_TIEN_BH"], "THANH_TIEN_BV − THANH_TIEN_BH")
    level = _amount(row, "MUC_HUONG")
    if level is not None:
        expect("T_BHTT", a["THANH_TIEN_BH"] * level / HUNDRED, "THANH_TIEN_BH × MUC_HUONG/100")
    expect("T_BNCCT", a["THANH_TIEN_BH"] - a["T_BHTT"], "THANH_TIEN_BH − T_BHTT")


def _is_supply(row: Row) -> bool:
    """A supply row of XML3 carries MA_VAT_TU (XML3 #5 and the table's note)."""
    return bool(row.get("MA_VAT_TU"))


def _check_totals(summary: Row, drugs: list[Row], services: list[Row], report: _Report) -> None:
    """XML1's totals against the rows: #44 T_THUOC = Σ THANH_TIEN_BV of XML2; #45 T_VTYT = Σ
    THANH_TIEN_BV of the supplies of XML3; #46 T_TONGCHI_BV = Σ THANH_TIEN_BV of XML2 and XML3;
    #47 T_TONGCHI_BH = Σ THANH_TIEN_BH; #48 T_BNTT, #49 T_BNCCT, #51 T_NGUONKHAC: the sums of
    the same fields; #52 T_BHTT_GDV = Σ T_BHTT of the rows with MA_PTTT "1"; #50 T_BHTT =
    T_TONGCHI_BH − T_BNCCT (XML1's own fields), checked only when no other source pays
    (T_NGUONKHAC = 0): a source deducted by case (a) of XML2 #26 lowers the rows' T_BNCCT but
    not their T_BHTT, and the text does not say how #50 then reads. A missing total counts as 0."""
    ma_lk = summary.get("MA_LK", "")
    rows = drugs + services

    def total(selected: list[Row], field: str) -> Decimal:
        return sum((_amount(r, field, ZERO) or ZERO for r in selected), ZERO)

    fee_for_service = [r for r in rows if r.get("MA_PTTT") == "1"]
    expected: list[tuple[str, Callable[[], Decimal], str]] = [
        ("T_THUOC", lambda: total(drugs, "THANH_TIEN_BV"), "Σ THANH_TIEN_BV of XML2"),
        ("T_VTYT", lambda: total([r for r in services if _is_supply(r)], "THANH_TIEN_BV"),
         "Σ THANH_TIEN_BV of the supplies (MA_VAT_TU) of XML3"),
        ("T_TONGCHI_BV", lambda: total(rows, "THANH_TIEN_BV"), "Σ THANH_TIEN_BV of XML2 and XML3"),
        ("T_TONGCHI_BH", lambda: total(rows, "THANH_TIEN_BH"), "Σ THANH_TIEN_BH of XML2 and XML3"),
        ("T_BNTT", lambda: total(rows, "T_BNTT"), "Σ T_BNTT of XML2 and XML3"),
        ("T_BNCCT", lambda: total(rows, "T_BNCCT"), "Σ T_BNCCT of XML2 and XML3"),
        ("T_NGUONKHAC", lambda: total(rows, "T_NGUONKHAC"), "Σ T_NGUONKHAC of XML2 and XML3"),
        ("T_BHTT_GDV", lambda: total(fee_for_service, "T_BHTT"),
         "Σ T_BHTT of the rows with MA_PTTT 1"),
    ]  # fmt: skip
    if not total([summary], "T_NGUONKHAC"):
        expected.append((
            "T_BHTT", lambda: total([summary], "T_TONGCHI_BH") - total([summary], "T_BNCCT"),
            "T_TONGCHI_BH − T_BNCCT",
        ))  # fmt: skip
    for field, compute, formula in expected:
        stated = _amount(summary, field, ZERO)
        if stated is None:
            continue
        value = compute()
        if abs(stated - value) > TOLERANCE:
            report.add(ma_lk, "XML1", field, f"{stated} but {formula} = {value}")
