"""The notifiable diseases that Sống Khỏe takes case reports for, after Circular 54/2015/TT-BYT
(reporting and declaration of infectious diseases, Appendix 1) and the groups of the Law on
Prevention and Control of Infectious Diseases 03/2007/QH12, art. 3 (group A: very dangerous,
group B: dangerous, fast spreading).

Case reports are due within 24 hours of diagnosis for group A diseases and within 48 hours for
group B (Circular 54/2015, art. 4 and Appendix 1). COVID-19 is group B since Decision
3896/QĐ-BYT (19/10/2023; group A before).

ICD-10 codes: the WHO 2019 edition codes dengue A97.x, while the Vietnamese health insurance
(BHYT, Decision 4469/QĐ-BYT) still uses the pre-2010 A90 (dengue fever) and A91 (dengue
haemorrhagic fever); both are accepted and map to one disease. A code maps to a disease when it is
one of the disease's codes or a subcategory of one ("A97.1" -> dengue).
"""

from dataclasses import dataclass
from typing import Any

from songkhoe.fhir.systems import BASE, ICD10

DISEASE_SYSTEM = f"{BASE}/CodeSystem/notifiable-disease"
CATEGORY_SYSTEM = f"{BASE}/CodeSystem/condition-category"
CATEGORY_CODE = "notifiable-disease"
GROUP_SYSTEM = f"{BASE}/CodeSystem/infectious-disease-group"
REPORT_WITHIN_HOURS = {"A": 24, "B": 48}


class UnknownDisease(ValueError):
    """A disease key or ICD-10 code that is not in the notifiable-disease catalogue."""


@dataclass(frozen=True, slots=True)
class Disease:
    """A notifiable disease: `key` (the project code), names, group A/B and ICD-10 codes (the
    first is the WHO 2019 code used when a report gives none)."""

    key: str
    name_vi: str
    name_en: str
    group: str
    icd10: tuple[str, ...]
    icd10_display: str  # WHO English name of the first code

    @property
    def report_within_hours(self) -> int:
        return REPORT_WITHIN_HOURS[self.group]


DISEASES: dict[str, Disease] = {
    d.key: d
    for d in (
        Disease("dengue", "Sốt xuất huyết Dengue", "Dengue", "B",
                ("A97", "A90", "A91"), "Dengue"),
        Disease("hfmd", "Bệnh tay chân miệng", "Hand, foot and mouth disease", "B",
                ("B08.4",), "Enteroviral vesicular stomatitis with exanthem"),
        Disease("measles", "Bệnh sởi", "Measles", "B", ("B05",), "Measles"),
        Disease("ili", "Cúm / hội chứng cúm", "Influenza-like illness", "B",
                ("J11", "J10"), "Influenza, virus not identified"),
        Disease("diarrhoea", "Tiêu chảy cấp", "Acute diarrhoea", "B",
                ("A09", "A08"),
                "Other gastroenteritis and colitis of infectious and unspecified origin"),
        Disease("covid19", "COVID-19", "COVID-19", "B", ("U07.1", "U07.2"),
                "COVID-19, virus identified"),
        Disease("rubella", "Bệnh rubella", "Rubella", "B", ("B06",), "Rubella [German measles]"),
        Disease("chickenpox", "Bệnh thủy đậu", "Chickenpox", "B", ("B01",),
                "Varicella [chickenpox]"),
        Disease("cholera", "Bệnh tả", "Cholera", "A", ("A00",), "Cholera"),
        Disease("avian_flu", "Cúm A(H5N1)", "Avian influenza A(H5N1)", "A", ("J09",),
                "Influenza due to identified zoonotic or pandemic influenza virus"),
    )
}  # fmt: skip


def disease(key: str) -> Disease:
    """The disease with this key; raises UnknownDisease listing the keys."""
    found = DISEASES.get(key)
    if found is None:
        raise UnknownDisease(f"unknown disease {key!r} (one of {', '.join(DISEASES)})")
    return found


def by_icd10(code: str) -> Disease:
    """The disease of an ICD-10 code or subcategory (A90, A91 and A97.x are dengue)."""
    code = code.strip().upper()
    for d in DISEASES.values():
        if any(code == c or code.startswith(c + ".") for c in d.icd10):
            return d
    raise UnknownDisease(
        f"ICD-10 code {code!r} is not a notifiable disease of the catalogue "
        f"(known: {', '.join(c for d in DISEASES.values() for c in d.icd10)})"
    )


def resolve(text: str) -> Disease:
    """A disease from its key ("dengue") or an ICD-10 code ("A91", "A97.0")."""
    text = text.strip()
    return DISEASES[text] if text in DISEASES else by_icd10(text)


def concept(d: Disease, icd10_code: str | None = None) -> dict[str, Any]:
    """Condition.code: the ICD-10 code as reported (default the disease's WHO code) and the
    project's disease code, with the Vietnamese name as text."""
    code = icd10_code or d.icd10[0]
    icd = {"system": ICD10, "code": code}
    if code == d.icd10[0]:
        icd["display"] = d.icd10_display
    return {
        "coding": [icd, {"system": DISEASE_SYSTEM, "code": d.key, "display": d.name_en}],
        "text": d.name_vi,
    }


def category(d: Disease) -> dict[str, Any]:
    """Condition.category of a case report: notifiable disease, with the group of the law."""
    return {
        "coding": [
            {"system": CATEGORY_SYSTEM, "code": CATEGORY_CODE, "display": "Notifiable disease"},
            {"system": GROUP_SYSTEM, "code": d.group, "display": f"Group {d.group}"},
        ],
        "text": f"Bệnh truyền nhiễm nhóm {d.group}",
    }


def disease_key(code: dict[str, Any]) -> str | None:
    """The project disease key in a CodeableConcept, if any."""
    for coding in code.get("coding", []):
        if coding.get("system") == DISEASE_SYSTEM:
            return coding.get("code")
    return None
