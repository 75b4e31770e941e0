"""The LOINC codes Sống Khỏe records at check-ups, with English display and Vietnamese label.

Displays are LOINC long common names (https://loinc.org, LOINC 2.7x); units are UCUM.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from songkhoe.fhir.systems import LOINC


@dataclass(frozen=True, slots=True)
class LoincCode:
    code: str
    display: str
    vi: str
    unit: str | None  # UCUM code of the value, None for coded or panel observations


BP_PANEL = LoincCode("85354-9", "Blood pressure panel with all children optional", "Huyết áp", None)
SYSTOLIC_BP = LoincCode("8480-6", "Systolic blood pressure", "Huyết áp tâm thu", "mm[Hg]")
DIASTOLIC_BP = LoincCode("8462-4", "Diastolic blood pressure", "Huyết áp tâm trương", "mm[Hg]")
BODY_WEIGHT = LoincCode("29463-7", "Body weight", "Cân nặng", "kg")
BODY_HEIGHT = LoincCode("8302-2", "Body height", "Chiều cao", "cm")
BMI = LoincCode("39156-5", "Body mass index (BMI) [Ratio]", "Chỉ số khối cơ thể (BMI)", "kg/m2")
WAIST = LoincCode("8280-0", "Waist Circumference at umbilicus by Tape measure", "Vòng eo", "cm")
SMOKING_STATUS = LoincCode("72166-2", "Tobacco smoking status", "Tình trạng hút thuốc lá", None)
FASTING_GLUCOSE = LoincCode(
    "14771-0", "Fasting glucose [Moles/volume] in Serum or Plasma", "Glucose máu lúc đói", "mmol/L"
)
TOTAL_CHOLESTEROL = LoincCode(
    "14647-2", "Cholesterol [Moles/volume] in Serum or Plasma", "Cholesterol toàn phần", "mmol/L"
)

ALL: tuple[LoincCode, ...] = (
    BP_PANEL,
    SYSTOLIC_BP,
    DIASTOLIC_BP,
    BODY_WEIGHT,
    BODY_HEIGHT,
    BMI,
    WAIST,
    SMOKING_STATUS,
    FASTING_GLUCOSE,
    TOTAL_CHOLESTEROL,
)
BY_CODE: dict[str, LoincCode] = {c.code: c for c in ALL}


@cache
def concept(code: str) -> dict[str, Any]:
    """The shared CodeableConcept for a LOINC code of `ALL` (read-only); KeyError otherwise."""
    c = BY_CODE[code]
    return {"coding": [{"system": LOINC, "code": c.code, "display": c.display}], "text": c.vi}
