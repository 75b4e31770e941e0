"""The indicators equal a brute-force recomputation from the raw FHIR resources, following the
Simple.org definitions written out in plain Python (songkhoe.ncd.indicators docstring)."""

from collections import Counter, defaultdict
from datetime import date

import pytest

from songkhoe.ncd.indicators import InvalidMonth, area_counts, indicators, parse_month

HTN, DM = {"I10", "I11", "I12", "I13", "I15"}, {"E10", "E11", "E12", "E13", "E14"}


def month_number(when) -> int:
    return when.year * 12 + when.month - 1


def brute_force(raw, month: str, communes: set[str]) -> Counter:
    """The indicator counts of these communes' people, resource by resource."""
    m = int(month[:4]) * 12 + int(month[5:]) - 1
    people = {p["id"]: p for p in raw["Patient"] if raw.commune_of(p) in communes}
    since: dict[str, dict[str, int]] = {"htn": {}, "dm": {}}
    for c in raw["Condition"]:
        group = "htn" if raw.code(c)[:3] in HTN else "dm" if raw.code(c)[:3] in DM else None
        if group and "active" in raw.codes(c["clinicalStatus"]):
            when = month_number(raw.local(c["onsetDateTime"]))
            pid = raw.subject(c)
            since[group][pid] = min(since[group].get(pid, when), when)
    visits, checkups = defaultdict(set), defaultdict(set)
    readings: dict[str, dict] = {"htn": defaultdict(list), "dm": defaultdict(list)}
    for e in raw["Encounter"]:
        when = month_number(raw.local(e["period"]["start"]))
        visits[raw.subject(e)].add(when)
        if "185349003" in raw.codes(e["type"][0]):
            checkups[raw.subject(e)].add(when)
    for o in raw["Observation"]:
        at = raw.local(o["effectiveDateTime"])
        if raw.code(o) == "85354-9":
            sbp, dbp = raw.blood_pressure(o)
            readings["htn"][raw.subject(o)].append((at, sbp < 140 and dbp < 90, None))
        elif raw.code(o) == "14771-0":
            mg_dl = o["valueQuantity"]["value"] * 18.016
            readings["dm"][raw.subject(o)].append((at, mg_dl < 126, mg_dl))
        else:
            continue
        visits[raw.subject(o)].add(month_number(at))
    counts: Counter = Counter()
    for pid, person in people.items():
        born = date.fromisoformat(person["birthDate"])
        eighteen = date(born.year + 18, born.month, min(born.day, 28 if born.month == 2 else 31))
        if month_number(eighteen) <= m:
            counts["adults"] += 1
            counts["checkup_12m"] += any(m - 12 < c <= m for c in checkups[pid])
        past = [v for v in visits[pid] if v <= m]
        last_visit = max(past) if past else None
        for group in ("htn", "dm"):
            start = since[group].get(pid)
            if start is None or start > m:
                continue
            counts[f"{group}_registered"] += 1
            recent = last_visit is not None and m - last_visit < 12
            if not (m - start < 12 or recent):
                counts[f"{group}_lost_to_follow_up"] += 1
                continue
            counts[f"{group}_under_care"] += 1
            if m - start < 3:
                continue
            window = [r for r in readings[group][pid] if m - 3 < month_number(r[0]) <= m]
            if window:
                _, controlled, _ = max(window, key=lambda r: r[0])
                counts[f"{group}_{'controlled' if controlled else 'other'}"] += 1
            elif last_visit is None or m - last_visit >= 3:
                counts[f"{group}_missed_visit"] += 1
    return counts


CHECKED = {
    "adults": "adults",
    "checkup_12m": "checkup_12m",
    "htn_registered": "htn_registered",
    "htn_under_care": "htn_under_care",
    "htn_lost_to_follow_up": "htn_lost_to_follow_up",
    "htn_controlled": "htn_controlled",
    "htn_uncontrolled": "htn_other",
    "htn_missed_visit": "htn_missed_visit",
    "dm_registered": "dm_registered",
    "dm_under_care": "dm_under_care",
    "dm_bs_below_126": "dm_controlled",
    "dm_missed_visit": "dm_missed_visit",
}


