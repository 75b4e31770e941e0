"""What a case's status allows, lost updates, and dates in Vietnam time."""

from datetime import UTC, datetime

import pytest

from songkhoe.fhir.outcomes import FhirError
from songkhoe.telehealth import referrals, service
from songkhoe.timezones import local_date, local_time

from .conftest import T0
from .test_access import open_xray_case


def answer(world, case):
    specialist = world.caller("bs.xquang")
    return service.recommend(specialist, case=service.load_case(specialist, case.id),
                             action="follow-up", advice="Theo dõi", diagnosis="", refer_to="",
                             now=T0)  # fmt: skip


def test_a_stale_page_cannot_undo_a_newer_change(world):
    case = open_xray_case(world)
    specialist = world.caller("bs.xquang")
    first_tab = service.load_case(specialist, case.id)
    second_tab = service.load_case(specialist, case.id)
    service.post_message(specialist, case=second_tab, text="Chào chị", now=T0)  # in-progress
    with pytest.raises(FhirError) as conflict:
        service.accept(specialist, case=first_tab, now=T0)
    assert conflict.value.status == 409
    assert world.store.read("Task", case.id)["status"] == "in-progress"


def test_an_answered_case_takes_no_second_answer_and_no_message(world):
    case = open_xray_case(world)
    first = answer(world, case)
    specialist = world.caller("bs.xquang")
    done = service.load_case(specialist, case.id)
    with pytest.raises(service.CaseClosed, match="status"):
        service.recommend(specialist, case=done, action="refer", advice="Khác", diagnosis="",
                          refer_to="bv-dk-24", now=T0)  # fmt: skip
    with pytest.raises(service.CaseClosed, match="status"):
        service.post_message(world.caller("yta.xa"), case=done, text="Cảm ơn", now=T0)
    output = world.store.read("Task", case.id)["output"][0]["valueReference"]["reference"]
    assert output == f"Communication/{first['id']}"
    with pytest.raises(FhirError) as stale:  # an answer from a page opened before the first
        service.recommend(specialist, case=case, action="refer", advice="Khác", diagnosis="",
                          refer_to="bv-dk-24", now=T0)  # fmt: skip
    assert stale.value.status == 409


def test_an_outcome_is_recorded_once(world):
    referral = referrals.create_referral(
        world.caller("yta.xa"), patient_id="lan", to_facility="bv-dk-24", diagnosis="I10",
        summary="THA", reason="Điều chỉnh thuốc", urgent=False, case_id=None, now=T0,
    )  # fmt: skip
    hospital = world.caller("bs.tinh")
    case = service.load_case(hospital, referral.id, code="referral")
    referrals.record_outcome(hospital, case=case, outcome="admitted", advice="Nhập viện", now=T0)
    done = service.load_case(hospital, referral.id, code="referral")
    with pytest.raises(service.CaseClosed):
        referrals.record_outcome(hospital, case=done, outcome="treated-returned", advice="Về",
                                 now=T0)  # fmt: skip
    assert referrals.output(service.load_case(hospital, referral.id, code="referral"),
                            "advice") == "Nhập viện"  # fmt: skip


def test_a_referral_opens_to_its_sender_and_the_two_facilities_only(world):
    referral = referrals.create_referral(
        world.caller("yta.xa"), patient_id="lan", to_facility="bv-bach-mai", diagnosis="I10",
        summary="THA", reason="Điều chỉnh thuốc", urgent=False, case_id=None, now=T0,
    )  # fmt: skip
    for user in ("yta.xa", "bs.xquang", "quantri"):
        assert service.load_case(world.caller(user), referral.id, code="referral").id
    with pytest.raises(FhirError):  # sees Lan (her province), but is at neither facility
        service.load_case(world.caller("bs.tinh"), referral.id, code="referral")


def test_dates_are_vietnam_dates():
    evening = "2025-03-01T17:30:00.000Z"  # 00:30 on the 2nd in Hà Nội
    assert local_date(evening) == "2025-03-02" and local_time(evening) == "2025-03-02 00:30"
    assert local_date("2025-03-02T06:00:00+07:00") == "2025-03-02"
    assert local_date("1960-05-01") == "1960-05-01" and local_date(None) == ""
    assert local_time(datetime(2025, 3, 1, 23, 59, tzinfo=UTC)) == "2025-03-02 06:59"


def test_the_referral_number_and_letter_carry_the_vietnam_date(world):
    evening = datetime(2025, 3, 1, 18, 0, tzinfo=UTC)
    referral = referrals.create_referral(
        world.caller("yta.xa"), patient_id="lan", to_facility="bv-dk-24", diagnosis="I10",
        summary="THA", reason="Điều chỉnh thuốc", urgent=False, case_id=None, now=evening,
    )  # fmt: skip
    assert referral.request["identifier"][0]["value"].startswith("CT-20250302-")
