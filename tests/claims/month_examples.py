"""A facility's month of claims in every state, for the accountant's page and the summary, built
from the hand-worked visits of `claim_examples` (their amounts are worked out there).

November 2026 at the station of the commune HOME (Organization tyt-HOME):

    MA_LK      visit                          state          why
    enc-acc-1  FOLLOW_UP (80 %)               accepted       the gateway answered 200
    enc-acc-2  REFERRED moved to November     accepted       the gateway answered 200
    enc-rej    FOLLOW_UP                      rejected       the gateway refused it (its message)
    enc-sent   FOLLOW_UP                      sent           sent, no readable answer
    enc-built  FOLLOW_UP                      built          never sent
    enc-fail   FOLLOW_UP                      failed_check   the checker's line

plus a claim of the same station in October and one of the NEIGHBOUR station in November (for
STRANGER, a person of that commune), neither of which belongs to the month.

XML1 totals (claim_examples' docstring): FOLLOW_UP T_TONGCHI_BV 468865.50 = 10515.00 + 396900.00
+ 38700.00 + 21500.00 + 1250.50, T_BNCCT 93648.05 = 2103.00 + 79380.00 + 7740.00 + 4300.00
+ 125.05, T_BNTT 625.25, T_BHTT 374592.20 = 468240.25 − 93648.05; REFERRED T_TONGCHI_BV =
T_BHTT = 38700.00 and nothing for the person (under 15 % of the base salary: 100 %).
"""

import dataclasses
from datetime import datetime

from songkhoe.claims.gateway import RECEIVED, Answer
from songkhoe.claims.submissions import claim_resource, response_resource
from songkhoe.claims.tables import claim_rows
from songkhoe.claims.visit import Visit
from songkhoe.fhir.store import ResourceStore
from songkhoe.places.facilities import commune_station_id

from ..web.conftest import HOME, NEIGHBOUR, patient
from .claim_examples import (
    FOLLOW_UP,
    FOLLOW_UP_AMOUNTS,
    HOSPITAL,
    PERSON,
    REFERRED,
    REFERRED_AMOUNTS,
)

MONTH = "2026-11"
STATION = commune_station_id(HOME)
OTHER_STATION = commune_station_id(NEIGHBOUR)
BUILT_AT = datetime(2026, 12, 1, 8, 0)
SENT_AT = datetime(2026, 12, 1, 9, 0)
REJECTION = "Mã thẻ BHYT DN4240123456789 không đúng với thông tin người bệnh"
CHECK_LINE = "enc-fail, XML1, CAN_NANG: cân nặng phải lớn hơn 0"
STRANGER = "p-stranger"  # a person of the NEIGHBOUR commune, seen at HOME's station


def _at(visit: Visit, key: str, station: str, *, month: int = 11, person: str = PERSON.id) -> Visit:
    """The visit as claim `key` of `station`, ending in `month` of 2026, for `person`."""
    nights = (visit.left.date() - visit.arrived.date()).days
    return dataclasses.replace(
        visit,
        encounter_id=key,
        facility=dataclasses.replace(HOSPITAL, organization=station),
        person=dataclasses.replace(PERSON, id=person),
        arrived=visit.arrived.replace(month=month, day=5 - nights),
        left=visit.left.replace(month=month, day=5),
    )


def _claim(visit: Visit, amounts, sha: str = "a" * 64, problems: tuple[str, ...] = ()) -> dict:
    rows = claim_rows(visit, amounts)
    return claim_resource(visit, rows, None if problems else sha, problems, BUILT_AT)


def _answer(code: str, message: str, transaction: str) -> Answer:
    return Answer(code=code, transaction=transaction, received_at=SENT_AT, message=message)


def write_month(store: ResourceStore) -> dict[str, dict]:
    """Store the people, claims and answers of the table above; the Claims by MA_LK."""
    store.create_many([
        patient(PERSON.id, HOME, "Nguyễn", "Văn An", "024061000123", "1961-03-12")
        | {"gender": "male"},
        patient(STRANGER, NEIGHBOUR, "Trần", "Thị Bình", "024170000456", "1970-01-02"),
    ])  # fmt: skip
    claims = {
        "enc-acc-1": _claim(_at(FOLLOW_UP, "enc-acc-1", STATION), FOLLOW_UP_AMOUNTS),
        "enc-acc-2": _claim(_at(REFERRED, "enc-acc-2", STATION), REFERRED_AMOUNTS),
        "enc-rej": _claim(_at(FOLLOW_UP, "enc-rej", STATION), FOLLOW_UP_AMOUNTS),
        "enc-sent": _claim(_at(FOLLOW_UP, "enc-sent", STATION), FOLLOW_UP_AMOUNTS),
        "enc-built": _claim(_at(FOLLOW_UP, "enc-built", STATION), FOLLOW_UP_AMOUNTS),
        "enc-fail": _claim(
            _at(FOLLOW_UP, "enc-fail", STATION), FOLLOW_UP_AMOUNTS, problems=(CHECK_LINE,)
        ),
        "enc-october": _claim(_at(FOLLOW_UP, "enc-october", STATION, month=10), FOLLOW_UP_AMOUNTS),
        "enc-next-door": _claim(
            _at(FOLLOW_UP, "enc-next-door", OTHER_STATION, person=STRANGER), FOLLOW_UP_AMOUNTS
        ),
    }
    store.create_many(claims.values())
    answers = {
        "enc-acc-1": _answer(RECEIVED, "", "GD-0001"),
        "enc-acc-2": _answer(RECEIVED, "", "GD-0002"),
        "enc-rej": _answer("500", REJECTION, "GD-0003"),
        "enc-sent": None,
        "enc-october": _answer(RECEIVED, "", "GD-0004"),
        "enc-next-door": _answer(RECEIVED, "", "GD-0005"),
    }
    store.create_many(
        response_resource(claims[key], answer, "a" * 64, SENT_AT) for key, answer in answers.items()
    )
    return claims


def write_stranger_claim(store: ResourceStore) -> dict:
    """An accepted claim of HOME's station for a person of the NEIGHBOUR commune."""
    claim = _claim(_at(FOLLOW_UP, "enc-stranger", STATION, person=STRANGER), FOLLOW_UP_AMOUNTS)
    store.create(claim)
    store.create(response_resource(claim, _answer(RECEIVED, "", "GD-0006"), "a" * 64, SENT_AT))
    return claim
