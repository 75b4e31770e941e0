"""Who lives in a synthetic Vietnamese commune: age and sex, households, names, identity numbers.

Everything here is vectorised over numpy arrays of people and draws from a caller's Generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import orjson

from songkhoe.places.former_provinces import FORMER_PROVINCE_CODES

# 2019 Population and Housing Census (GSO, Kết quả toàn bộ Tổng điều tra dân số và nhà ở năm
# 2019, 1 April 2019): share of the whole population (%) by 5-year age group and sex, 80+ last.
# The published totals are kept exactly: 49.8% male; 0-14: 24.3%, 15-64: 68.0%, 65+: 7.7%. The
# 5-year groups are the census pyramid read to 0.1 pp and adjusted to those totals.
AGE_GROUP_START = np.arange(0, 85, 5)
CENSUS_2019_MALE_PCT = np.array(
    [4.4, 4.4, 3.9, 3.5, 3.6, 4.2, 4.3, 3.8, 3.7, 3.3, 3.0, 2.6, 2.0, 1.3, 0.8, 0.5, 0.5]
)
CENSUS_2019_FEMALE_PCT = np.array(
    [4.0, 4.0, 3.6, 3.3, 3.4, 4.1, 4.2, 3.8, 3.6, 3.4, 3.1, 2.8, 2.3, 1.6, 1.1, 0.8, 1.1]
)
_OLDEST_AGE = 100.0

# The birth-place codes of CCCD numbers: the 63 provinces before the 2025 merger
# (`songkhoe.places.former_provinces`).
BIRTH_PROVINCE_CODES = np.array([int(code) for code in FORMER_PROVINCE_CODES])
SHARE_BORN_IN_PROVINCE = 0.8  # assumption: lifetime migration, 2019 census ~ 1 in 5 adults

# Mobile prefixes after the 2018 switch to 10 digits (Viettel 032-039, 086, 096-098; VinaPhone
# 081-085, 088, 091, 094; MobiFone 070, 076-079, 089, 090, 093; Vietnamobile 052, 056, 058, 092;
# Gmobile 059, 099), with rough market shares (Viettel ~55%, VinaPhone ~25%, MobiFone ~18%).
_MOBILE_PREFIXES = (
    ("32 33 34 35 36 37 38 39 86 96 97 98", 55.0),
    ("81 82 83 84 85 88 91 94", 25.0),
    ("70 76 77 78 79 89 90 93", 18.0),
    ("52 56 58 92 59 99", 2.0),
)

# BHYT card groups (mã đối tượng) and benefit levels (mức hưởng), Quyết định 1351/QĐ-BHXH (2015)
# as amended by Quyết định 1666/QĐ-BHXH (2020); benefit levels per Luật BHYT Điều 22.
BHYT_GROUPS = ("TE1", "HS4", "SV4", "HN2", "HT3", "BT2", "DN4", "GD4")
TE, HS, SV, HN, HT, BT, DN, GD = range(len(BHYT_GROUPS))
UNINSURED = -1


def sample_age_sex(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Age in years (float) and sex (True = male) of `n` people, by the 2019 census table."""
    shares = np.concatenate([CENSUS_2019_MALE_PCT, CENSUS_2019_FEMALE_PCT])
    cell = rng.choice(shares.size, size=n, p=shares / shares.sum())
    groups = AGE_GROUP_START.size
    male = cell < groups
    start = AGE_GROUP_START[cell % groups].astype(float)
    width = np.where(start >= AGE_GROUP_START[-1], 0.0, 5.0)
    age = start + rng.random(n) * width
    oldest = width == 0.0
    age[oldest] += np.minimum(rng.exponential(6.0, oldest.sum()), _OLDEST_AGE - start[oldest])
    return age, male


HEAD, SPOUSE, CHILD, CHILD_IN_LAW, PARENT = range(5)
MAX_HOUSEHOLD = 6


@dataclass(frozen=True, slots=True)
class Households:
    """People arranged in households: `order` lists person indices household by household,
    head first; `sizes` the household sizes in that order; `kin` (in `order`) whether the person
    carries the head's family name."""

    order: np.ndarray
    sizes: np.ndarray
    kin: np.ndarray


