"""The BHYT card as a FHIR R4 Coverage: valid R4, back to the card, validity by day."""

from datetime import date

import pytest

from songkhoe.claims.card import Card
from songkhoe.claims.coverage import (
    BHYT_FACILITY,
    EXT_FIVE_YEARS,
    EXT_INITIAL_FACILITY,
    card_in_force,
    coverage_card,
    coverage_copay_exempt_from,
    coverage_five_years_from,
    coverage_initial_facility,
    coverage_problem,
    coverage_resource,
)
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.systems import BHYT
from songkhoe.fhir.validation import validate

NUMBER = "HT3010123456789"


def _coverage(**changes: object) -> dict:
    arguments: dict = {
        "patient_id": "p1",
        "card_number": NUMBER,
        "valid_from": date(2025, 1, 1),
        "valid_to": date(2025, 12, 31),
        "initial_facility": "01009",
        "five_years_from": date(2021, 6, 1),
    } | changes
    return coverage_resource(**arguments)


def test_the_coverage_is_valid_r4() -> None:
    coverage = _coverage()
    validate(coverage)
    assert coverage["status"] == "active"
    assert coverage["beneficiary"] == {"reference": "Patient/p1"}
    assert coverage["identifier"] == [{"system": BHYT, "value": NUMBER}]
    assert coverage["period"] == {"start": "2025-01-01", "end": "2025-12-31"}
    assert coverage["payor"] == [{"display": "Bảo hiểm xã hội Việt Nam"}]
    assert [(c["type"]["coding"][0]["code"], c["value"]) for c in coverage["class"]] == [
        ("group", "HT"),
        ("class", "3"),
    ]
    assert coverage["extension"] == [
        {
            "url": EXT_INITIAL_FACILITY,
            "valueIdentifier": {"system": BHYT_FACILITY, "value": "01009"},
        },
        {"url": EXT_FIVE_YEARS, "valueDate": "2021-06-01"},
    ]
    validate(_coverage(five_years_from=None))


def test_the_validator_would_refuse_a_broken_coverage() -> None:
    coverage = _coverage()
    del coverage["payor"]
    with pytest.raises(FhirError):
        validate(coverage)


def test_round_trip_coverage_to_card() -> None:
    coverage = _coverage()
    assert coverage_card(coverage) == Card("HT", 3, "01", "0123456789")
    assert coverage_initial_facility(coverage) == "01009"
    assert coverage_five_years_from(coverage) == date(2021, 6, 1)
    assert coverage_five_years_from(_coverage(five_years_from=None)) is None
    assert coverage_copay_exempt_from(coverage) is None
    exempt = _coverage(copay_exempt_from=date(2025, 9, 1))
    validate(exempt)
    assert coverage_copay_exempt_from(exempt) == date(2025, 9, 1)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"card_number": "ZZ3010123456789"}, "unknown benefit group 'ZZ'"),
        (
            {"initial_facility": "0100"},
            "initial registration facility must be 5 characters: '0100'",
        ),
        (
            {"valid_from": date(2025, 2, 1), "valid_to": date(2025, 1, 31)},
            "card validity ends before it starts: 01/02/2025–31/01/2025",
        ),
    ],
)
def test_a_bad_card_makes_no_coverage(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        _coverage(**changes)


@pytest.mark.parametrize(
    ("day", "in_force"),
    [
        (date(2024, 12, 31), False),
        (date(2025, 1, 1), True),
        (date(2025, 6, 15), True),
        (date(2025, 12, 31), True),
        (date(2026, 1, 1), False),
    ],
)
def test_validity_holds_on_both_boundary_days(day: date, in_force: bool) -> None:
    coverage = _coverage()
    assert card_in_force(coverage, day) is in_force
    assert (coverage_problem(coverage, day) is None) is in_force


def test_the_problem_names_the_validity_and_the_visit() -> None:
    assert coverage_problem(_coverage(), date(2026, 1, 5)) == (
        "card out of validity: valid 01/01/2025–31/12/2025, visit 05/01/2026"
    )


def test_an_open_ended_coverage_and_other_problems() -> None:
    coverage = _coverage()
    del coverage["period"]["end"]
    assert card_in_force(coverage, date(2040, 1, 1))
    assert coverage_problem(coverage, date(2024, 12, 31)) == (
        "card out of validity: valid 01/01/2025–…, visit 31/12/2024"
    )
    assert coverage_problem(_coverage() | {"status": "cancelled"}, date(2025, 3, 1)) == (
        "coverage is cancelled, not active"
    )
    assert coverage_problem(_coverage() | {"subscriberId": "HT301"}, date(2025, 3, 1)) == (
        "BHYT card: 15 characters expected, got 5"
    )
