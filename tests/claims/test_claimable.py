"""Whether a visit is a claim: each reason of claims.claimable on its own, and bad input."""

from dataclasses import replace
from datetime import date, datetime

import pytest

from songkhoe.claims.claimable import not_claimable
from songkhoe.claims.visit import Purpose

from .test_benefit import CENTRAL, PROVINCIAL, card, visit

DAY = date(2024, 3, 5)


def test_a_treatment_visit_in_network_is_a_claim() -> None:
    assert not_claimable(visit(DAY)) is None


def test_no_card_in_force() -> None:
    reason = not_claimable(visit(DAY, card=None))
    assert reason is not None and "no BHYT card in force" in reason and "Điều 16" in reason


def test_a_card_not_valid_on_the_visit_date() -> None:
    # valid 01/01/2019–31/12/2023, visit 05/03/2024; and a card valid only from 01/04/2024
    expired = replace(card(), valid_to=date(2023, 12, 31))
    reason = not_claimable(visit(DAY, card=expired))
    assert reason is not None and "the card is not valid on the visit's date" in reason
    not_yet = replace(card(), valid_from=date(2024, 4, 1))
    assert not_claimable(visit(DAY, card=not_yet)) is not None
    # both ends are valid days
    last_day = replace(card(), valid_to=DAY)
    assert not_claimable(visit(DAY, card=last_day)) is None


def test_check_up_not_treatment_luat_bhyt_art_23() -> None:
    by_purpose = not_claimable(visit(DAY, purpose=Purpose.CHECKUP))
    assert by_purpose is not None and "check-up, not treatment" in by_purpose
    assert "Điều 23 khoản 3" in by_purpose
    assert not_claimable(visit(DAY, kind="15")) == by_purpose  # Khám sức khoẻ định kỳ


def test_no_main_diagnosis() -> None:
    reason = not_claimable(visit(DAY, main_diagnosis=None))
    assert reason is not None and "MA_BENH_CHINH" in reason and "no main diagnosis" in reason


def test_outpatient_out_of_network_at_provincial_or_central_level_pays_0_percent() -> None:
    for facility in (PROVINCIAL, CENTRAL):
        reason = not_claimable(visit(DAY, facility))
        assert reason is not None and "the fund pays 0 %" in reason and "Điều 22" in reason
    # the same facility is a claim for an inpatient stay, and (provincial) from 01/07/2026
    assert not_claimable(visit(DAY, PROVINCIAL, kind="03")) is None
    assert not_claimable(visit(date(2026, 7, 1), PROVINCIAL)) is None


def test_the_first_reason_is_named() -> None:
    # no card and a check-up: the card is named first
    reason = not_claimable(visit(DAY, card=None, purpose=Purpose.CHECKUP))
    assert reason is not None and "no BHYT card" in reason


def test_bad_input_is_a_value_error_not_a_reason() -> None:
    with pytest.raises(ValueError, match="benefit level must be 1 to 5"):
        not_claimable(visit(DAY, card=card("DN6010123456789")))
    with pytest.raises(ValueError, match="MA_LOAI_KCB '99' is unknown"):
        not_claimable(visit(DAY, kind="99", arrived=datetime(2024, 3, 5, 8)))