def assemble_households(rng: np.random.Generator, age: np.ndarray, male: np.ndarray) -> Households:
    """Group people into households of 1-6 that look like Vietnamese ones.

    Married men and women are paired by rank of age; a married person left without a partner
    (a spouse working away, widowhood) still heads a family. Young couples (husband under 30)
    often live with his parents; children and unmarried young adults join a family whose mother's
    age fits (19-38 years older), about two per family; unmarried older people often live with a
    child's family. Households above 6 spill their last members into a household of their own.
    Ages come from the census first, so the age structure stays the census's; sizes come out
    near the 2019 census mean of 3.5 per household (GSO 2019, Kết quả toàn bộ).
    """
    n = age.size
    u = rng.random((6, n))
    p_married = np.where(
        male,
        np.interp(age, [18, 22, 27, 32, 40, 60, 70, 85], [0, 0.12, 0.5, 0.8, 0.9, 0.88, 0.8, 0.65]),
        np.interp(
            age, [18, 22, 27, 32, 45, 60, 70, 85], [0.05, 0.35, 0.75, 0.85, 0.88, 0.75, 0.55, 0.3]
        ),
    )
    married = (age >= 18) & (u[0] < p_married)
    husbands, wives, lone = _pair_couples(rng, age, married & male, married & ~male)
    couples = husbands.size
    heads = np.concatenate([husbands, lone])  # one family per couple or lone married person
    families = heads.size
    mother_age = np.concatenate([age[wives], age[lone] - 3 * male[lone]])
    household = np.full(n, -1)
    role = np.full(n, HEAD)
    kin = np.zeros(n, dtype=bool)
    family_household = np.arange(families)
    household[heads] = family_household
    household[wives] = family_household[:couples]
    role[wives] = SPOUSE
    if families:
        young = np.flatnonzero((age[husbands] < 30) & (u[1, husbands] < 0.4))
        parents = np.flatnonzero(age[heads] >= 45)
        if parents.size:
            target = age[husbands[young]] + 24 + 10 * u[2, husbands[young]]
            family_household[young] = parents[_spread(age[heads[parents]], 1, target)]
            household[husbands[young]] = household[wives[young]] = family_household[young]
            role[husbands[young]], role[wives[young]] = CHILD, CHILD_IN_LAW
            kin[husbands[young]] = True
        single = household < 0
        child = single & ((age < 18) | ((age < 30) & (u[3] < 0.95)) | ((age < 45) & (u[3] < 0.7)))
        target = age[child] + 19 + 19 * u[4, child]
        places = np.where(
            mother_age < 50,
            rng.choice([1, 2, 3], size=families, p=[0.25, 0.5, 0.25]),
            rng.choice([0, 1, 2], size=families, p=[0.45, 0.4, 0.15]),
        )
        household[child] = family_household[_spread(mother_age, places, target)]
        role[child] = CHILD
        kin[child] = True
        elder = single & ~child & (age >= 50) & (u[5] < 0.8)
        hosts = np.flatnonzero(family_household == np.arange(families))
        target = age[elder] - 24 - 12 * u[4, elder]
        household[elder] = hosts[_spread(age[heads[hosts]], 1, target)]
        role[elder] = PARENT
        kin[elder] = u[3, elder] < 0.6
    alone = household < 0
    if families:
        household[alone] = families + np.arange(alone.sum())
    else:  # only in tiny groups: keep minors with adults, four to a household
        alone_idx = np.flatnonzero(alone)[np.argsort(-age[alone], kind="stable")]
        household[alone_idx] = np.arange(alone_idx.size) // 4
        kin[alone_idx] = (np.arange(alone_idx.size) % 4) > 0
        role[alone_idx] = np.where(kin[alone_idx], CHILD, HEAD)
    return _cap_and_order(rng, household, role, age, kin)


