"""Census age structure, households, names and identity numbers."""

import re

import numpy as np
import pytest

from songkhoe.synth import demography as d


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(2019)


def test_census_table_keeps_the_published_totals():
    male, female = d.CENSUS_2019_MALE_PCT, d.CENSUS_2019_FEMALE_PCT
    assert male.sum() == pytest.approx(49.8) and female.sum() == pytest.approx(50.2)
    assert (male[:3] + female[:3]).sum() == pytest.approx(24.3)
    assert (male[13:] + female[13:]).sum() == pytest.approx(7.7)


def test_sampled_ages_follow_the_census(rng):
    age, male = d.sample_age_sex(rng, 100_000)
    assert age.min() >= 0 and age.max() <= 100
    share = np.histogram(age, bins=np.r_[d.AGE_GROUP_START, 101])[0] / age.size
    expected = (d.CENSUS_2019_MALE_PCT + d.CENSUS_2019_FEMALE_PCT) / 100
    assert np.abs(share - expected).max() < 0.005
    assert abs(male.mean() - 0.498) < 0.01


def test_households_are_plausible(rng):
    age, male = d.sample_age_sex(rng, 5000)
    h = d.assemble_households(rng, age, male)
    assert sorted(h.order.tolist()) == list(range(5000))
    assert h.sizes.sum() == 5000 and h.sizes.min() >= 1 and h.sizes.max() <= d.MAX_HOUSEHOLD
    assert 3.0 < h.sizes.mean() < 4.0
    starts = np.cumsum(h.sizes) - h.sizes
    head_age = age[h.order][starts]
    assert (head_age >= 18).mean() > 0.98
    assert not h.kin[starts].any()
    minors = np.flatnonzero(age[h.order] < 18)
    household = np.repeat(np.arange(h.sizes.size), h.sizes)
    oldest = np.maximum.reduceat(age[h.order], starts)
    gap = oldest[household[minors]] - age[h.order][minors]
    assert np.median(gap) > 20


def test_kin_share_the_family_name_of_the_head(rng):
    age, male = d.sample_age_sex(rng, 3000)
    h = d.assemble_households(rng, age, male)
    family, middle, given = d.sample_names(rng, male[h.order], 2026 - age[h.order].astype(int),
                                           h, south=True)  # fmt: skip
    starts = np.repeat(np.cumsum(h.sizes) - h.sizes, h.sizes)
    assert all(family[i] == family[s] for i, s in enumerate(starts) if h.kin[i])
    assert "Hoàng" not in family and "Huỳnh" in family
    women = [m for m, is_male in zip(middle, male[h.order], strict=True) if not is_male]
    assert "Văn" not in women and "Thị" in women
    assert all(given)


def test_cccd_layout():
    numbers = d.cccd_numbers(
        np.array([1, 24, 96]), np.array([True, False, False]), np.array([1958, 2003, 1999]),
        np.array([0, 123456, 999999]),
    )  # fmt: skip
    assert numbers == ["001058000000", "024303123456", "096199999999"]


def test_scrambler_is_a_bijection(rng):
    s = d.Scrambler.draw(rng, 10**4)
    assert sorted(s(np.arange(10**4)).tolist()) == list(range(10**4))


def test_bhyt_groups_and_numbers(rng):
    age = np.array([2.0, 10, 20, 40, 40, 70, 85, 30])
    male = np.array([True, False, True, True, False, True, False, True])
    poor = np.array([False] * 7 + [True])
    groups = d.bhyt_groups(rng, age, male, poor, np.zeros(8, dtype=bool))
    assert groups[0] == d.TE and groups[1] == d.HS and groups[7] == d.HN
    assert groups[6] in (d.BT, d.HT)
    cards = d.bhyt_numbers(groups, "24", np.arange(8) + 2400000000)
    assert all(re.fullmatch(r"[A-Z]{2}[1-5]24\d{10}", c) for c in cards if c)
    assert cards[0] == "TE1242400000000"


def test_phone_numbers(rng):
    phones = d.phone_numbers(rng, 1000)
    assert all(re.fullmatch(r"0(3[2-9]|5[2689]|7[06-9]|8[1-689]|9[0-46-9])\d{7}", p)
               for p in phones)  # fmt: skip
    assert len({p[:3] for p in phones}) > 20
