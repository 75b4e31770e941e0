"""NCD risk factors, check-ups, diagnoses and treatment of synthetic adults.

Prevalences are set near Vietnam's STEPS survey 2021 (WHO & Ministry of Health, *National survey
on the risk factors of non-communicable diseases, Viet Nam 2021*, adults 18-69): raised blood
pressure (>= 140/90 or on medication) ~26%, rising steeply with age; raised fasting glucose or
on medication ~7%; current smoking ~42% of men and ~1-2% of women; overweight (BMI >= 25) ~20%.
Of people with hypertension about half know it, and of those about half are treated and
controlled (STEPS 2021; Son PT et al., J Hum Hypertens 2012;26:268). Values correlate as in the
cohort literature (age, sex, BMI -> BP, glucose, cholesterol) and persist across a person's
years with visit-to-visit noise. Commune stations hold periodic check-ups (khám sức khỏe định kỳ,
Luật Khám bệnh, chữa bệnh 2023) and monthly follow-ups with medicines for people under chronic
care (Quyết định 3192/QĐ-BYT 2010 on hypertension; Quyết định 5481/QĐ-BYT 2020 on diabetes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEVER, EX, CURRENT = range(3)  # smoking status
CHECKUP, FOLLOW_UP = range(2)  # visit kind
DAYS_PER_YEAR = 365.25
FOLLOW_UP_MONTHS = 12


@dataclass(frozen=True, slots=True)
class RiskFactors:
    """Latent, persistent values of adults at `as_of` (BP untreated), and what is known of them:
    `*_dx` diagnosed (a Condition), `*_tx` treated (MedicationRequests)."""

    height: np.ndarray  # cm
    bmi: np.ndarray  # kg/m2
    waist: np.ndarray  # cm
    smoking: np.ndarray  # NEVER / EX / CURRENT
    sbp: np.ndarray  # mmHg
    dbp: np.ndarray
    bp_drop: np.ndarray  # systolic lowering when treated, mmHg
    fpg: np.ndarray  # fasting plasma glucose, mmol/L
    tc: np.ndarray  # total cholesterol, mmol/L
    htn: np.ndarray
    htn_dx: np.ndarray
    htn_tx: np.ndarray
    dm: np.ndarray
    dm_dx: np.ndarray
    dm_tx: np.ndarray
    lipid_dx: np.ndarray
    lipid_tx: np.ndarray
    copd_dx: np.ndarray
    copd_tx: np.ndarray
    asthma_dx: np.ndarray
    asthma_tx: np.ndarray
    obesity_dx: np.ndarray
    attendance: np.ndarray  # yearly probability of a check-up


def sample_risk_factors(
    rng: np.random.Generator, age: np.ndarray, male: np.ndarray, urban: np.ndarray
) -> RiskFactors:
    """Risk factors of adults aged `age` (years) at `as_of`; `urban`: living in a ward."""
    n = age.size
    z = rng.standard_normal((8, n))
    u = rng.random((12, n))
    decade = np.clip(age, 20, 80)
    # Height: Vietnamese adults ~164 cm (men) / ~153 cm (women), younger cohorts taller.
    height = np.where(male, 164.0 + 6.0 * z[0], 153.5 + 5.5 * z[0]) + 0.12 * (50 - decade)
    bmi_mean = 19.9 + 0.09 * np.minimum(age - 18, 40) - 0.05 * np.maximum(age - 65, 0) + 0.7 * urban
    bmi = bmi_mean * np.exp(0.13 * z[1])
    waist = np.where(male, 78.0 + 2.4 * (bmi - 22), 74.0 + 2.2 * (bmi - 22)) + 0.1 * (age - 40)
    waist += 4.5 * z[2]

    ages = [18, 25, 35, 45, 60, 75]
    current = np.where(male, np.interp(age, ages, [0.3, 0.45, 0.5, 0.47, 0.38, 0.25]), 0.015)
    ex = np.where(male, np.interp(age, ages, [0.02, 0.05, 0.1, 0.16, 0.26, 0.35]), 0.01)
    smoking = np.where(u[0] < current, CURRENT, np.where(u[0] < current + ex, EX, NEVER))

    sbp = 109 + 0.5 * (age - 18) + 0.01 * np.maximum(age - 45, 0) ** 2 + 5 * male
    sbp += 1.3 * (bmi - 22) + 14 * z[3]
    dbp = 68 + 0.4 * (sbp - 120) + 0.2 * (np.minimum(age, 55) - 18) + 2 * male + 0.4 * (bmi - 22)
    dbp += 6 * z[4]
    htn = (sbp >= 140) | (dbp >= 90)
    htn_dx = htn & (u[1] < np.clip(0.3 + 0.01 * (age - 30), 0.2, 0.8))
    htn_tx = htn_dx & (u[2] < 0.8)
    bp_drop = np.clip(18 + 8 * z[5], 0, 45)

    dm_logit = -6.0 + 0.055 * age + 0.18 * (bmi - 22) + 0.2 * male
    dm = u[3] < 1 / (1 + np.exp(-dm_logit))
    healthy_fpg = np.clip(4.6 + 0.01 * (age - 18) + 0.05 * (bmi - 22) + 0.4 * z[6], 3.6, 6.6)
    fpg = np.where(dm, 7.0 + rng.gamma(2.0, 1.3, n), healthy_fpg)
    dm_dx = dm & (u[4] < np.clip(0.45 + 0.005 * (age - 40), 0.25, 0.7))
    dm_tx = dm_dx & (u[5] < 0.85)

    tc = 4.2 + 0.022 * (np.minimum(age, 60) - 18) + 0.06 * (bmi - 22)
    tc += 0.3 * (~male & (age > 50)) + 0.8 * z[7]
    lipid_dx = (age >= 40) & (((tc >= 6.2) & (u[6] < 0.35)) | (dm_dx & (u[6] < 0.3)))
    lipid_tx = lipid_dx & (u[7] < 0.7)

    ever_smoked = smoking != NEVER
    copd_p = np.where(male & ever_smoked & (age >= 45), 0.04 + 0.002 * (age - 45), 0.0)
    copd_dx = u[8] < np.where(~male & (age >= 55), 0.004, copd_p)
    copd_tx = copd_dx & (u[9] < 0.8)
    asthma_dx = ~copd_dx & (u[10] < 0.012)
    asthma_tx = asthma_dx & (u[9] < 0.7)
    obesity_dx = (bmi >= 30) & (u[11] < 0.3)

    attendance = np.interp(age, [18, 30, 40, 50, 60, 70], [0.3, 0.38, 0.48, 0.58, 0.68, 0.72])
    attendance += 0.15 * (htn_dx | dm_dx) + 0.15 * rng.standard_normal(n)
    return RiskFactors(
        height=height, bmi=bmi, waist=waist, smoking=smoking, sbp=sbp, dbp=dbp, bp_drop=bp_drop,
        fpg=fpg, tc=tc, htn=htn, htn_dx=htn_dx, htn_tx=htn_tx, dm=dm, dm_dx=dm_dx, dm_tx=dm_tx,
        lipid_dx=lipid_dx, lipid_tx=lipid_tx, copd_dx=copd_dx, copd_tx=copd_tx,
        asthma_dx=asthma_dx, asthma_tx=asthma_tx, obesity_dx=obesity_dx,
        attendance=np.clip(attendance, 0.02, 0.97),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Visits:
    """Visits to the commune station, sorted by person then time. `day`: days before `as_of`;
    `minute`: local start time (minutes after midnight); `labs`: glucose and cholesterol drawn."""

    person: np.ndarray
    day: np.ndarray
    minute: np.ndarray
    kind: np.ndarray
    labs: np.ndarray


@dataclass(frozen=True, slots=True)
class Onsets:
    """Days before `as_of` when hypertension and diabetes were diagnosed (-1: not diagnosed), and
    the index into `Visits` of the check-up that found them (-1: diagnosed before the window)."""

    htn_day: np.ndarray
    htn_visit: np.ndarray
    dm_day: np.ndarray
    dm_visit: np.ndarray


def schedule(
    rng: np.random.Generator, rf: RiskFactors, age: np.ndarray, years: int
) -> tuple[Visits, Onsets]:
    """Yearly check-ups over the `years` before `as_of` (adults only: those 18+ at the visit),
    diagnosis dates, and monthly follow-ups over the last year for people on treatment (most
    come most months; ~15% stopped coming 4-9 months ago)."""
    n = age.size
    attend = (rng.random((n, years)) < rf.attendance[:, None]) & (
        age[:, None] - np.arange(years) >= 18
    )
    person, year = np.nonzero(attend)
    day = year * 365 + rng.integers(1, 366, person.size)
    checkups = person.size
    labs = (age[person] >= 40) | rf.dm_dx[person] | (rng.random(checkups) < 0.2)

    htn_day, htn_visit = _onset(rng, rf.htn_dx, age, person, day, years)
    dm_day, dm_visit = _onset(rng, rf.dm_dx, age, person, day, years)
    treated = rf.htn_tx | rf.dm_tx
    onset = np.maximum(np.where(rf.htn_tx, htn_day, -1), np.where(rf.dm_tx, dm_day, -1))
    adherence = rng.beta(6, 2, n)
    dropout = np.where(rng.random(n) < 0.15, rng.integers(4, 10, n), 0)
    month = np.arange(FOLLOW_UP_MONTHS)
    slot = 30 * month + rng.integers(3, 28, (n, FOLLOW_UP_MONTHS))
    go = treated[:, None] & (rng.random((n, FOLLOW_UP_MONTHS)) < adherence[:, None])
    go &= (month >= dropout[:, None]) & (slot < onset[:, None])
    fu_person, fu_month = np.nonzero(go)
    fu_day = slot[fu_person, fu_month]

    all_person = np.concatenate([person, fu_person])
    all_day = np.concatenate([day, fu_day])
    order = np.lexsort((-all_day, all_person))
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    total = all_person.size
    visits = Visits(
        person=all_person[order],
        day=all_day[order],
        minute=rng.integers(7 * 60, 11 * 60, total),
        kind=np.where(order < checkups, CHECKUP, FOLLOW_UP),
        labs=np.concatenate([labs, rf.dm_tx[fu_person]])[order],
    )
    remap = np.r_[position[:checkups], -1]  # -1 stays -1
    return visits, Onsets(htn_day, remap[htn_visit], dm_day, remap[dm_visit])


def _onset(
    rng: np.random.Generator,
    dx: np.ndarray,
    age: np.ndarray,
    person: np.ndarray,
    day: np.ndarray,
    years: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Diagnosis day and visit for people with `dx`: ~30% at one of their check-ups in the window,
    the rest 0-12 years before it (not before age ~28)."""
    n = dx.size
    span = np.clip(age - 28 - years, 0.5, 12) * rng.random(n)
    onset_day = np.where(dx, ((years + span) * DAYS_PER_YEAR).astype(np.int64), -1)
    onset_visit = np.full(n, -1)
    found_now = dx & (rng.random(n) < 0.3)
    candidates = np.flatnonzero(found_now[person])
    if candidates.size:
        shuffled = candidates[rng.permutation(candidates.size)]
        who, first = np.unique(person[shuffled], return_index=True)
        onset_visit[who] = shuffled[first]
        onset_day[who] = day[shuffled[first]]
    return onset_day, onset_visit


