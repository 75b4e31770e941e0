"""Triage on the committed red-flag vignettes: every emergency caught (100% sensitivity), with
negated and diacritic-free forms and non-emergency look-alikes for the false-alarm rate."""

from pathlib import Path

import pytest

from songkhoe.chatbot.evaluation import read_tsv, triage_rates
from songkhoe.chatbot.text import fold
from songkhoe.chatbot.triage import EMERGENCY, SEE_CLINICIAN, SELF_CARE, triage

VIGNETTES = read_tsv(Path(__file__).with_name("data") / "red_flags.tsv")


def test_the_vignette_set_is_as_the_issue_asks():
    assert len(VIGNETTES) >= 60
    emergencies = [r for r in VIGNETTES if r["expected"] == EMERGENCY]
    assert len(emergencies) >= 50
    assert sum(fold(r["question"]) == r["question"].lower() for r in emergencies) >= 15
    assert sum(r["kind"] == "negated" for r in VIGNETTES) >= 10
    assert sum(r["kind"] == "lookalike" for r in VIGNETTES) >= 15


def test_every_emergency_vignette_is_triaged_emergency():
    result = triage_rates(VIGNETTES)
    assert result.missed == [] and result.sensitivity == 1.0
    assert result.see_clinician_sensitivity == 1.0
    assert result.false_alarm_rate <= 0.1, result.false_alarms


@pytest.mark.parametrize(
    "question, level, flag",
    [
        ("Tôi bị đau ngực", EMERGENCY, "chest_pain"),
        ("toi bi dau nguc", EMERGENCY, "chest_pain"),
        ("Tôi không đau ngực", SELF_CARE, None),
        ("Tôi không bị đau ngực nhưng khó thở", EMERGENCY, "breathing"),
        ("Bé chưa sốt", SELF_CARE, None),
        ("Cách chữa khó thở", EMERGENCY, "breathing"),  # "chữa" (treat) is not "chưa" (not yet)
        ("hết khó thở rồi", SELF_CARE, None),
        ("ko co giat", SELF_CARE, None),
        ("Bố tôi ngạt mũi", SELF_CARE, None),
        ("Bố tôi ngất", EMERGENCY, "unconscious"),
        ("Con 6 tuần tuổi sốt 38 độ", EMERGENCY, "infant_fever"),
        ("Con 6 tuổi sốt 38 độ", SELF_CARE, None),
        ("Bé sốt 2 ngày", SELF_CARE, None),  # a duration, not an age
        ("Bé 2 tháng không sốt", SELF_CARE, None),
        ("Huyết áp 185/100", SEE_CLINICIAN, "very_high_blood_pressure"),
        ("Huyết áp 135/85", SELF_CARE, None),
        ("Hôm nay hết sốt nhưng bé đau bụng, nôn nhiều", EMERGENCY, "fever_warning"),
        ("Cho bé uống oresol từ từ", SELF_CARE, None),
        ("Ho 3 tuần chưa khỏi", SEE_CLINICIAN, "long_cough"),
    ],
)
def test_signs_negation_and_diacritics(question, level, flag):
    result = triage(question)
    assert result.level == level, result
    assert flag is None or flag in {f.id for f in result.flags}
