"""The NCD medicines that commune health stations dispense and `songkhoe.synth` prescribes.

ATC codes: WHO Collaborating Centre for Drug Statistics Methodology, ATC/DDD Index
(https://atcddd.fhi.no/atc_ddd_index/). The medicines are on Vietnam's list of medicines for
commune-level health facilities (Thông tư 20/2022/TT-BYT, danh mục thuốc hóa dược thuộc phạm vi
thanh toán của quỹ BHYT) and in the Ministry of Health's primary-care guidelines for hypertension
(Quyết định 3192/QĐ-BYT 2010) and type 2 diabetes (Quyết định 5481/QĐ-BYT 2020).
Vietnamese spellings follow Dược thư Quốc gia Việt Nam.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from songkhoe.fhir.systems import ATC


@dataclass(frozen=True, slots=True)
class Medication:
    key: str
    atc: str
    name_en: str  # INN, as the ATC index spells it
    text_vi: str  # product as dispensed, Vietnamese spelling
    dosage_vi: str  # usual instruction at commune level


AMLODIPINE = Medication(
    "amlodipine", "C08CA01", "amlodipine", "Amlodipin 5 mg, viên", "Uống 1 viên/ngày, buổi sáng"
)
LOSARTAN = Medication(
    "losartan", "C09CA01", "losartan", "Losartan 50 mg, viên", "Uống 1 viên/ngày, buổi sáng"
)
ENALAPRIL = Medication(
    "enalapril",
    "C09AA02",
    "enalapril",
    "Enalapril 5 mg, viên",
    "Uống 1 viên x 2 lần/ngày, sáng và chiều",
)
HYDROCHLOROTHIAZIDE = Medication(
    "hydrochlorothiazide",
    "C03AA03",
    "hydrochlorothiazide",
    "Hydroclorothiazid 25 mg, viên",
    "Uống 1 viên/ngày, buổi sáng",
)
METFORMIN = Medication(
    "metformin",
    "A10BA02",
    "metformin",
    "Metformin 500 mg, viên",
    "Uống 1 viên x 2 lần/ngày, sau ăn sáng và tối",
)
GLICLAZIDE = Medication(
    "gliclazide",
    "A10BB09",
    "gliclazide",
    "Gliclazid 30 mg, viên giải phóng có kiểm soát",
    "Uống 1 viên/ngày, trước ăn sáng",
)
ATORVASTATIN = Medication(
    "atorvastatin",
    "C10AA05",
    "atorvastatin",
    "Atorvastatin 20 mg, viên",
    "Uống 1 viên/ngày, buổi tối",
)
SALBUTAMOL = Medication(
    "salbutamol",
    "R03AC02",
    "salbutamol",
    "Salbutamol 100 mcg/liều, bình xịt định liều",
    "Xịt 2 nhát khi khó thở, tối đa 4 lần/ngày",
)

ALL: tuple[Medication, ...] = (
    AMLODIPINE,
    LOSARTAN,
    ENALAPRIL,
    HYDROCHLOROTHIAZIDE,
    METFORMIN,
    GLICLAZIDE,
    ATORVASTATIN,
    SALBUTAMOL,
)
BY_KEY: dict[str, Medication] = {m.key: m for m in ALL}


@cache
def concept(key: str) -> dict[str, Any]:
    """The shared medicationCodeableConcept for a medicine of `ALL` (read-only)."""
    m = BY_KEY[key]
    return {"coding": [{"system": ATC, "code": m.atc, "display": m.name_en}], "text": m.text_vi}


@cache
def dosage(key: str) -> list[dict[str, Any]]:
    """The shared `dosageInstruction` list for a medicine of `ALL` (read-only)."""
    return [{"text": BY_KEY[key].dosage_vi}]
