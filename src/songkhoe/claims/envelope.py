"""The claims envelope ``GIAMDINHHS`` and the XML of each table inside it.

The envelope as the project's README describes it (QĐ 130/QĐ-BYT as amended by QĐ 4750/QĐ-BYT;
no official XSD is published): ``THONGTINDONVI/MACSKCB``; ``THONGTINHOSO`` with ``NGAYLAP``
(yyyyMMdd), ``SOLUONGHOSO`` (the number of HOSO) and ``DANHSACHHOSO/HOSO/FILEHOSO``, one per
table, with ``LOAIHOSO`` (XML1 …) and ``NOIDUNGFILE`` (the base64 of the table's UTF-8 XML);
``CHUKYDONVI``, left empty here for ``claims.signing`` to put the facility's signature in. The
check-in table is not in it: it goes to the gateway on arrival.

Each table is a UTF-8 document without namespace, its fields as child elements named as in the
appendix, an empty field an empty element. Root, list and row names are those seen in vendors'
code: XML1–XML5 as ``claims.check.WRAPPERS`` lists them; XML13 ``CHI_TIEU_GIAYCHUYENTUYEN`` and
XML14 ``CHI_TIEU_GIAYHEN_KHAMLAI``, one record each whose root is the row, as read in
phamvanviet95hh/gmedical-flink (``dtos/Xml13.java``, ``dtos/Xml14.java``) and in a public claims
viewer (JavaScript) that names the same roots; not in an official schema.
"""

import base64
import re
from collections.abc import Sequence
from datetime import date
from functools import cache

from songkhoe.claims.check import WRAPPERS
from songkhoe.claims.tables import ClaimError, ClaimRows, Row

ELEMENT_NAMES: dict[str, tuple[str, ...]] = WRAPPERS
"""Table → (root,) for a one-record table whose root is the row, or (root, list, row)."""

DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
"""Characters XML 1.0 cannot carry (§2.2 Char), even escaped."""
_APART = "\uffff"  # between a row's values while they are escaped at once: never in a value


def table_document(table: str, rows: Sequence[Row]) -> bytes:
    """One table's XML (UTF-8, with its declaration)."""
    names = ELEMENT_NAMES[table]
    if len(names) == 1:
        if len(rows) != 1:
            raise ValueError(f"{table} holds one record, not {len(rows)}")
        body = f"<{names[0]}>{_fields(table, rows[0])}</{names[0]}>"
    else:
        root, listing, item = names
        items = "".join(f"<{item}>{_fields(table, row)}</{item}>" for row in rows)
        body = f"<{root}><{listing}>{items}</{listing}></{root}>"
    return (DECLARATION + body).encode()


def checkin_document(rows: Sequence[Row]) -> bytes:
    """The unsigned check-in table sent at arrival: its rows, then an empty CHUKYDONVI inside
    the root, as BHXH's guide for QĐ 4750 shows it (the signature covers the list)."""
    root, listing, item = ELEMENT_NAMES["CHECKIN"]
    items = "".join(f"<{item}>{_fields('CHECKIN', row)}</{item}>" for row in rows)
    return f"{DECLARATION}<{root}><{listing}>{items}</{listing}><CHUKYDONVI/></{root}>".encode()


def envelope(facility: str, made_on: date, claims: Sequence[ClaimRows]) -> bytes:
    """The unsigned envelope of `claims` (one HOSO each) sent by `facility` (MACSKCB)."""
    records = "".join(f"<HOSO>{_files(claim)}</HOSO>" for claim in claims)
    return (
        f"{DECLARATION}<GIAMDINHHS>"
        f"<THONGTINDONVI><MACSKCB>{_escape(facility)}</MACSKCB></THONGTINDONVI>"
        f"<THONGTINHOSO><NGAYLAP>{made_on:%Y%m%d}</NGAYLAP>"
        f"<SOLUONGHOSO>{len(claims)}</SOLUONGHOSO>"
        f"<DANHSACHHOSO>{records}</DANHSACHHOSO></THONGTINHOSO>"
        "<CHUKYDONVI/></GIAMDINHHS>"
    ).encode()


def _files(claim: ClaimRows) -> str:
    return "".join(
        f"<FILEHOSO><LOAIHOSO>{table}</LOAIHOSO><NOIDUNGFILE>"
        f"{base64.b64encode(table_document(table, rows)).decode('ascii')}"
        "</NOIDUNGFILE></FILEHOSO>"
        for table, rows in claim.items()
    )


def _escape(text: str) -> str:
    return text.translate(_ESCAPES)


def _fields(table: str, row: Row) -> str:
    """The row's fields as elements, in its order; its values escaped in one pass."""
    values = list(row.values())
    if _NOT_XML.search("".join(values)):
        name, value = next((n, v) for n, v in row.items() if _NOT_XML.search(v))
        bad = _NOT_XML.search(value)
        assert bad is not None
        raise ClaimError(
            row.get("MA_LK", ""),
            table,
            name,
            f"character U+{ord(bad.group()):04X} cannot be written in XML",
        )
    joined = _APART.join(values)
    if "&" in joined or "<" in joined or ">" in joined:
        values = _escape(joined).split(_APART)
    return _template(tuple(row)).format(*values)


@cache
def _template(names: tuple[str, ...]) -> str:
    """ "<A>{}</A><B>{}</B>…": an empty field is an empty element."""
    return "".join(f"<{name}>{{}}</{name}>" for name in names)
