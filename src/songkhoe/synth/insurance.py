"""BHYT cards and claimable visits of the synthetic province (`songkhoe.claims`).

Cards: each insured person (the groups of `demography.bhyt_groups`, ~92 % of people) holds a
Coverage per calendar year (cards are issued for a year, GT_THE_TU 1 January to GT_THE_DEN
31 December, a simplification: children's cards run to their sixth birthday in life) for the
year before `as_of` and the year of `as_of`, registered (MA_DKBD) at their commune's station
under its synthetic code (`claims.providers`). `EXPIRED_SHARE` of them have not renewed: no card
for the year of `as_of`, so that this year's visits are not claimable; the uninsured have none.

Visits: every monthly follow-up of people treated for hypertension or diabetes
(`clinical.schedule`) is a claimable visit at the commune station, as `claims.records` writes
one: the station's doctor (one synthetic practising-certificate number per station), MA_LOAI_KCB
01 (khám bệnh), MA_DOITUONG_KCB 1.2 (a primary-care facility), outcome 2 (đỡ), the consultation
fee and, when glucose was measured (treated diabetics), the glucose test linked to its result
(a point-of-care result: reported when measured), at the commune-station price list's version
of the day (`claims.catalogue`); each of the
person's medicines prescribed by then dispensed for `DAYS_SUPPLY` days; `REFERRAL_SHARE` of
visits refer the person to a regional medical centre of the province and `REVISIT_SHARE` book a
re-visit a month later. A visit on a day the price list does not cover gets no charge. MA_KHOA
"K01" (khám bệnh) is as read in public HIS code, not in QĐ 2010/QĐ-BYT Phụ lục 6: UNVERIFIED.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from songkhoe.claims import codes
from songkhoe.claims.catalogue import COMMUNE_STATION, Catalogue, Entry, ItemKind, shipped
from songkhoe.claims.coverage import coverage_resource
from songkhoe.claims.providers import synthetic_code
from songkhoe.claims.records import (
    Clinician,
    charge_item,
    encounter_resource,
    medication_dispense,
    referral_request,
    revisit_appointment,
)
from songkhoe.claims.visit import Referral, Revisit
from songkhoe.places.facilities import facilities
from songkhoe.terminology import medications

Resource = dict[str, Any]
Ids = Callable[[int], list[str]]

EXPIRED_SHARE = 0.03
REFERRAL_SHARE = 0.01
REVISIT_SHARE = 0.1
DAYS_SUPPLY = 30
DEPARTMENT = "K01"
CONSULTATION, GLUCOSE = "02.03", "23.0075.1494"
# Units a day of each medicine as `medications` doses it ("Uống 1 viên x 2 lần/ngày": 2);
# an inhaler (200 doses) is one a month.
DAILY_UNITS = {"amlodipine": 1, "losartan": 1, "enalapril": 2, "hydrochlorothiazide": 1,
               "metformin": 2, "gliclazide": 1, "atorvastatin": 1}  # fmt: skip
MONTHLY_UNITS = {"salbutamol": 1}
_KEY_OF_ATC = {m.atc: m.key for m in medications.ALL}


def doctor_of(commune_code: str) -> Clinician:
    """The synthetic doctor of a commune's station."""
    return Clinician(f"{commune_code}/TYT-SYNTH", "Bác sĩ trạm y tế (tổng hợp)")


