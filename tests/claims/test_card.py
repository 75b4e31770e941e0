"""The BHYT card number: its four parts and what is wrong with a malformed one."""

import pytest

from songkhoe.claims.card import BENEFIT_GROUPS, Card, card_problem, parse_card
from songkhoe.places.former_provinces import FORMER_PROVINCE_CODES


def test_a_well_formed_card_is_cut_into_its_parts() -> None:
    card = parse_card("DN4790123456789")
    assert card == Card("DN", 4, "79", "0123456789")
    assert card.number == "DN4790123456789"
    assert card_problem("DN4790123456789") is None


@pytest.mark.parametrize("group", ["TE", "CC", "HT", "GD", "HS", "QN", "CN"])
def test_groups_of_every_level_are_known(group: str) -> None:
    assert card_problem(f"{group}1010123456789") is None


def test_every_group_is_two_capital_letters_and_every_province_two_digits() -> None:
    assert all(len(code) == 2 and code.isalpha() and code.isupper() for code in BENEFIT_GROUPS)
    assert len(FORMER_PROVINCE_CODES) == 63


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("DN47901234567", "BHYT card: 15 characters expected, got 13"),
        ("DN479012345678901", "BHYT card: 15 characters expected, got 17"),
        ("ZZ4790123456789", "unknown benefit group 'ZZ'"),
        ("dn4790123456789", "unknown benefit group 'dn'"),
        ("DN0790123456789", "benefit level must be 1 to 5"),
        ("DN6790123456789", "benefit level must be 1 to 5"),
        ("DNX790123456789", "benefit level must be 1 to 5"),
        ("DN4990123456789", "province code '99' is not one of the 63 pre-2025 provinces"),
        ("DN4030123456789", "province code '03' is not one of the 63 pre-2025 provinces"),
        ("DN479012345678A", "social-insurance number must be 10 digits, got '012345678A'"),
        ("DN47901234５6789", "social-insurance number must be 10 digits, got '01234５6789'"),
    ],
)
def test_each_fault_has_its_message(number: str, message: str) -> None:
    assert card_problem(number) == message
    with pytest.raises(ValueError, match=f"^{message}$"):
        parse_card(number)
