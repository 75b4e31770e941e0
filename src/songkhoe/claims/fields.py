"""The field tables of the health-insurance (BHYT) claims XML, typed from the official appendix.

SOURCE: ``data/qd4750_fields.csv`` is the appendix of QĐ 4750/QĐ-BYT (29/12/2023), which amends
the tables of QĐ 130/QĐ-BYT (2023): for the check-in table and XML1–XML15 each field's order,
name, data type and maximum size under QĐ 130, its description, and the 4750 amendment. It is the
published Excel converted to CSV unchanged; a legal document, not subject to copyright (Law on
Intellectual Property, Art. 15). QĐ 3176/QĐ-BYT (2025) changes are not in this table.

What the amendment column changes, and how it is read here:
- "Đổi kiểu dữ liệu thành chuỗi": the type becomes Chuỗi (e.g. SO_CCCD, MA_LOAI_KCB, MA_TTDV).
- "Tăng kích thước tối đa lên N ký tự": the maximum size becomes N. In this appendix that raises
  CHECKIN.MA_DOITUONG_KCB 1→4, XML1.MA_DOITUONG_KCB 3→4, XML2.MA_KHOA 15→50, XML3.TT_THAU 25→50,
  XML3.MA_KHOA 20→50, XML6.MA_XU_TRI 1→10 and XML12.DANG_HUONG_CHE_DO 3→10.
- Fields 4750 adds ("Bổ sung trường mới", and rows with no order such as XML1.NHOM_MAU,
  XML2.NGAY_TH_YL) are fields of the table like the others.
A size of "n" means no maximum. Rows of the appendix that are notes ("Ghi chú: ...") are not fields.
The time format of a field is what its description says: "yyyymmddHHMM" (12 characters) and/or
"yyyymmdd" (8 characters); a field whose description lets several values be separated by ";"
(e.g. GT_THE_TU when the card changes during treatment) is checked value by value.
"""

import csv
import io
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

TEXT = "Chuỗi"
NUMBER = "Số"

_FIELD_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_SIZE_RAISED = re.compile(r"Tăng kích thước tối đa lên (\d+) ký tự")
_TO_TEXT = "Đổi kiểu dữ liệu thành chuỗi"
_TIME_12 = re.compile(r"yyyymmddhhmm", re.IGNORECASE)
_DATE_8 = re.compile(r"yyyymmdd(?!hh)", re.IGNORECASE)


@dataclass(frozen=True)
class FieldSpec:
    """One field of a claims table, as amended by QĐ 4750."""

    table: str
    name: str
    order: int | None
    type: str
    max_size: int | None
    time_lengths: frozenset[int]
    several_values: bool
    description: str

    @property
    def is_time(self) -> bool:
        return bool(self.time_lengths)

    @property
    def checks_date(self) -> bool:
        """Whether its digits must be a real date: not where its description lets "0000" stand
        for an unknown part (e.g. a birth date known by its year only)."""
        return "0000" not in self.description


def _spec(row: dict[str, str]) -> FieldSpec:
    description = row["description_qd130"].strip()
    amendment = row["amendment_qd4750"].strip()
    text = f"{description}\n{amendment}"
    kind = row["type_qd130"].strip()
    if _TO_TEXT in amendment:
        kind = TEXT
    raised = _SIZE_RAISED.search(amendment)
    size = raised.group(1) if raised else row["max_size_qd130"].strip()
    lengths = {12} if _TIME_12.search(text) else set()
    if _DATE_8.search(text):
        lengths.add(8)
    return FieldSpec(
        table=row["table"].strip(),
        name=row["field"].strip(),
        order=int(row["stt"]) if row["stt"].strip() else None,
        type=kind,
        max_size=int(size) if size.isdigit() else None,
        time_lengths=frozenset(lengths),
        several_values=bool(lengths) and "chấm phẩy" in text,
        description=text.strip(),
    )


@cache
def field_tables() -> dict[str, dict[str, FieldSpec]]:
    """Every table (CHECKIN, XML1 … XML15) to its fields by name, in the appendix's order."""
    tables: dict[str, dict[str, FieldSpec]] = {}
    source = files("songkhoe.claims") / "data" / "qd4750_fields.csv"
    text = source.read_text(encoding="utf-8")
    for row in csv.DictReader(io.StringIO(text, newline="")):
        if _FIELD_NAME.match(row["field"].strip()):
            spec = _spec(row)
            tables.setdefault(spec.table, {})[spec.name] = spec
    return tables