@dataclass(frozen=True, slots=True)
class Measurements:
    """Values measured at each visit (`Visits` order)."""

    sbp: np.ndarray
    dbp: np.ndarray
    weight: np.ndarray
    height: np.ndarray
    bmi: np.ndarray
    waist: np.ndarray
    fpg: np.ndarray
    tc: np.ndarray


def measure(
    rng: np.random.Generator, rf: RiskFactors, visits: Visits, onsets: Onsets
) -> Measurements:
    """What the station measures: latent values drifted back to the visit date, lowered by
    treatment started before the visit, plus visit-to-visit and measurement noise (SD ~7/5 mmHg
    for BP, ~8% for glucose)."""
    p, day = visits.person, visits.day
    years_before = day / DAYS_PER_YEAR
    z = rng.standard_normal((8, p.size))
    on_bp = rf.htn_tx[p] & (day < onsets.htn_day[p])
    on_dm = rf.dm_tx[p] & (day < onsets.dm_day[p])
    drop = rf.bp_drop[p] * on_bp
    sbp = rf.sbp[p] - 0.5 * years_before - drop + 7 * z[0]
    dbp = rf.dbp[p] - 0.15 * years_before - 0.5 * drop + 5 * z[1]
    height = np.round(rf.height[p] + 0.4 * z[2], 1)
    bmi_true = rf.bmi[p] - 0.08 * years_before + 0.5 * z[3]
    weight = np.round(bmi_true * (height / 100) ** 2, 1)
    fpg = np.where(on_dm, 6.0 + 0.45 * (rf.fpg[p] - 6.0), rf.fpg[p]) * np.exp(0.08 * z[4])
    tc = rf.tc[p] - 1.3 * rf.lipid_tx[p] + 0.25 * z[5]
    return Measurements(
        sbp=np.round(sbp).astype(np.int64),
        dbp=np.round(np.minimum(dbp, sbp - 20)).astype(np.int64),
        weight=weight,
        height=height,
        bmi=np.round(weight / (height / 100) ** 2, 1),
        waist=np.round(rf.waist[p] - 0.2 * years_before + 1.5 * z[6], 1),
        fpg=np.round(np.maximum(fpg, 3.0), 1),
        tc=np.round(np.maximum(tc, 2.0), 2),
    )
