"""Generate a synthetic Vietnamese province as FHIR R4 resources (plain dicts).

`generate` is pure (no database): it yields batches that the caller writes. Each batch holds
whole households with all their history, and a resource only references resources of its own
batch, places (commune-station Organizations "tyt-*" and Locations "loc-tyt-*", the regional
centres "bv-*" a referral names) or the commune stations' price list (Medications,
`songkhoe.claims.catalogue`). Within a batch, resources come Patients, Coverages, Encounters,
Conditions, MedicationRequests, Observations, ChargeItems, MedicationDispenses, ServiceRequests,
Appointments, so every reference points backwards. BHYT cards and claimable follow-ups:
`synth.insurance`.

People are drawn in fixed blocks of `BLOCK` people, each from its own seeded stream, so the
resources do not depend on `batch_size`. Ids are UUIDs: a 74-bit prefix drawn from the arguments
(seed, province, as_of, people) followed by a 48-bit counter, so they are deterministic, unique
within a run and do not collide between runs with other arguments.

Coded values (codings, categories, references to places, a person's `subject`) are shared dict
objects across resources: consumers serialise and must not mutate them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np

from songkhoe.fhir.systems import (
    BHYT,
    CCCD,
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    EXT_COMMUNE,
    HOUSEHOLD,
    PHONE,
)
from songkhoe.ncd.checkup_codes import (
    AMBULATORY,
    CHECKUP_TYPE,
    FOLLOW_UP_TYPE,
    LABORATORY,
    SMOKING,
    SOCIAL_HISTORY,
    VITAL_SIGNS,
    quantity,
)
from songkhoe.places.catalog import communes, province
from songkhoe.places.facilities import commune_station_id
from songkhoe.synth import clinical, demography, insurance
from songkhoe.terminology import icd10, loinc, medications

Resource = dict[str, Any]

BLOCK = 2000
WINDOW_YEARS = 3  # check-ups over the 3 years before as_of
# Commune weights: the 2025 reform merged communes to comparable populations (Nghị quyết
# 76/2025/UBTVQH15 sets population minimums), so weights are by kind, not area: wards are denser.
_KIND_WEIGHT = {"phường": 1.6, "xã": 1.0, "đặc khu": 0.4}
_SOUTHERN_SPELLING_FROM = 46  # Huế southward: Huỳnh, Võ
_HAMLET_FROM = 70  # South-east and Mekong provinces call villages "ấp"
_POOR_RURAL, _POOR_WARD = 0.05, 0.01  # households; multidimensional poverty ~4% in 2022 (GSO)


def _cat(system: str, code: str, display: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": system, "code": code, "display": display}]}]


PROBLEM_LIST = _cat(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")
ACTIVE = _cat(CONDITION_CLINICAL, "active", "Active")[0]
CONFIRMED = _cat(CONDITION_VERIFICATION, "confirmed", "Confirmed")[0]
FOLLOW_UP_DIAGNOSES = {1: ("I10",), 2: ("E11",), 3: ("I10", "E11")}  # ICD-10, main first
_HTN_DRUGS = ("amlodipine", "enalapril", "losartan", "hydrochlorothiazide")
_HTN_FIRST_P = (0.45, 0.2, 0.25, 0.1)
_HTN_SECOND_AFTER_AMLODIPINE = ("losartan", "enalapril", "hydrochlorothiazide")


def generate(
    *, province_code: str, people: int, seed: int, as_of: date, batch_size: int = 1000
) -> Iterator[list[Resource]]:
    """Yield batches of `batch_size` people or a few more (whole households; the last batch may
    be smaller), each with their full history, for `people` people of the province
    `province_code` as of `as_of` (check-ups in the 3 years before it). Same arguments, same
    output; the resources do not depend on `batch_size`.

    Raises ValueError for `people` < 0, `seed` < 0 or `batch_size` < 1, and
    `songkhoe.places.catalog.UnknownPlace` for a bad province code, before yielding anything.
    """
    if people < 0:
        raise ValueError(f"people must be zero or more, got {people}")
    if seed < 0:
        raise ValueError(f"seed must be zero or more, got {seed}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    run = _Run.start(province_code, people, seed, as_of)
    return _batches(run, people, batch_size)


def _batches(run: _Run, people: int, batch_size: int) -> Iterator[list[Resource]]:
    """Cut blocks at household ends into batches of at least `batch_size` people (the last may
    be smaller); a batch may span two blocks."""
    pending: list[Resource] = []
    pending_people = 0
    for first in range(0, people, BLOCK):
        block = run.block(first, min(BLOCK, people - first))
        ends = np.cumsum(block.household_sizes)
        start = 0
        while start < ends[-1]:
            cut = min(
                int(np.searchsorted(ends, start + batch_size - pending_people)), ends.size - 1
            )
            stop = int(ends[cut])
            pending += block.resources(start, stop)
            pending_people += stop - start
            start = stop
            if pending_people >= batch_size:
                yield pending
                pending, pending_people = [], 0
    if pending:
        yield pending


@dataclass(frozen=True, slots=True)
class _Places:
    """The province's communes with their shared reference dicts."""

    codes: list[str]
    names: list[str]
    ward: np.ndarray
    weight: np.ndarray
    org: list[dict[str, str]]  # {"reference": "Organization/tyt-..."}
    performer: list[list[dict[str, str]]]
    staffed: list[list[dict[str, Any]]]  # the station and its doctor, at follow-ups
    location: list[list[dict[str, Any]]]

    @classmethod
    def of(cls, province_code: str) -> _Places:
        found = communes(province_code)
        kind = [c.full_name.lower().removesuffix(c.name.lower()).strip() for c in found]
        stations = [commune_station_id(c.code) for c in found]
        org = [{"reference": f"Organization/{s}"} for s in stations]
        weight = np.array([_KIND_WEIGHT.get(k, 1.0) for k in kind])
        return cls(
            codes=[c.code for c in found],
            names=[c.full_name for c in found],
            ward=np.array([k == "phường" for k in kind]),
            weight=weight / weight.sum(),
            org=org,
            performer=[[o] for o in org],
            staffed=[
                [o, insurance.doctor_of(c.code).reference()]
                for o, c in zip(org, found, strict=True)
            ],
            location=[[{"location": {"reference": f"Location/loc-{s}"}}] for s in stations],
        )


