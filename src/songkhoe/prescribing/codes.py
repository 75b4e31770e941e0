"""The prescription code (mã đơn thuốc) of Vietnam's national e-prescription system
(Hệ thống thông tin quốc gia về quản lý kê đơn thuốc và bán thuốc theo đơn, donthuocquocgia.vn).

Quyết định 808/QĐ-BYT (01/04/2022), "Tài liệu hướng dẫn kết nối", mục VII.1 as quoted by
implementations that connect to it: 14 characters, the facility's 5-character code (mã cơ sở
khám bệnh, chữa bệnh), 7 letters or digits chosen by the facility, then "-" and the prescription
type: c (thường/basic), n (gây nghiện/narcotic), h (hướng thần, tiền chất/psychotropic),
y (y học cổ truyền/traditional medicine). UNVERIFIED against the decree's own text (not
reachable from here): the pattern was checked against independent implementations (stored file
ids of the project's code search: 70577067377 quotes mục VII.1 as /^[0-9a-z]{12}-[cnhy]$/i;
35338871761 makes the facility's code + 7 random characters + "-" + the type; 39868492326 the
last 5 characters of the facility's mã liên thông + 7 + "-" + the type). Those two draw the 7
from upper-case letters and digits, this module from lower case: UNVERIFIED whether the system
minds the case.

The facility code is the one the national system issues when a facility registers; the project
does not hold those, so `facility_code` derives a placeholder: the 5-digit commune code where
the facility stands (UNVERIFIED: replace by the issued code when it is known).
"""

import re
import secrets
import string

from songkhoe.places.facilities import facility

CODE_PATTERN = re.compile(r"[0-9a-z]{12}-[cnhy]")
ALPHABET = string.digits + string.ascii_lowercase
TYPES = {"c": "Đơn thuốc thường", "n": "Đơn thuốc gây nghiện",
         "h": "Đơn thuốc hướng thần, tiền chất", "y": "Đơn thuốc y học cổ truyền"}  # fmt: skip


def facility_code(facility_id: str) -> str:
    """The 5-character facility part (placeholder: the commune code of the facility's site)."""
    site = facility(facility_id)
    return (site.commune_code or site.code)[-5:].lower().rjust(5, "0")


def prescription_code(facility_id: str, kind: str = "c") -> str:
    if kind not in TYPES:
        raise ValueError(f"prescription type must be one of {', '.join(TYPES)}, got {kind!r}")
    middle = "".join(secrets.choice(ALPHABET) for _ in range(7))
    return f"{facility_code(facility_id)}{middle}-{kind}"
