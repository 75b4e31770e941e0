"""ICD-10 names and codeable concepts; LOINC and ATC tables."""

import re

import pytest

from songkhoe.fhir.systems import ATC, ICD10, LOINC
from songkhoe.terminology import icd10, loinc, medications


def test_every_vietnamese_named_code_is_in_who_icd10_2019():
    names = icd10.vietnamese_names()
    assert len(names) >= 40
    assert all(icd10.is_valid(code) for code in names), [c for c in names if not icd10.is_valid(c)]
    for code in ("I10", "E11", "E10", "J44", "J45", "I64", "I63", "I21", "I25", "E78", "E66",
                 "N18", "K29", "A15", "A16", "J18", "A97", "B08.4"):  # fmt: skip
        assert names[code]


def test_concept_has_english_display_and_vietnamese_text():
    concept = icd10.concept("I10")
    assert concept["coding"] == [
        {"system": ICD10, "code": "I10", "display": "Essential (primary) hypertension"}
    ]
    assert concept["text"] == "Tăng huyết áp vô căn (nguyên phát)"
    assert icd10.concept("I10") is concept  # shared
    assert icd10.concept("I11.9")["text"] == icd10.display("I11.9")  # no Vietnamese: English


@pytest.mark.parametrize("code", ["A90", "I10-I15", "XYZ", ""])
def test_unknown_codes(code):
    assert not icd10.is_valid(code)
    with pytest.raises(icd10.UnknownCode):
        icd10.display(code)


def test_loinc_and_atc_tables():
    assert all(re.fullmatch(r"\d{1,5}-\d", c.code) for c in loinc.ALL)
    assert loinc.concept("14771-0")["coding"][0]["system"] == LOINC
    assert all(re.fullmatch(r"[A-Z]\d\d[A-Z]{2}\d\d", m.atc) for m in medications.ALL)
    assert medications.concept("metformin")["coding"][0] == {
        "system": ATC, "code": "A10BA02", "display": "metformin"
    }  # fmt: skip
    assert medications.dosage("amlodipine") == [{"text": "Uống 1 viên/ngày, buổi sáng"}]
