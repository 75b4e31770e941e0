"""How the NCD programme codes a visit and what is measured at it, in one place: the check-up
form writes these codes, the synthetic population generates them, and the projections read
them back.

- Encounters: class AMB (v3 ActCode), type SNOMED CT 185349003 "Encounter for check up" or
  390906007 "Follow-up encounter".
- Observations: LOINC codes (`songkhoe.terminology.loinc`) in the categories vital-signs,
  laboratory and social-history (HL7 observation-category); quantities in UCUM units.
- Smoking status (LOINC 72166-2): SNOMED CT answers of the US Core smoking-status value set,
  read as never / former / current.
"""

from typing import Any

from songkhoe.fhir.systems import ACT_CODE, OBSERVATION_CATEGORY, SNOMED, UCUM

CHECKUP_CODE, FOLLOW_UP_CODE = "185349003", "390906007"  # SNOMED CT encounter types
NEVER, FORMER, CURRENT = 0, 1, 2  # smoking status
SMOKING_STATUS = {
    "266919005": NEVER,
    "8517006": FORMER,
    "449868002": CURRENT,
    "77176002": CURRENT,
    "428041000124106": CURRENT,
    "428061000124105": CURRENT,
    "428071000124103": CURRENT,
}  # answer code -> status


def _category(code: str, display: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": code, "display": display}]}]


VITAL_SIGNS = _category("vital-signs", "Vital Signs")
LABORATORY = _category("laboratory", "Laboratory")
SOCIAL_HISTORY = _category("social-history", "Social History")
AMBULATORY = {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"}
CHECKUP_TYPE = [
    {
        "coding": [{"system": SNOMED, "code": CHECKUP_CODE, "display": "Encounter for check up"}],
        "text": "Khám sức khỏe định kỳ",
    }
]
FOLLOW_UP_TYPE = [
    {
        "coding": [{"system": SNOMED, "code": FOLLOW_UP_CODE, "display": "Follow-up encounter"}],
        "text": "Tái khám, cấp thuốc bệnh mạn tính",
    }
]
SMOKING = [
    {"coding": [{"system": SNOMED, "code": code, "display": display}], "text": text}
    for code, display, text in (
        ("266919005", "Never smoked tobacco", "Không bao giờ hút thuốc"),
        ("8517006", "Ex-smoker", "Đã bỏ thuốc"),
        ("449868002", "Smokes tobacco daily", "Đang hút thuốc hằng ngày"),
    )
]  # the answer written for each status, indexed by NEVER / FORMER / CURRENT


def quantity(value: float, unit: str) -> dict[str, Any]:
    """A UCUM quantity whose code is its unit ("mm[Hg]", "kg", "mmol/L")."""
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}