@dataclass(slots=True)
class _Run:
    """What stays fixed over one call of `generate`."""

    province_code: str
    province_name: str
    as_of: date
    entropy: list[int]
    places: _Places
    id_prefix: str
    next_id: int
    next_household: int
    cccd_serial: demography.Scrambler
    social_number: demography.Scrambler
    household_number: demography.Scrambler

    @classmethod
    def start(cls, province_code: str, people: int, seed: int, as_of: date) -> _Run:
        prov = province(province_code)
        entropy = [seed, int(province_code), as_of.toordinal(), people]
        rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(0,)))
        bits = int.from_bytes(rng.bytes(16), "big")
        prefix = str(uuid.UUID(int=bits, version=4))[:24]  # 8-4-4-4- : version and variant set
        return cls(
            province_code=province_code,
            province_name=prov.full_name,
            as_of=as_of,
            entropy=entropy,
            places=_Places.of(province_code),
            id_prefix=prefix,
            next_id=0,
            next_household=0,
            cccd_serial=demography.Scrambler.draw(rng, 10**6),
            social_number=demography.Scrambler.draw(rng, 10**8),
            household_number=demography.Scrambler.draw(rng, 10**7),
        )

    def ids(self, count: int) -> list[str]:
        first, self.next_id = self.next_id, self.next_id + count
        prefix = self.id_prefix
        return [f"{prefix}{i:012x}" for i in range(first, first + count)]

    def block(self, first_person: int, n: int) -> _Block:
        rng = np.random.default_rng(
            np.random.SeedSequence(self.entropy, spawn_key=(1, first_person // BLOCK))
        )
        return _build_block(self, rng, first_person, n)


@dataclass(frozen=True, slots=True)
class _Block:
    """Resources of one block by type, each list ordered by owner (person index in the block)."""

    household_sizes: np.ndarray
    lists: tuple[list[Resource], ...]
    owners: tuple[np.ndarray, ...]

    def resources(self, start: int, stop: int) -> list[Resource]:
        """All resources of people start..stop-1, by type."""
        out: list[Resource] = []
        for items, owner in zip(self.lists, self.owners, strict=True):
            lo, hi = np.searchsorted(owner, [start, stop])
            out += items[lo:hi]
        return out


def _build_block(run: _Run, rng: np.random.Generator, first_person: int, n: int) -> _Block:
    age, male = demography.sample_age_sex(rng, n)
    households = demography.assemble_households(rng, age, male)
    age, male = age[households.order], male[households.order]
    sizes = households.sizes
    n_households = sizes.size
    places = run.places
    commune_of_household = rng.choice(len(places.codes), size=n_households, p=places.weight)
    commune = np.repeat(commune_of_household, sizes)
    urban = places.ward[commune]
    poor_p = np.where(places.ward[commune_of_household], _POOR_WARD, _POOR_RURAL)
    poor = np.repeat(rng.random(n_households) < poor_p, sizes)

    as_of = np.datetime64(run.as_of, "D")
    birth = as_of - (age * clinical.DAYS_PER_YEAR).astype(np.int64)
    birth_year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    patient_ids = run.ids(n)
    subjects = [{"reference": f"Patient/{pid}"} for pid in patient_ids]
    patients, cards = _patients(
        run, rng, households, age, male, birth, birth_year, commune, commune_of_household,
        urban, poor, first_person, patient_ids,
    )  # fmt: skip
    claims_rng = np.random.default_rng(
        np.random.SeedSequence(run.entropy, spawn_key=(2, first_person // BLOCK))
    )
    stations = [commune_station_id(run.places.codes[c]) for c in commune.tolist()]
    coverages, coverage_owner = insurance.cards(
        run.ids, claims_rng, run.as_of, patient_ids, cards, stations
    )

    adult = np.flatnonzero(age >= 18)
    rf = clinical.sample_risk_factors(rng, age[adult], male[adult], urban[adult])
    visits, onsets = clinical.schedule(rng, rf, age[adult], WINDOW_YEARS)
    values = clinical.measure(rng, rf, visits, onsets)
    owner = adult[visits.person]
    encounter_ids = run.ids(owner.size)
    encounters, observations, observation_owner, follow_ups = _encounters(
        run, rng, rf, visits, values, owner, commune, subjects, encounter_ids
    )
    conditions, condition_owner, medications_, medication_owner = _conditions(
        run, rng, rf, onsets, age[adult], adult, commune, subjects, encounter_ids
    )
    claims = insurance.visit_claims(
        run.ids, claims_rng, run.province_code, follow_ups,
        insurance.prescriptions(medications_, medication_owner),
    )  # fmt: skip
    return _Block(
        household_sizes=sizes,
        lists=(patients, coverages, encounters, conditions, medications_, observations,
               claims.charges, claims.dispenses, claims.referrals, claims.appointments),
        owners=(np.arange(n), coverage_owner, owner, condition_owner, medication_owner,
                observation_owner, *(np.array(o, dtype=np.int64) for o in (
                    claims.charge_owner, claims.dispense_owner, claims.referral_owner,
                    claims.appointment_owner))),
    )  # fmt: skip


def _patients(
    run: _Run, rng: np.random.Generator, households: demography.Households, age: np.ndarray,
    male: np.ndarray, birth: np.ndarray, birth_year: np.ndarray, commune: np.ndarray,
    commune_of_household: np.ndarray, urban: np.ndarray, poor: np.ndarray, first_person: int,
    patient_ids: list[str],
) -> tuple[list[Resource], list[str]]:  # fmt: skip
    """Patients with names, CCCD/BHYT/household identifiers, phone and the household address;
    and their BHYT card numbers ("" for the uninsured)."""
    n = age.size
    province_code = run.province_code
    family, middle, given = demography.sample_names(
        rng, male, birth_year, households, int(province_code) >= _SOUTHERN_SPELLING_FROM
    )
    index = np.arange(first_person, first_person + n)
    born_here = rng.random(n) < demography.SHARE_BORN_IN_PROVINCE
    birth_province = np.where(
        born_here,
        int(province_code),
        rng.choice(demography.BIRTH_PROVINCE_CODES, size=n),
    )
    cccd = demography.cccd_numbers(birth_province, male, birth_year, run.cccd_serial(index))
    group = demography.bhyt_groups(rng, age, male, poor, urban)
    social = int(province_code) * 10**8 + run.social_number(index)
    bhyt = demography.bhyt_numbers(group, province_code, social)
    has_phone = (age >= 18) & (rng.random(n) < 0.95)
    phones = demography.phone_numbers(rng, n)

    addresses, household_ids = _addresses(run, rng, households, commune_of_household)
    sizes = households.sizes
    address_of = np.repeat(np.arange(sizes.size), sizes).tolist()
    places = run.places
    out = []
    for pid, fam, mid, giv, is_male, bd, cc, card, phone, with_phone, hh, com in zip(
        patient_ids, family, middle, given, male.tolist(), np.datetime_as_string(birth).tolist(),
        cccd, bhyt, phones, has_phone.tolist(), address_of, commune.tolist(), strict=True,
    ):  # fmt: skip
        identifiers = [{"system": CCCD, "value": cc}]
        if card:
            identifiers.append({"system": BHYT, "value": card})
        identifiers.append(household_ids[hh])
        patient: Resource = {
            "resourceType": "Patient",
            "id": pid,
            "identifier": identifiers,
            "active": True,
            "name": [
                {
                    "use": "official",
                    "text": f"{fam} {mid} {giv}",
                    "family": fam,
                    "given": [mid, giv],
                }
            ],
            "gender": "male" if is_male else "female",
            "birthDate": bd,
            "address": addresses[hh],
            "managingOrganization": places.org[com],
        }
        if with_phone:
            patient["telecom"] = [{"system": PHONE, "value": phone, "use": "mobile"}]
        out.append(patient)
    return out, bhyt


def _addresses(
    run: _Run, rng: np.random.Generator, households: demography.Households,
    commune_of_household: np.ndarray,
) -> tuple[list[list[dict[str, Any]]], list[dict[str, str]]]:  # fmt: skip
    """Per household: the shared address list and HOUSEHOLD identifier."""
    places = run.places
    h = commune_of_household.size
    ward = places.ward[commune_of_household]
    village = 1 + (rng.random(h) * np.where(ward, 30, 15)).astype(np.int64)
    house = rng.integers(1, 250, h)
    rural = "Ấp" if int(run.province_code) >= _HAMLET_FROM else "Thôn"
    number = run.household_number(np.arange(run.next_household, run.next_household + h))
    run.next_household += h
    addresses, identifiers = [], []
    for com, is_ward, v, no, hh in zip(
        commune_of_household.tolist(), ward.tolist(), village.tolist(), house.tolist(),
        number.tolist(), strict=True,
    ):  # fmt: skip
        code = places.codes[com]
        addresses.append(
            [
                {
                    "use": "home",
                    "line": [f"Số {no}, {'Tổ dân phố' if is_ward else rural} {v}"],
                    "city": places.names[com],
                    "state": run.province_name,
                    "country": "VN",
                    "extension": [{"url": EXT_COMMUNE, "valueCode": code}],
                }
            ]
        )
        identifiers.append({"system": HOUSEHOLD, "value": f"{code}-{hh:07d}"})
    return addresses, identifiers


def _encounters(
    run: _Run, rng: np.random.Generator, rf: clinical.RiskFactors, visits: clinical.Visits,
    values: clinical.Measurements, owner: np.ndarray, commune: np.ndarray,
    subjects: list[dict[str, str]], encounter_ids: list[str],
) -> tuple[list[Resource], list[Resource], np.ndarray, list[insurance.FollowUp]]:  # fmt: skip
    """Encounters and their Observations: at a check-up BP, weight, height, BMI, waist and smoking
    status, plus fasting glucose and total cholesterol when labs were drawn; at a follow-up BP,
    plus glucose for people treated for diabetes. A follow-up is a claimable visit
    (`insurance.encounter`), measured by the station and its doctor; the follow-ups are
    returned for their claims."""
    checkup = visits.kind == clinical.CHECKUP
    counts = np.where(checkup, 6 + 2 * visits.labs, 1 + visits.labs)
    observation_ids = iter(run.ids(int(counts.sum())))
    start = (np.datetime64(run.as_of, "D") - visits.day).astype("datetime64[m]") + visits.minute
    minutes = np.where(checkup, rng.integers(20, 46, start.size), rng.integers(5, 16, start.size))
    places = run.places
    p = visits.person
    reason = (1 * rf.htn_tx[p] + 2 * rf.dm_tx[p]).tolist()
    com_of = commune[owner].tolist()
    q = quantity
    encounters, observations = [], []
    follow_ups: list[insurance.FollowUp] = []
    for (eid, who, com, t0, t1, is_checkup, labs, why, smoke, sbp, dbp, kg, cm, bmi, waist, fpg,
         tc) in zip(
        encounter_ids, owner.tolist(), com_of, _local_times(start), _local_times(start + minutes),
        checkup.tolist(), visits.labs.tolist(), reason, rf.smoking[p].tolist(),
        values.sbp.tolist(), values.dbp.tolist(), values.weight.tolist(),
        values.height.tolist(), values.bmi.tolist(), values.waist.tolist(), values.fpg.tolist(),
        values.tc.tolist(), strict=True,
    ):  # fmt: skip
        subject = subjects[who]
        ref = {"reference": f"Encounter/{eid}"}
        by = places.performer[com] if is_checkup else places.staffed[com]
        made = [
            _observation(next(observation_ids), VITAL_SIGNS, loinc.BP_PANEL, subject, ref, t0, by,
                         component=[{"code": _SYSTOLIC, "valueQuantity": q(sbp, "mm[Hg]")},
                                    {"code": _DIASTOLIC, "valueQuantity": q(dbp, "mm[Hg]")}])
        ]  # fmt: skip
        if is_checkup:
            made += [
                _observation(next(observation_ids), VITAL_SIGNS, code, subject, ref, t0, by,
                             valueQuantity=q(value, code.unit))
                for code, value in ((loinc.BODY_WEIGHT, kg), (loinc.BODY_HEIGHT, cm),
                                    (loinc.BMI, bmi), (loinc.WAIST, waist))
            ]  # fmt: skip
            made.append(
                _observation(next(observation_ids), SOCIAL_HISTORY, loinc.SMOKING_STATUS, subject,
                             ref, t0, by, valueCodeableConcept=SMOKING[smoke])
            )  # fmt: skip
        glucose = None
        if labs:
            glucose = glucose_id = next(observation_ids)
            made.append(
                _observation(glucose_id, LABORATORY, loinc.FASTING_GLUCOSE, subject, ref, t0, by,
                             valueQuantity=q(fpg, "mmol/L"))
            )  # fmt: skip
            if is_checkup:
                made.append(
                    _observation(next(observation_ids), LABORATORY, loinc.TOTAL_CHOLESTEROL,
                                 subject, ref, t0, by, valueQuantity=q(tc, "mmol/L"))
                )  # fmt: skip
        if is_checkup:
            encounters.append({
                "resourceType": "Encounter",
                "id": eid,
                "status": "finished",
                "class": AMBULATORY,
                "type": CHECKUP_TYPE,
                "subject": subject,
                "serviceProvider": places.org[com],
                "location": places.location[com],
                "period": {"start": t0, "end": t1},
            })  # fmt: skip
        else:
            visit = insurance.FollowUp(
                owner=who, encounter_id=eid, patient_id=subject["reference"][8:],
                commune_code=places.codes[com], start=datetime.fromisoformat(t0),
                end=datetime.fromisoformat(t1), diagnoses=FOLLOW_UP_DIAGNOSES[why],
                glucose=glucose,
            )  # fmt: skip
            follow_ups.append(visit)
            encounters.append(insurance.encounter(visit, FOLLOW_UP_TYPE))
        observations += made
    return encounters, observations, np.repeat(owner, counts), follow_ups


_SYSTOLIC = loinc.concept(loinc.SYSTOLIC_BP.code)
_DIASTOLIC = loinc.concept(loinc.DIASTOLIC_BP.code)


def _observation(
    oid: str, category: list[dict[str, Any]], code: loinc.LoincCode, subject: dict[str, str],
    encounter: dict[str, str], when: str, performer: list[dict[str, str]], **value: Any,
) -> Resource:  # fmt: skip
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": category,
        "code": loinc.concept(code.code),
        "subject": subject,
        "encounter": encounter,
        "effectiveDateTime": when,
        "performer": performer,
        **value,
    }


def _local_times(minutes: np.ndarray) -> list[str]:
    """ISO 8601 local times (Asia/Ho_Chi_Minh, +07:00) from datetime64[m] wall-clock values."""
    return [f"{s}:00+07:00" for s in np.datetime_as_string(minutes, unit="m").tolist()]


def _conditions(
    run: _Run, rng: np.random.Generator, rf: clinical.RiskFactors, onsets: clinical.Onsets,
    age: np.ndarray, adult: np.ndarray, commune: np.ndarray, subjects: list[dict[str, str]],
    encounter_ids: list[str],
) -> tuple[list[Resource], np.ndarray, list[Resource], np.ndarray]:  # fmt: skip
    """Conditions of adults (problem list) and the MedicationRequests of the treated.

    Hypertension: amlodipine, enalapril, losartan or hydrochlorothiazide, 30% with a second
    drug; diabetes: metformin, 40% with gliclazide; dyslipidaemia: atorvastatin; COPD and asthma:
    salbutamol inhaler (Quyết định 3192/QĐ-BYT, 5481/QĐ-BYT; WHO PEN protocols).
    """
    n = age.size
    no_visit = np.full(n, -1)
    kinds = (
        ("I10", rf.htn_dx, onsets.htn_day, onsets.htn_visit),
        ("E11", rf.dm_dx, onsets.dm_day, onsets.dm_visit),
        ("E78", rf.lipid_dx, _earlier_onset(rng, age, 40), no_visit),
        ("J44", rf.copd_dx, _earlier_onset(rng, age, 40), no_visit),
        ("J45", rf.asthma_dx, _earlier_onset(rng, age, 5), no_visit),
        ("E66", rf.obesity_dx, _earlier_onset(rng, age, 18), no_visit),
    )
    who = [np.flatnonzero(dx) for _, dx, _, _ in kinds]
    person = np.concatenate(who)
    kind = np.repeat(np.arange(len(kinds)), [w.size for w in who])
    day = np.concatenate([d[w] for (_, _, d, _), w in zip(kinds, who, strict=True)])
    visit = np.concatenate([v[w] for (_, _, _, v), w in zip(kinds, who, strict=True)])
    order = np.argsort(person, kind="stable")
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    first_of_kind = np.cumsum([0] + [w.size for w in who])

    def record(k: int, treated: np.ndarray) -> np.ndarray:
        """Positions (in `order`) of the kind-k records of the `treated` people."""
        return position[first_of_kind[k] + np.searchsorted(who[k], treated)]

    drugs, records = _prescriptions(rng, rf, record)
    condition_ids = run.ids(person.size)
    dates = np.datetime_as_string(np.datetime64(run.as_of, "D") - day[order]).tolist()
    places = run.places
    codes = [icd10.concept(code) for code, _, _, _ in kinds]
    owner = adult[person[order]]
    conditions = []
    for cid, who_, k, onset, v in zip(
        condition_ids, owner.tolist(), kind[order].tolist(), dates, visit[order].tolist(),
        strict=True,
    ):  # fmt: skip
        condition: Resource = {
            "resourceType": "Condition",
            "id": cid,
            "clinicalStatus": ACTIVE,
            "verificationStatus": CONFIRMED,
            "category": PROBLEM_LIST,
            "code": codes[k],
            "subject": subjects[who_],
            "onsetDateTime": onset,
            "recordedDate": onset,
        }
        if v >= 0:
            condition["encounter"] = {"reference": f"Encounter/{encounter_ids[v]}"}
        conditions.append(condition)

    med_order = np.argsort(records, kind="stable")
    drugs, records = drugs[med_order], records[med_order]
    medication_ids = run.ids(records.size)
    medication_owner = owner[records]
    keys = [m.key for m in medications.ALL]
    requests = [
        {
            "resourceType": "MedicationRequest",
            "id": mid,
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": medications.concept(keys[drug]),
            "subject": subjects[who_],
            "authoredOn": dates[r],
            "requester": places.org[commune[who_]],
            "reasonReference": [{"reference": f"Condition/{condition_ids[r]}"}],
            "dosageInstruction": medications.dosage(keys[drug]),
        }
        for mid, drug, r, who_ in zip(
            medication_ids,
            drugs.tolist(),
            records.tolist(),
            medication_owner.tolist(),
            strict=True,
        )
    ]
    return conditions, owner, requests, medication_owner


def _prescriptions(
    rng: np.random.Generator,
    rf: clinical.RiskFactors,
    record: Callable[[int, np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """(drug index into `medications.ALL`, condition record) for every prescribed medicine."""
    index = {m.key: i for i, m in enumerate(medications.ALL)}
    htn = np.flatnonzero(rf.htn_tx)
    first = np.array([index[k] for k in _HTN_DRUGS])[
        rng.choice(len(_HTN_DRUGS), size=htn.size, p=_HTN_FIRST_P)
    ]
    two = rng.random(htn.size) < 0.3
    after_amlodipine = np.array([index[k] for k in _HTN_SECOND_AFTER_AMLODIPINE])[
        rng.integers(0, len(_HTN_SECOND_AFTER_AMLODIPINE), htn.size)
    ]
    second = np.where(first == index["amlodipine"], after_amlodipine, index["amlodipine"])
    dm = np.flatnonzero(rf.dm_tx)
    gliclazide = dm[rng.random(dm.size) < 0.4]
    lipid, copd, asthma = (np.flatnonzero(t) for t in (rf.lipid_tx, rf.copd_tx, rf.asthma_tx))
    parts = (
        (first, record(0, htn)),
        (second[two], record(0, htn[two])),
        (np.full(dm.size, index["metformin"]), record(1, dm)),
        (np.full(gliclazide.size, index["gliclazide"]), record(1, gliclazide)),
        (np.full(lipid.size, index["atorvastatin"]), record(2, lipid)),
        (np.full(copd.size, index["salbutamol"]), record(3, copd)),
        (np.full(asthma.size, index["salbutamol"]), record(4, asthma)),
    )
    return (
        np.concatenate([d for d, _ in parts]).astype(np.int64),
        np.concatenate([r for _, r in parts]).astype(np.int64),
    )


def _earlier_onset(rng: np.random.Generator, age: np.ndarray, from_age: float) -> np.ndarray:
    """Days before as_of of a diagnosis made some time after `from_age` (at most 15 years ago)."""
    years = rng.uniform(0.1, 1.0, age.size) * np.clip(age - from_age, 0.3, 15)
    return (years * clinical.DAYS_PER_YEAR).astype(np.int64)
