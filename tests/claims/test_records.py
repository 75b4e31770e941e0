"""A claimable visit as FHIR: built from the price list, written to a real store, read back as
the Visit the XML is made from, field by field; the month's visits by facility and province."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from songkhoe.claims import codes
from songkhoe.claims.catalogue import COMMUNE_STATION, ItemKind, ensure_shipped, shipped
from songkhoe.claims.coverage import coverage_resource
from songkhoe.claims.providers import (
    EXT_SYNTHETIC,
    care_level,
    facility_code,
    register_synthetic,
    synthetic_code,
)
from songkhoe.claims.records import (
    Clinician,
    VisitError,
    charge_item,
    course_entry,
    encounter_resource,
    iter_visits,
    medication_dispense,
    read_visit,
    referral_request,
    result_observation,
    revisit_appointment,
)
from songkhoe.claims.visit import (
    CardInForce,
    CareLevel,
    CourseEntry,
    Diagnosis,
    DrugLine,
    Facility,
    Person,
    Purpose,
    Referral,
    Revisit,
    ServiceLine,
    Visit,
)
from songkhoe.claims.visit import (
    TestResult as ResultRow,
)
from songkhoe.fhir.store import ResourceNotFound
from songkhoe.fhir.systems import CCCD, EXT_COMMUNE, PHONE
from songkhoe.fhir.validation import validate
from songkhoe.ncd.checkup_codes import CHECKUP_TYPE, FOLLOW_UP_TYPE, quantity
from songkhoe.places.catalog import UnknownPlace
from songkhoe.places.facilities import facility
from songkhoe.terminology import loinc
from songkhoe.timezones import VIETNAM

STATION, OTHER_STATION, CENTRE = "tyt-07210", "tyt-07228", "bv-ttyt-07288"  # Bắc Ninh (24)
HANOI_STATION = "tyt-00004"
DOCTOR = Clinician("000123/BN-CCHN", "Bác sĩ Lê Văn An")
NURSE = Clinician("000456/BN-CCHN")
PATIENT = "p-1"
CARD = "HT3240123456789"


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=VIETNAM)


def patient(patient_id: str = PATIENT) -> dict:
    return {
        "resourceType": "Patient",
        "id": patient_id,
        "identifier": [{"system": CCCD, "value": "027056001234"}],
        "name": [{"text": "Nguyễn Văn Bình", "family": "Nguyễn", "given": ["Văn", "Bình"]}],
        "gender": "male",
        "birthDate": "1956-03-04",
        "address": [{"line": ["Số 5, Thôn 2"], "city": "Xã Đại Sơn", "state": "Tỉnh Bắc Ninh",
                     "extension": [{"url": EXT_COMMUNE, "valueCode": "07210"}]}],
        "telecom": [{"system": PHONE, "value": "0912345678"}],
    }  # fmt: skip


@pytest.fixture
def world(store):
    """Facilities with their synthetic codes, the commune station's price list, a patient with
    last year's card and this year's."""
    register_synthetic(store, [facility(f) for f in (STATION, OTHER_STATION, CENTRE)])
    ensure_shipped(store, COMMUNE_STATION)
    station_code = synthetic_code(STATION)
    store.create_many([
        patient(),
        coverage_resource(PATIENT, CARD, date(2025, 1, 1), date(2025, 12, 31), station_code),
        coverage_resource(PATIENT, CARD, date(2026, 1, 1), date(2026, 12, 31), station_code,
                          five_years_from=date(2024, 5, 1),
                          copay_exempt_from=date(2026, 2, 1)) | {"id": "cov-2026"},
    ])  # fmt: skip
    return store


ARRIVED, LEFT = at(10, 8), at(10, 8, 20)


def follow_up(
    encounter_id: str = "e-1",
    *,
    facility_id: str = STATION,
    arrived: datetime = ARRIVED,
    left: datetime = LEFT,
) -> list[dict]:
    """A follow-up for hypertension and diabetes (by default on 10/11/2026, 08:00-08:20): the
    consultation, a glucose test with its result, amlodipine and metformin for 30 days, the
    course, a referral to the regional centre and a re-visit a month later."""
    station = shipped(COMMUNE_STATION)
    day = date(2026, 11, 10)
    fee = station.price(ItemKind.SERVICE, "02.03", day)
    glucose = station.price(ItemKind.SERVICE, "23.0075.1494", day)
    common: dict[str, Any] = {"patient_id": PATIENT, "encounter_id": encounter_id}
    charge = {**common, "facility_id": facility_id, "doctor": DOCTOR, "quantity": Decimal(1)}
    drugs = {**common, "ordered": at(10, 8, 15), "dispensed": at(10, 8, 25),
             "prescriber": DOCTOR}  # fmt: skip
    weight = {
        "resourceType": "Observation", "id": f"{encounter_id}-kg", "status": "final",
        "code": loinc.concept(loinc.BODY_WEIGHT.code), "subject": {"reference": "Patient/p-1"},
        "encounter": {"reference": f"Encounter/{encounter_id}"},
        "valueQuantity": quantity(61.5, "kg"),
    }  # fmt: skip
    return [
        encounter_resource(
            encounter_id, PATIENT, facility_id, arrived=arrived, left=left,
            types=FOLLOW_UP_TYPE, care_kind=codes.OUTPATIENT_VISIT,
            arrival_kind=codes.PRIMARY_CARE_FACILITY, doctor=DOCTOR, diagnoses=["I10", "E11"],
            outcome=codes.IMPROVED, department="K01", location_id=f"loc-{STATION}",
        ),
        weight,
        result_observation(
            f"{encounter_id}-glu", **common, code=loinc.concept(loinc.FASTING_GLUCOSE.code),
            value=Decimal("7.4"), unit="mmol/L", reported=at(10, 8, 40), reader=NURSE,
        ),
        charge_item(f"{encounter_id}-c1", fee, **charge, ordered=at(10, 8, 1),
                    performed=at(10, 8, 2)),
        charge_item(f"{encounter_id}-c2", glucose, **charge, ordered=at(10, 8, 5),
                    performer=NURSE, performed=at(10, 8, 10), result=at(10, 8, 40),
                    service=f"Observation/{encounter_id}-glu"),
        medication_dispense(f"{encounter_id}-d1", station.price(ItemKind.DRUG, "AML5", day),
                            **drugs, quantity=Decimal(30), dose="1 viên/lần * 1 lần/ngày * 30 "
                            "ngày [1 viên/ngày]", directions="Uống buổi sáng"),
        medication_dispense(f"{encounter_id}-d2", station.price(ItemKind.DRUG, "MTF500", day),
                            **drugs, quantity=Decimal(60), dose="1 viên/lần * 2 lần/ngày * 30 "
                            "ngày [2 viên/ngày]", directions="Uống sau ăn"),
        course_entry(f"{encounter_id}-ci", CourseEntry("HA 150/95, tái khám", at(10, 8, 12),
                                                       DOCTOR.certificate), **common),
        referral_request(f"{encounter_id}-sr", REFERRAL, **common, diagnoses=["I10"],
                         issued=at(10, 8, 18), destination_id=CENTRE),
        revisit_appointment(f"{encounter_id}-ap", REVISIT, patient_id=PATIENT,
                            location_id=f"loc-{STATION}", encounter_id=encounter_id),
    ]  # fmt: skip


REFERRAL = Referral(
    number="2026/07210/15", to_facility=synthetic_code(CENTRE),
    reason=codes.REFERRAL_BEYOND_CAPACITY,
    signs="Đau ngực khi gắng sức", course="Tăng huyết áp 6 năm", results="ĐTĐ bình thường",
    treatment="Amlodipin 5 mg", direction="Khám tim mạch", transport="Tự túc",
    signed_by=DOCTOR.certificate, on_patient_request=False,
)  # fmt: skip
REVISIT = Revisit(number="GH-0042", on=date(2026, 12, 10), by=DOCTOR.certificate)


def expected_visit() -> Visit:
    """The visit of `follow_up`, written out: prices of the commune station's list on
    10/11/2026 (consultation 30 100 đ, the 2025 placeholder; glucose 21 500 đ; amlodipine
    230 đ and metformin 290 đ, the 2026 tender)."""
    code = synthetic_code(STATION)
    return Visit(
        encounter_id="e-1",
        facility=Facility(code=code, name=facility(STATION).name, level=CareLevel.COMMUNE,
                          province_code="24", organization=STATION),
        department="K01",
        person=Person(id=PATIENT, name="Nguyễn Văn Bình", birth_date=date(1956, 3, 4),
                      gender="male", citizen_id="027056001234",
                      address="Số 5, Thôn 2, Xã Đại Sơn, Tỉnh Bắc Ninh", province_code="24",
                      commune_code="07210", phone="0912345678"),
        card=CardInForce(number=CARD, initial_facility=code, valid_from=date(2026, 1, 1),
                         valid_to=date(2026, 12, 31), five_years_from=date(2024, 5, 1),
                         copay_exempt_from=date(2026, 2, 1)),
        purpose=Purpose.TREATMENT,
        kind="01",
        arrival_kind="1.2",
        emergency=False,
        referred_from="",
        arrived=at(10, 8),
        left=at(10, 8, 20),
        main_diagnosis=Diagnosis("I10", "Tăng huyết áp vô căn (nguyên phát)"),
        other_diagnoses=(Diagnosis("E11", "Đái tháo đường típ 2"),),
        outcome="2",
        doctor=DOCTOR.certificate,
        weight_kg=Decimal("61.5"),
        drugs=(
            DrugLine(code="SK.AML5", name="Amlodipin", unit="viên", strength="5 mg", route="1.01",
                     form="viên nén", dose="1 viên/lần * 1 lần/ngày * 30 ngày [1 viên/ngày]",
                     directions="Uống buổi sáng", registration="SYNTH-AML5",
                     tender="SYNTH-02/QĐ-SYT;G1;N4;2026", cost_group="4", scope="1",
                     quantity=Decimal(30), unit_price=Decimal(230), payment_rate=Decimal(100),
                     ordered=at(10, 8, 15), dispensed=at(10, 8, 25), prescriber=DOCTOR.certificate),
            DrugLine(code="SK.MTF500", name="Metformin", unit="viên", strength="500 mg",
                     route="1.01", form="viên nén bao phim",
                     dose="1 viên/lần * 2 lần/ngày * 30 ngày [2 viên/ngày]",
                     directions="Uống sau ăn", registration="SYNTH-MTF500",
                     tender="SYNTH-02/QĐ-SYT;G1;N4;2026", cost_group="4", scope="1",
                     quantity=Decimal(60), unit_price=Decimal(290), payment_rate=Decimal(100),
                     ordered=at(10, 8, 15), dispensed=at(10, 8, 25), prescriber=DOCTOR.certificate),
        ),
        services=(
            ServiceLine(code="02.03", supply_code="", cost_group="13", name="Khám bệnh", unit="lần",
                        quantity=Decimal(1), hospital_price=Decimal(30100),
                        insurance_price=Decimal(30100), service_rate=Decimal(100),
                        payment_rate=Decimal(100), tender="", ordered=at(10, 8, 1),
                        performed=at(10, 8, 2), result=None, doctor=DOCTOR.certificate,
                        performer=""),
            ServiceLine(code="23.0075.1494", supply_code="", cost_group="1",
                        name="Định lượng Glucose [Máu]", unit="lần", quantity=Decimal(1),
                        hospital_price=Decimal(21500), insurance_price=Decimal(21500),
                        service_rate=Decimal(100), payment_rate=Decimal(100), tender="",
                        ordered=at(10, 8, 5), performed=at(10, 8, 10), result=at(10, 8, 40),
                        doctor=DOCTOR.certificate, performer=NURSE.certificate),
        ),
        tests=(ResultRow(service_code="23.0075.1494", indicator_code=loinc.FASTING_GLUCOSE.code,
                          name=loinc.FASTING_GLUCOSE.vi, value="7.4", unit="mmol/L",
                          reported=at(10, 8, 40), reader=NURSE.certificate),),
        course=(CourseEntry("HA 150/95, tái khám", at(10, 8, 12), DOCTOR.certificate),),
        referral=REFERRAL,
        revisit=REVISIT,
    )  # fmt: skip


def test_every_resource_of_a_visit_is_valid_r4():
    for resource in follow_up():
        validate(resource)


def test_a_visit_comes_back_field_by_field(world):
    world.create_many(follow_up())
    visit = read_visit(world, "e-1")
    expected = expected_visit()
    for name in Visit.__dataclass_fields__:
        assert getattr(visit, name) == getattr(expected, name), name
    assert visit.claim_key == "e-1"
    assert (
        visit.arrived.tzinfo is not None and visit.arrived.utcoffset().total_seconds() == 7 * 3600
    )


def test_the_card_is_the_one_in_force_on_arrival(world):
    december_2025 = at(20, 9, month=12).replace(year=2025)
    world.create_many(follow_up("e-2025", arrived=december_2025, left=december_2025))
    card = read_visit(world, "e-2025").card
    assert card is not None and (card.valid_from, card.five_years_from) == (date(2025, 1, 1), None)
    january_2027 = at(5, 9, month=1).replace(year=2027)
    world.create_many(follow_up("e-2027", arrived=january_2027, left=january_2027))
    assert read_visit(world, "e-2027").card is None  # no card for 2027: not claimable


def test_organization_holds_a_marked_synthetic_code_and_its_level(world):
    organization = world.read("Organization", STATION)
    assert facility_code(organization) == synthetic_code(STATION)
    assert synthetic_code(STATION)[:2] == "24" and len(synthetic_code(STATION)) == 5
    assert care_level(organization) is CareLevel.COMMUNE
    (identifier,) = [i for i in organization["identifier"] if "extension" in i]
    assert identifier["extension"] == [{"url": EXT_SYNTHETIC, "valueBoolean": True}]
    assert care_level(world.read("Organization", CENTRE)) is CareLevel.DISTRICT
    assert register_synthetic(world, [facility(STATION)]) == 0  # already coded: left as is


def month_of_visits(store) -> None:
    """Around the November 2026 boundary, in Vietnam time."""
    store.create_many([patient("p-2"), patient("p-3")])
    store.create_many(follow_up())  # 10/11 at STATION
    checkup = encounter_resource(
        "e-checkup", PATIENT, STATION, arrived=at(30, 23, 30), left=at(30, 23, 50),
        types=CHECKUP_TYPE, care_kind=codes.PERIODIC_CHECKUP,
        arrival_kind=codes.PRIMARY_CARE_FACILITY, doctor=DOCTOR, diagnoses=["Z00.0"],
        outcome=codes.CURED,
    )  # fmt: skip
    december = encounter_resource(
        "e-december", PATIENT, STATION, arrived=at(1, 0, 10, month=12),
        left=at(1, 0, 30, month=12), types=FOLLOW_UP_TYPE, care_kind=codes.OUTPATIENT_VISIT,
        arrival_kind=codes.PRIMARY_CARE_FACILITY, doctor=DOCTOR, diagnoses=["I10"],
        outcome=codes.IMPROVED,
    )  # fmt: skip
    open_visit = december | {"id": "e-open", "status": "in-progress"}
    elsewhere = december | {
        "id": "e-other",
        "subject": {"reference": "Patient/p-2"},
        "period": {"start": "2026-11-20T09:00:00+07:00", "end": "2026-11-20T09:10:00+07:00"},
        "serviceProvider": {"reference": f"Organization/{OTHER_STATION}"},
    }
    hanoi = elsewhere | {
        "id": "e-hanoi",
        "subject": {"reference": "Patient/p-3"},
        "serviceProvider": {"reference": f"Organization/{HANOI_STATION}"},
    }
    store.create_many([checkup, december, open_visit, elsewhere, hanoi])  # fmt: skip


def ids(visits) -> list[str]:
    return [v.encounter_id for v in visits]


def test_month_by_facility_id_code_and_province(world):
    register_synthetic(world, [facility(HANOI_STATION)])
    month_of_visits(world)
    november = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}
    by_id = list(iter_visits(world, facility=STATION, **november))
    assert ids(by_id) == ["e-1", "e-checkup"]  # 23:50 on the 30th is November in Hà Nội time
    assert by_id[1].purpose is Purpose.CHECKUP and by_id[0].purpose is Purpose.TREATMENT
    assert ids(iter_visits(world, facility=synthetic_code(STATION), **november)) == ids(by_id)
    assert ids(iter_visits(world, province="24", **november)) == ["e-1", "e-checkup", "e-other"]
    assert ids(iter_visits(world, province="01", **november)) == ["e-hanoi"]
    assert ids(iter_visits(world, facility=STATION, province="01", **november)) == []
    december = {"start": date(2026, 12, 1), "end": date(2026, 12, 31)}
    assert ids(iter_visits(world, facility=STATION, **december)) == ["e-december"]  # not e-open
    assert ids(iter_visits(world, facility=STATION, start=date(2026, 11, 11),
                           end=date(2026, 11, 29))) == []  # fmt: skip


def test_reading_refuses_what_it_cannot_answer(world):
    with pytest.raises(ValueError, match="facility or a province"):
        list(iter_visits(world, start=date(2026, 11, 1), end=date(2026, 11, 30)))
    with pytest.raises(ValueError, match="ends"):
        list(iter_visits(world, facility=STATION, start=date(2026, 11, 2), end=date(2026, 11, 1)))
    with pytest.raises(LookupError, match="no facility 'tyt-99999'"):
        list(
            iter_visits(world, facility="tyt-99999", start=date(2026, 11, 1), end=date(2026, 12, 1))
        )
    with pytest.raises(UnknownPlace):
        list(iter_visits(world, province="99", start=date(2026, 11, 1), end=date(2026, 11, 30)))
    with pytest.raises(ResourceNotFound):
        read_visit(world, "nope")
    # a facility without its BHYT code cannot claim: the reader says which
    world.create_many(follow_up("e-x", facility_id=HANOI_STATION))
    world.create({"resourceType": "Organization", "id": HANOI_STATION, "name": "Trạm y tế"})
    with pytest.raises(VisitError, match=f"Organization/{HANOI_STATION} has no BHYT facility code"):
        read_visit(world, "e-x")


def test_builders_refuse_a_price_that_does_not_cover_the_day_or_the_wrong_kind():
    station = shipped(COMMUNE_STATION)
    old_fee = station.price(ItemKind.SERVICE, "02.03", date(2023, 1, 1))
    common = {"patient_id": PATIENT, "encounter_id": "e", "facility_id": STATION,
              "quantity": Decimal(1), "doctor": DOCTOR}  # fmt: skip
    with pytest.raises(ValueError, match="from 2019-08-20 does not cover 2026-11-10"):
        charge_item("c", old_fee, **common, ordered=at(10, 8))
    drug = station.price(ItemKind.DRUG, "AML5", date(2026, 11, 10))
    with pytest.raises(ValueError, match="'AML5' is a drug"):
        charge_item("c", drug, **common, ordered=at(10, 8))
    with pytest.raises(ValueError, match="without a time zone"):
        charge_item("c", station.price(ItemKind.SERVICE, "02.03", date(2026, 11, 10)), **common,
                    ordered=datetime(2026, 11, 10, 8))  # fmt: skip
    with pytest.raises(ValueError, match="ends"):
        encounter_resource("e", PATIENT, STATION, arrived=at(10, 9), left=at(10, 8), types=[],
                           care_kind="01", arrival_kind="1.2", doctor=DOCTOR, diagnoses=[],
                           outcome="2")  # fmt: skip