@pytest.mark.parametrize("month", ["2026-06", "2025-09"])
def test_indicators_equal_a_brute_force_count(province, raw, month):
    rows, as_of = indicators(
        province.engine, place=("province", "12"), month=month, by_commune=True
    )
    assert as_of is not None
    by_place = {r["place_code"]: r for r in rows}
    biggest = Counter(raw.commune_of(p) for p in raw["Patient"]).most_common(3)
    places = {"12": {r["place_code"] for r in rows[1:]}} | {c: {c} for c, _ in biggest}
    for code, communes in places.items():
        expected = brute_force(raw, month, communes)
        got = {name: by_place[code][name] for name in CHECKED}
        assert got == {name: expected[source] for name, source in CHECKED.items()}, code
    total = by_place["12"]
    assert total["htn_registered"] > 30 and total["htn_controlled"] > 5
    assert total["dm_registered"] > 5 and total["adults"] > 400


def test_the_outcomes_split_the_denominator_and_communes_add_up(province):
    rows, _ = indicators(
        province.engine, place=("province", "12"), month="2026-06", by_commune=True
    )
    for row in rows:
        assert row["htn_denominator"] == sum(
            row[f"htn_{k}"] for k in ("controlled", "uncontrolled", "visit_no_bp", "missed_visit")
        )
        assert row["dm_denominator"] == sum(
            row[f"dm_{k}"]
            for k in ("bs_below_126", "bs_126_199", "bs_200_plus", "visit_no_bs", "missed_visit")
        )
    for name in ("adults", "htn_registered", "dm_missed_visit"):
        assert rows[0][name] == sum(r[name] for r in rows[1:])
    one = rows[1]
    alone, _ = indicators(province.engine, place=("commune", one["place_code"]), month="2026-06")
    assert alone == [one]


@pytest.mark.parametrize("text", ["2026-13", "2026-6", "June", "2026-00", "２０２６-０６"])
def test_a_bad_month_is_named(text):
    with pytest.raises(InvalidMonth, match="YYYY-MM"):
        parse_month(text)


SQL_PAIRS = {  # rate of area_counts: (numerator, denominator) of the indicator rows
    "htn_prevalence": ("htn_registered", "adults"),
    "htn_control": ("htn_controlled", "htn_denominator"),
    "checkup_coverage": ("checkup_12m", "adults"),
}


@pytest.mark.parametrize("month", ["2026-06", "2025-09", "2024-01"])
def test_the_maps_sql_counts_equal_the_indicators_of_each_commune(province, month):
    rows, _ = indicators(province.engine, place=("province", "12"), month=month, by_commune=True)
    codes = [r["place_code"] for r in rows[1:]]
    with province.engine.connect() as conn:
        for rate, (numerator, denominator) in SQL_PAIRS.items():
            got = area_counts(conn, codes, month, rate)
            expected = {r["place_code"]: (r[numerator], r[denominator]) for r in rows[1:]}
            assert {c: got.get(c, (0, 0)) for c in codes} == expected, rate
            assert sum(n for n, _ in got.values()) > 5, rate


@pytest.mark.parametrize("month", ["2026-06", "2025-03"])
def test_the_maps_high_risk_share_counts_each_persons_latest_assessment(province, raw, month):
    m = int(month[:4]) * 12 + int(month[5:]) - 1
    expected: Counter = Counter()
    alive = {
        p["id"]: raw.commune_of(p)
        for p in raw["Patient"]
        if not (p.get("deceasedBoolean") or p.get("deceasedDateTime"))
    }
    latest: dict[str, tuple] = {}
    for r in raw["RiskAssessment"]:
        pid, at = raw.subject(r), raw.local(r["occurrenceDateTime"])
        if pid in alive and month_number(at) <= m:
            band = r["prediction"][0]["qualitativeRisk"]["coding"][0]["code"]
            latest[pid] = max(latest.get(pid, (at, band)), (at, band))
    for pid, (_, band) in latest.items():
        expected[(alive[pid], "den")] += 1
        expected[(alive[pid], "num")] += band in ("20-<30", ">=30")
    codes = sorted(set(alive.values()))
    with province.engine.connect() as conn:
        got = area_counts(conn, codes, month, "high_cvd_risk")
    assert got == {
        c: (expected[(c, "num")], expected[(c, "den")]) for c in codes if expected[(c, "den")]
    }
    assert sum(d for _, d in got.values()) > 50
