"""The starter catalogue and the national prescription code."""

import re

from songkhoe.prescribing.catalogue import ROUTES, catalogue, drug
from songkhoe.prescribing.codes import CODE_PATTERN, facility_code, prescription_code

ATC = re.compile(r"[A-V]\d\d[A-Z]([A-Z](\d\d)?)?")


def test_the_starter_catalogue():
    drugs = catalogue()
    assert len(drugs) >= 60
    assert len({d.code for d in drugs}) == len(drugs)
    for d in drugs:
        assert ATC.fullmatch(d.atc), d.code
        assert d.route in ROUTES and d.doses_per_unit >= 1 and d.ingredients[0]
    essentials = {"amlodipine", "losartan", "enalapril", "metformin", "gliclazide",
                  "atorvastatin", "acetylsalicylic acid", "salbutamol", "oral rehydration salts",
                  "zinc sulfate", "paracetamol", "amoxicillin"}  # fmt: skip
    assert essentials <= {i for d in drugs for i in d.ingredients}
    assert drug("AML5").concept()["coding"][1] == {
        "system": "http://www.whocc.no/atc",
        "code": "C08CA01",
        "display": "amlodipine",
    }


def test_prescription_codes():
    codes = {prescription_code("tyt-00004") for _ in range(50)}
    assert len(codes) == 50
    for code in codes:
        assert CODE_PATTERN.fullmatch(code) and len(code) == 14 and code.startswith("00004")
    assert len(facility_code("bv-bach-mai")) == 5
    assert prescription_code("bv-dk-24", "h").endswith("-h")