def _pair_couples(
    rng: np.random.Generator, age: np.ndarray, men: np.ndarray, women: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Husbands, wives (rank-matched by jittered age) and the married left over: the larger
    side's random surplus. `men`, `women`: boolean masks."""
    men, women = np.flatnonzero(men), np.flatnonzero(women)
    k = min(men.size, women.size)
    surplus = rng.permutation(men if men.size > k else women)
    lone = np.sort(surplus[k:]) if surplus.size > k else surplus[:0]
    if men.size > k:
        men = np.setdiff1d(men, lone)
    else:
        women = np.setdiff1d(women, lone)
    men = men[np.argsort(age[men] + rng.normal(0, 2, k))]
    women = women[np.argsort(age[women] + rng.normal(0, 2, k))]
    return men, women, lone


def _spread(values: np.ndarray, slots: np.ndarray | int, targets: np.ndarray) -> np.ndarray:
    """Index into `values` for each target: `values[i]` offers `slots[i]` places; targets and
    places are both sorted and matched by rank, so each value gets about its share of targets
    (more than its places only when targets outnumber places) and close ages pair up."""
    place = np.repeat(np.arange(values.size), slots)
    if not place.size:  # no value offers a place: each takes an equal share
        place = np.arange(values.size)
    place = place[np.argsort(values[place], kind="stable")]
    pick = np.empty(targets.size, dtype=np.int64)
    pick[np.argsort(targets, kind="stable")] = place[
        np.arange(targets.size) * place.size // max(targets.size, 1)
    ]
    return pick


def _cap_and_order(
    rng: np.random.Generator,
    household: np.ndarray,
    role: np.ndarray,
    age: np.ndarray,
    kin: np.ndarray,
) -> Households:
    order = np.lexsort((-age, role, household))
    hh = household[order]
    first = np.r_[True, hh[1:] != hh[:-1]]
    start = np.flatnonzero(first)
    rank = np.arange(hh.size) - np.repeat(start, np.diff(np.r_[start, hh.size]))
    spill = rank >= MAX_HOUSEHOLD
    hh = hh + np.where(spill, hh.max(initial=0) + 1, 0)  # spilled members share a new household
    kin_ordered = kin[order]
    kin_ordered[spill] = True
    label = rng.permutation(2 * (hh.max(initial=0) + 1))[hh]  # households in random order
    resort = np.lexsort((np.arange(hh.size), label))
    order, label, kin_ordered = order[resort], label[resort], kin_ordered[resort]
    first = np.r_[True, label[1:] != label[:-1]] if label.size else label.astype(bool)
    kin_ordered[first] = False
    sizes = np.diff(np.r_[np.flatnonzero(first), label.size])
    return Households(order=order, sizes=sizes, kin=kin_ordered)


@dataclass(frozen=True, slots=True)
class _NameTable:
    family: list[str]
    family_south: list[str]
    family_p: np.ndarray
    middle: dict[tuple[bool, bool], tuple[list[str], np.ndarray]]  # (male, younger) -> names, p
    given: dict[bool, list[str]]


@cache
def _names() -> _NameTable:
    raw = orjson.loads(resources.files(__package__).joinpath("data", "names.json").read_bytes())
    fam = raw["family"]
    weights = np.array([w for _, _, w in fam])
    middle = {}
    for sex, male in (("male", True), ("female", False)):
        for cohort, younger in (("older", False), ("younger", True)):
            rows = raw["middle"][sex][cohort]
            p = np.array([w for _, w in rows], dtype=float)
            middle[male, younger] = ([name for name, _ in rows], p / p.sum())
    return _NameTable(
        family=[north for north, _, _ in fam],
        family_south=[south or north for north, south, _ in fam],
        family_p=weights / weights.sum(),
        middle=middle,
        given={True: raw["given"]["male"], False: raw["given"]["female"]},
    )


def sample_names(
    rng: np.random.Generator,
    male: np.ndarray,
    birth_year: np.ndarray,
    households: Households,
    south: bool,
) -> tuple[list[str], list[str], list[str]]:
    """Family, middle and given names for people in household order (`households.order`); kin
    take the family name of their household's head. `south`: Huỳnh/Võ spellings instead of
    Hoàng/Vũ (from Huế southward)."""
    t = _names()
    n = male.size
    family = rng.choice(len(t.family), size=n, p=t.family_p)
    sizes = households.sizes
    head = np.repeat(np.cumsum(sizes) - sizes, sizes)
    family = np.where(households.kin, family[head], family)
    middle = np.empty(n, dtype=object)
    younger = birth_year >= 1985
    for (is_male, is_younger), (names, p) in t.middle.items():
        sel = (male == is_male) & (younger == is_younger)
        middle[sel] = np.array(names, dtype=object)[rng.choice(len(names), size=sel.sum(), p=p)]
    given = np.empty(n, dtype=object)
    for is_male, names in t.given.items():
        sel = male == is_male
        given[sel] = np.array(names, dtype=object)[rng.integers(0, len(names), sel.sum())]
    spelled = np.array(t.family_south if south else t.family, dtype=object)
    return spelled[family].tolist(), middle.tolist(), given.tolist()


@dataclass(frozen=True, slots=True)
class Scrambler:
    """A seeded bijection of 0..modulus-1 (affine; `modulus` a power of 10 up to 10**9): distinct
    indices below `modulus` give distinct numbers that look random."""

    modulus: int
    a: int
    b: int

    @classmethod
    def draw(cls, rng: np.random.Generator, modulus: int) -> Scrambler:
        a = int(rng.integers(1, modulus // 10)) * 10 + int(rng.choice([1, 3, 7, 9]))  # coprime
        return cls(modulus, a, int(rng.integers(0, modulus)))

    def __call__(self, index: np.ndarray) -> np.ndarray:
        m = self.modulus
        return (index.astype(np.int64) % m * self.a + self.b) % m  # < 10**18: no overflow


def cccd_numbers(
    birth_province: np.ndarray, male: np.ndarray, birth_year: np.ndarray, serial: np.ndarray
) -> list[str]:
    """12-digit citizen identity numbers (Thông tư 59/2021/TT-BCA, Điều 7): 3-digit birth
    province code, century/sex digit (0/1 male/female born 1900-1999, 2/3 born 2000-2099),
    last 2 digits of the birth year, 6-digit serial (`serial` < 10**6)."""
    century_sex = np.where(birth_year >= 2000, 2, 0) + np.where(male, 0, 1)
    number = (birth_province * 10 + century_sex) * 10**8 + birth_year % 100 * 10**6 + serial
    return [f"{v:012d}" for v in number.tolist()]


def bhyt_numbers(group: np.ndarray, province_code: str, social_number: np.ndarray) -> list[str]:
    """15-character BHYT card numbers: group + benefit level (3 chars, `BHYT_GROUPS`), 2-digit
    province code, 10-digit social-insurance number (mã số BHXH, `social_number` < 10**10).
    People with `group == UNINSURED` get an empty string."""
    groups = [*BHYT_GROUPS, ""]
    return [
        f"{groups[g]}{province_code}{s:010d}" if g >= 0 else ""
        for g, s in zip(group.tolist(), social_number.tolist(), strict=True)
    ]


def bhyt_groups(
    rng: np.random.Generator,
    age: np.ndarray,
    male: np.ndarray,
    poor: np.ndarray,
    urban: np.ndarray,
) -> np.ndarray:
    """BHYT group index (`BHYT_GROUPS`) or `UNINSURED` for each person.

    Children under 6 TE; pupils HS; some 18-22 students SV; poor households HN; pensioners
    (men 60+, women 55+; ~35%, more in towns) HT; 80+ without pension BT (social allowance);
    working age: employees DN (~30%, ~45% in wards), household scheme GD, ~12% uninsured. Overall
    coverage lands near the 92% of 2023 (BHXH Việt Nam annual report).
    """
    u = rng.random((3, age.size))
    retired_age = np.where(male, 60, 55)
    group = np.where(u[0] < np.where(urban, 0.45, 0.3), DN, GD)
    group = np.where(u[1] < 0.12, UNINSURED, group)
    group = np.where((age >= 18) & (age < 23) & (u[0] < 0.3), SV, group)
    group = np.where(age >= retired_age, np.where(age >= 80, BT, GD), group)
    group = np.where((age >= retired_age) & (u[2] < np.where(urban, 0.5, 0.3)), HT, group)
    group = np.where(poor & (age >= 6), HN, group)
    group = np.where(age < 18, HS, group)
    return np.where(age < 6, TE, group)


def phone_numbers(rng: np.random.Generator, n: int) -> list[str]:
    """10-digit Vietnamese mobile numbers ("0" + 2-digit network prefix + 7 digits)."""
    prefixes, weights = [], []
    for codes, share in _MOBILE_PREFIXES:
        split = codes.split()
        prefixes += split
        weights += [share / len(split)] * len(split)
    p = np.array(weights) / sum(weights)
    prefix = np.array(prefixes, dtype=object)[rng.choice(len(prefixes), size=n, p=p)]
    rest = rng.integers(0, 10**7, n)
    return [f"0{a}{b:07d}" for a, b in zip(prefix.tolist(), rest.tolist(), strict=True)]