def cards(
    ids: Ids, rng: np.random.Generator, as_of: date, patient_ids: Sequence[str],
    numbers: Sequence[str], stations: Sequence[str],
) -> tuple[list[Resource], np.ndarray]:  # fmt: skip
    """The Coverages of a block's people (card `numbers`, "" for the uninsured; `stations`
    their stations' Organization ids) and their owners (person index), in person order."""
    renewed = rng.random(len(numbers)) >= EXPIRED_SHARE
    out: list[Resource] = []
    owner: list[int] = []
    for who, (pid, number, station, fresh) in enumerate(
        zip(patient_ids, numbers, stations, renewed.tolist(), strict=True)
    ):
        if not number:
            continue
        code = synthetic_code(station)
        years = (as_of.year - 1, as_of.year) if fresh else (as_of.year - 1,)
        for year, cid in zip(years, ids(len(years)), strict=True):
            coverage = coverage_resource(pid, number, date(year, 1, 1), date(year, 12, 31), code)
            out.append({**coverage, "id": cid})
            owner.append(who)
    return out, np.array(owner, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class FollowUp:
    """One follow-up visit of a block: who, where, when, why, and its glucose result if any."""

    owner: int  # person index in the block
    encounter_id: str
    patient_id: str
    commune_code: str
    start: datetime
    end: datetime
    diagnoses: tuple[str, ...]  # ICD-10, the main one first
    glucose: str | None  # the Observation id of the glucose measured, if any


def encounter(visit: FollowUp, types: Sequence[dict]) -> Resource:
    """The Encounter of a follow-up, as `claims.records` writes a visit; `types` the follow-up
    type as the check-up form codes it."""
    station = f"tyt-{visit.commune_code}"
    return encounter_resource(
        visit.encounter_id, visit.patient_id, station, arrived=visit.start, left=visit.end,
        types=types, care_kind=codes.OUTPATIENT_VISIT,
        arrival_kind=codes.PRIMARY_CARE_FACILITY, doctor=doctor_of(visit.commune_code),
        diagnoses=visit.diagnoses, outcome=codes.IMPROVED, department=DEPARTMENT,
        location_id=f"loc-{station}",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Prescribed:
    """A MedicationRequest of a block: its id, medicine key and the day it was written."""

    request_id: str
    key: str
    authored: date


def prescriptions(requests: Sequence[Resource], owner: np.ndarray) -> dict[int, list[Prescribed]]:
    """The block's MedicationRequests by owner."""
    found: dict[int, list[Prescribed]] = {}
    for request, who in zip(requests, owner.tolist(), strict=True):
        atc = request["medicationCodeableConcept"]["coding"][0]["code"]
        found.setdefault(who, []).append(
            Prescribed(request["id"], _KEY_OF_ATC[atc], date.fromisoformat(request["authoredOn"]))
        )
    return found


@dataclass
class VisitClaims:
    """The claim resources of a block's follow-ups, each list by owner."""

    charges: list[Resource]
    dispenses: list[Resource]
    referrals: list[Resource]
    appointments: list[Resource]
    charge_owner: list[int]
    dispense_owner: list[int]
    referral_owner: list[int]
    appointment_owner: list[int]


def visit_claims(
    ids: Ids, rng: np.random.Generator, province_code: str, visits: Sequence[FollowUp],
    prescribed: dict[int, list[Prescribed]],
) -> VisitClaims:  # fmt: skip
    """Charges, dispenses, referrals and re-visits of follow-ups in owner order."""
    price_list = shipped(COMMUNE_STATION)
    centres = [f for f in facilities(province_code) if f.kind == "regional_hospital"]
    draws = rng.random((len(visits), 3))
    out = VisitClaims([], [], [], [], [], [], [], [])
    for visit, (refer, revisit, centre) in zip(visits, draws.tolist(), strict=True):
        day = visit.start.date()
        doctor = doctor_of(visit.commune_code)
        try:
            charges = _charges(ids, price_list, visit, doctor)
            dispenses = _dispenses(ids, price_list, visit, doctor, prescribed.get(visit.owner, []))
        except LookupError:  # a day the price list does not cover
            continue
        out.charges += charges
        out.charge_owner += [visit.owner] * len(charges)
        out.dispenses += dispenses
        out.dispense_owner += [visit.owner] * len(dispenses)
        if refer < REFERRAL_SHARE and centres:
            destination = centres[int(centre * len(centres))].id
            out.referrals.append(_referral(ids(1)[0], visit, doctor, destination))
            out.referral_owner.append(visit.owner)
        if revisit < REVISIT_SHARE:
            booked = Revisit(f"GH-{visit.encounter_id[-12:]}", day + timedelta(days=DAYS_SUPPLY),
                             doctor.certificate)  # fmt: skip
            out.appointments.append(
                revisit_appointment(
                    ids(1)[0],
                    booked,
                    patient_id=visit.patient_id,
                    location_id=f"loc-tyt-{visit.commune_code}",
                    encounter_id=visit.encounter_id,
                )  # fmt: skip
            )
            out.appointment_owner.append(visit.owner)
    return out


def _referral(request_id: str, visit: FollowUp, doctor: Clinician, destination: str) -> Resource:
    """A referral to a regional centre for blood pressure not controlled at the station."""
    station = synthetic_code(f"tyt-{visit.commune_code}")
    paper = Referral(
        number=f"{station}-{visit.encounter_id[-12:]}", to_facility=synthetic_code(destination),
        reason=codes.REFERRAL_BEYOND_CAPACITY, signs="Huyết áp chưa kiểm soát",
        course="Điều trị ngoại trú bệnh mạn tính tại trạm y tế", results="",
        treatment="Thuốc điều trị theo đơn", direction="Khám chuyên khoa", transport="Tự túc",
        signed_by=doctor.certificate, on_patient_request=False,
    )  # fmt: skip
    return referral_request(
        request_id, paper, patient_id=visit.patient_id, encounter_id=visit.encounter_id,
        diagnoses=visit.diagnoses, issued=visit.end, destination_id=destination,
    )  # fmt: skip


def _charges(ids: Ids, price_list: Catalogue, visit: FollowUp, doctor: Clinician) -> list[Resource]:
    station = f"tyt-{visit.commune_code}"
    day = visit.start.date()
    common: dict[str, Any] = {
        "patient_id": visit.patient_id, "encounter_id": visit.encounter_id,
        "facility_id": station, "quantity": Decimal(1), "doctor": doctor,
    }  # fmt: skip
    fee = price_list.price(ItemKind.SERVICE, CONSULTATION, day)
    charges = [charge_item(ids(1)[0], fee, **common, ordered=visit.start, performed=visit.start)]
    if visit.glucose is not None:
        test = price_list.price(ItemKind.SERVICE, GLUCOSE, day)
        charges.append(
            charge_item(
                ids(1)[0],
                test,
                **common,
                ordered=visit.start,
                performer=doctor,
                performed=visit.start,
                result=visit.start,
                service=f"Observation/{visit.glucose}",
            )  # fmt: skip
        )
    return charges


def _dispenses(
    ids: Ids, price_list: Catalogue, visit: FollowUp, doctor: Clinician,
    prescribed: Sequence[Prescribed],
) -> list[Resource]:  # fmt: skip
    day = visit.start.date()
    out = []
    for medicine in prescribed:
        if medicine.authored > day:
            continue
        drug: Entry = price_list.drug_with_atc(medications.BY_KEY[medicine.key].atc, day)
        per_day = DAILY_UNITS.get(medicine.key)
        amount = Decimal(per_day * DAYS_SUPPLY if per_day else MONTHLY_UNITS[medicine.key])
        dose = (
            f"1 {drug.unit}/lần * {per_day} lần/ngày * {DAYS_SUPPLY} ngày "
            f"[{per_day} {drug.unit}/ngày]"
            if per_day
            else f"{int(amount)} {drug.unit} cho {DAYS_SUPPLY} ngày"
        )
        out.append(
            medication_dispense(
                ids(1)[0], drug, patient_id=visit.patient_id, encounter_id=visit.encounter_id,
                quantity=amount, ordered=visit.start, dispensed=visit.end, dose=dose,
                directions=medications.BY_KEY[medicine.key].dosage_vi, prescriber=doctor,
                days_supply=DAYS_SUPPLY, prescription_id=medicine.request_id,
            )
        )  # fmt: skip
    return out
