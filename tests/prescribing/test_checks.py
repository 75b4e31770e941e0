"""Duplicate therapy, allergies and interactions, flagged before signing."""

import pytest

from songkhoe.prescribing.catalogue import catalogue, drug
from songkhoe.prescribing.checks import Allergy, Medicine, check, interaction_rules
from songkhoe.prescribing.dosing import InvalidLine, parse_line


def new(*codes: str) -> list[Medicine]:
    return [Medicine.of(drug(c)) for c in codes]


def kinds(issues) -> list[tuple[str, str]]:
    return [(i.kind, i.severity) for i in issues]


def test_known_interactions_are_flagged_with_their_source():
    issues = check(new("WAR5", "IBU400"), [])
    assert kinds(issues) == [("interaction", "major")]
    assert "Coumadin" in issues[0].source and "xuất huyết" in issues[0].message_vi
    (simva,) = check(new("SIM20", "CLA250"), [])
    assert simva.severity == "contraindicated" and "Zocor" in simva.source
    (dual,) = check(new("ENA5", "LOS50"), [])
    assert dual.key.startswith("interaction:acei+arb")
    assert kinds(check(new("LOS50", "SPI25"), [])) == [("interaction", "major")]


def test_duplicate_ingredient_and_class():
    (metformin,) = check(new("MTF500", "MTF850"), [])
    assert metformin.kind == "duplicate-ingredient" and "metformin" in metformin.message_vi
    (combo,) = check(new("AMX500", "AMC625"), [])
    assert combo.kind == "duplicate-ingredient" and "amoxicillin" in combo.key
    (ace,) = check(new("ENA5", "PER5"), [])
    assert (ace.kind, ace.severity) == ("duplicate-class", "moderate") and "C09AA" in ace.key


def test_a_medicine_already_taken_counts_but_old_pairs_are_not_repeated():
    taking = [Medicine("Amlodipin 5 mg", "C08CA01", ("amlodipine",), new=False),
              Medicine("Simvastatin 20 mg", "C10AA01", ("simvastatin",), new=False)]  # fmt: skip
    assert check(taking, []) == []  # signed before: not flagged again
    flagged = check(new("AML5") + taking, [])
    assert {i.kind for i in flagged} == {"duplicate-ingredient", "interaction"}


def test_recorded_allergies():
    penicillin = Allergy((), "Dị ứng Penicilin (nổi mề đay)")
    (hit,) = check(new("AMX500", "PAR500"), [penicillin])
    assert hit.kind == "allergy" and "Amoxicilin" in hit.message_vi
    assert check(new("AZI250"), [penicillin]) == []
    by_code = Allergy(("M01A",), "")
    assert [i.kind for i in check(new("IBU400"), [by_code])] == ["allergy"]
    named = Allergy((), "aspirin")
    assert [i.kind for i in check(new("ASA81"), [named])] == ["allergy"]


def test_clean_prescriptions_pass():
    assert check(new("AML5", "MTF500", "ATO20", "ASA81"), []) == []


def test_every_rule_matches_catalogue_medicines_on_both_sides():
    atcs = [d.atc for d in catalogue()]
    for rule in interaction_rules():
        for side in (rule.atc_a, rule.atc_b):
            assert any(a.startswith(p) for a in atcs for p in side), rule.key
        assert rule.source and rule.severity in ("contraindicated", "major", "moderate")


def test_quantity_and_instruction():
    line = parse_line(1, "MTF500", "1", "2", "30", "sau ăn")
    assert line.quantity == 60 and line.instruction == "Uống 1 viên x 2 lần/ngày, 30 ngày, sau ăn"
    assert parse_line(1, "SAL100", "2", "4", "30").quantity == 2  # 240 puffs, 200 a canister
    insulin = parse_line(1, "INSNPH", "20", "1", "30")
    assert insulin.quantity == 1 and insulin.instruction.startswith("Tiêm dưới da 20 IU")
    assert parse_line(1, "PAR500", "0,5", "3", "3").quantity == 5  # 4.5 tablets, whole units
    with pytest.raises(InvalidLine, match="line 2, days"):
        parse_line(2, "PAR500", "1", "3", "120")
    with pytest.raises(InvalidLine, match="line 1, drug"):
        parse_line(1, "NOPE", "1", "3", "3")
