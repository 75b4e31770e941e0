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
    assert sum(r["kind"] == "teen" for r in VIGNETTES) >= 10  # chat spellings: ko, k, dc, mk


def test_every_emergency_vignette_is_triaged_emergency():
    result = triage_rates(VIGNETTES)
    assert result.missed == [] and result.sensitivity == 1.0
    assert result.see_clinician_sensitivity == 1.0
    assert result.false_alarm_rate <= 0.05, result.false_alarms


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


@pytest.mark.parametrize(
    "question, level, flag",
    [
        # what a reviewer found triaged self_care (issue #9)
        ("con tôi 2 tháng bị sốt", EMERGENCY, "infant_fever"),
        ("bé gái 2 tháng sốt 38 độ", EMERGENCY, "infant_fever"),
        ("bé trai nhà mình 20 ngày người nóng", EMERGENCY, "infant_fever"),
        ("chưa hết khó thở", EMERGENCY, "breathing"),
        ("vẫn chưa hết đau ngực", EMERGENCY, "chest_pain"),
        ("không khỏi đau ngực", EMERGENCY, "chest_pain"),
        ("uống thuốc mà không đỡ đau ngực", EMERGENCY, "chest_pain"),
        ("ko thở được", EMERGENCY, "breathing"),
        ("k thở được", EMERGENCY, "breathing"),
        ("mk ko thở dc", EMERGENCY, "breathing"),
        ("bố tôi ko nói được", EMERGENCY, "stroke"),
        ("huyết áp tâm thu 200", SEE_CLINICIAN, "very_high_blood_pressure"),
        # "no longer" stays a negation unless negated or just now
        ("đã hết khó thở", SELF_CARE, None),
        ("hết đau ngực rồi", SELF_CARE, None),
        ("Mẹ tôi đã khỏi đau ngực", SELF_CARE, None),
        ("Bé vừa hết co giật", EMERGENCY, "seizure"),
        ("hok bị khó thở", SELF_CARE, None),
        # words that are a negation only in some readings, where they are something else
        ("thieu vitamin k chay mau khong cam", EMERGENCY, "bleeding"),
        ("dau hong kho tho", EMERGENCY, "breathing"),  # họng (throat), not hông
        ("hit phai khoi bi kho tho", EMERGENCY, "breathing"),  # khói (smoke), not khỏi
        ("ông tôi nôn hết khó thở", EMERGENCY, "breathing"),
        ("Tôi bị đau hông, khó thở", EMERGENCY, "breathing"),
        ("bé có sao không khó thở quá", EMERGENCY, "breathing"),  # a question, then a sign
        # a negation carries over "hay"/"hoặc" after a negated sign, nowhere else
        ("Không có dấu hiệu khó thở hay tím tái", SELF_CARE, None),
        ("Không bị khó thở hoặc đau ngực", SELF_CARE, None),
        ("Bé không sốt, khó thở", EMERGENCY, "breathing"),
        ("Bé không sốt và co giật", EMERGENCY, "seizure"),
        ("Bà không ăn được hay khó thở về đêm", EMERGENCY, "breathing"),
        ("Không đau ngực hay bị khó thở", EMERGENCY, "breathing"),
        ("Cách phòng tai biến", SELF_CARE, None),
        ("Bà nằm trong phòng bất tỉnh", EMERGENCY, "unconscious"),
        # blood pressure: readings, cmHg, single numbers, organ damage (ISH 2020)
        ("Huyết áp 18/10", SEE_CLINICIAN, "very_high_blood_pressure"),
        ("tâm trương 115", SEE_CLINICIAN, "very_high_blood_pressure"),
        ("huyết áp 190/100, đau đầu", EMERGENCY, "hypertensive_emergency"),
        ("huyết áp 190/100, không đau đầu", SEE_CLINICIAN, "very_high_blood_pressure"),
        ("Bị huyết áp 20 năm nay", SELF_CARE, None),
        ("Thuốc hạ áp 200 mg", SELF_CARE, None),
        ("Tái khám ngày 18/10, huyết áp 130/80", SELF_CARE, None),
        # look-alikes of new patterns
        ("đợi xíu nha", SELF_CARE, None),
        ("Bà tôi xỉu", EMERGENCY, "unconscious"),
        ("Bé 4 kg bỏ bú", EMERGENCY, "child_danger"),
        ("Cho bé uống kẽm khi tiêu chảy", SELF_CARE, None),
    ],
)
def test_chat_spellings_double_negatives_ages_and_pressures(question, level, flag):
    result = triage(question)
    assert result.level == level, result
    assert flag is None or flag in {f.id for f in result.flags}, result
