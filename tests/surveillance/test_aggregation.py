"""ISO-week aggregation per commune, province and disease, counted by brute force against
hand-made case reports on each backend; the CSV it writes is `detect`'s input; synthetic cases."""

from datetime import date, timedelta

import numpy as np
import pytest

from songkhoe.cli import main
from songkhoe.fhir.systems import CONDITION_VERIFICATION
from songkhoe.places.catalog import communes
from songkhoe.surveillance import aggregation as agg
from songkhoe.surveillance import service
from songkhoe.surveillance.cases import CaseInput, case_condition
from songkhoe.surveillance.diseases import DISEASES
from songkhoe.surveillance.series import read_series
from songkhoe.surveillance.synth_cases import (
    DEMO_DISEASES,
    Outbreak,
    People,
    case_resources,
    seasonal_factor,
    synthetic_counts,
)

PROVINCE = "12"
CODES = [c.code for c in communes(PROVINCE)]
A, B = CODES[:2]


def test_iso_weeks_start_on_monday():
    assert agg.week_start(date(2026, 1, 1)) == date(2025, 12, 29)  # a Thursday, in 2026-W01
    assert agg.week_label(date(2025, 12, 29)) == "2026-W01"
    assert agg.parse_week("2026-w01") == date(2025, 12, 29)
    assert agg.parse_week("2020-W53") == date(2020, 12, 28)
    assert agg.last_complete_week(date(2026, 6, 30)) == date(2026, 6, 22)
    for bad in ("2026-W54", "2026-23", "W23"):
        with pytest.raises(ValueError, match="ISO week"):
            agg.parse_week(bad)


def case(pid: str, disease: str, onset: date, where: str, refuted: bool = False) -> dict:
    d = DISEASES[disease]
    condition = case_condition(
        CaseInput(pid, d, d.icd10[0], onset, where, "suspected", None),
        commune_code=where, recorded="2026-01-01T00:00:00Z",
    )  # fmt: skip
    if refuted:
        condition["verificationStatus"] = {"coding": [{"system": CONDITION_VERIFICATION,
                                                        "code": "refuted"}]}  # fmt: skip
    return condition


@pytest.fixture
def reported(store):
    people = [
        {"resourceType": "Patient", "id": f"p{i}",
         "managingOrganization": {"reference": f"Organization/tyt-{A if i < 3 else B}"}}
        for i in range(5)
    ]  # fmt: skip
    cases = [
        case("p0", "dengue", date(2026, 3, 2), A),  # Monday of 2026-W10
        case("p1", "dengue", date(2026, 3, 8), A),  # Sunday of 2026-W10
        case("p2", "dengue", date(2026, 3, 9), B),  # 2026-W11
        case("p3", "dengue", date(2026, 3, 24), B),  # 2026-W13; W12 has none
        case("p4", "dengue", date(2026, 3, 10), B, refuted=True),
        case("p4", "hfmd", date(2026, 3, 3), A),
        case("p0", "dengue", date(2026, 3, 3), "00004"),  # another province
    ]
    store.create_many(people + cases)
    return store


def test_counts_per_commune_with_explicit_zeros(reported):
    series = agg.weekly_series(
        reported.engine, province_code=PROVINCE, disease="dengue", end=date(2026, 3, 30)
    )
    assert series.dates[0] == np.datetime64("2026-03-02")  # the first case anywhere
    assert series.dates.astype(str).tolist() == [
        "2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30"]  # fmt: skip
    assert series.units == tuple(CODES)
    expected = np.zeros((len(CODES), 5))
    expected[CODES.index(A)] = [2, 0, 0, 0, 0]
    expected[CODES.index(B)] = [0, 1, 0, 1, 0]
    np.testing.assert_array_equal(series.counts, expected)
    population = series.population[:, 0]
    assert population[CODES.index(A)] == 3 and population[CODES.index(B)] == 2
    assert population.sum() == 5
    whole = agg.weekly_series(reported.engine, province_code=PROVINCE, disease="dengue",
                              end=date(2026, 3, 30), level="province")  # fmt: skip
    assert whole.units == (PROVINCE,) and whole.counts.tolist() == [[2, 1, 0, 1, 0]]
    assert whole.population[0, 0] == 5


def test_incidence_by_area(reported):
    rates = agg.incidence_by_area(reported.engine, areas={A: [A], B: [B], "all": CODES,
                                  CODES[5]: [CODES[5]]}, disease="dengue",
                                  week=date(2026, 3, 4))  # fmt: skip
    assert rates == {A: round(1e5 * 2 / 3, 1), B: 0.0, "all": 1e5 * 2 / 5, CODES[5]: None}


def test_the_aggregate_command_writes_detect_input(reported, tmp_path, monkeypatch):
    monkeypatch.setenv("SONGKHOE_DATABASE_URL", reported.engine.url.render_as_string(False))
    out = tmp_path / "weekly.csv"
    with pytest.raises(SystemExit) as done:
        main(["surveillance", "aggregate", "--province", PROVINCE, "--disease", "dengue",
              "--from", "2026-W09", "--to", "2026-W13", "--output", str(out)])  # fmt: skip
    assert done.value.code == 0
    assert out.read_text().splitlines()[0] == "date,count,unit"  # communes with nobody
    series = read_series(out)
    assert series.units == tuple(CODES) and series.dates[0] == np.datetime64("2026-02-23")
    assert series.counts[CODES.index(A)].tolist() == [0, 2, 0, 0, 0]
    with pytest.raises(SystemExit) as bad:
        main(["surveillance", "aggregate", "--province", PROVINCE, "--disease", "dengue",
              "--from", "2026-W13", "--to", "2026-W09", "--output", str(out)])  # fmt: skip
    assert bad.value.code == 2


def test_no_case_yet_is_a_clear_error(store):
    with pytest.raises(agg.AggregationError, match="no case report"):
        agg.weekly_series(store.engine, province_code=PROVINCE, disease="dengue")


def test_synthetic_counts_follow_the_seasons_and_hold_the_outbreak():
    population = np.full(len(CODES), 1000.0)
    start, end = date(2015, 1, 5), date(2024, 12, 30)
    plain = synthetic_counts(commune_codes=CODES, population=population, start=start, end=end,
                             seed=3)  # fmt: skip
    week = date(2024, 6, 3)
    hit = synthetic_counts(commune_codes=CODES, population=population, start=start, end=end,
                           seed=3, outbreak=Outbreak(B, "measles", week, cases=9))  # fmt: skip
    diff = hit.counts - plain.counts
    d, c = hit.diseases.index("measles"), CODES.index(B)
    w = int(np.flatnonzero(hit.weeks == np.datetime64(week))[0])
    assert diff[d, c, w] == 9 and diff.sum() == 9
    ili = DEMO_DISEASES["ili"]
    total = plain.counts[plain.diseases.index("ili")].sum(axis=0)
    expected = ili.rate / 1000 * population.sum() * seasonal_factor(plain.weeks, ili)
    assert abs(total.mean() / expected.mean() - 1) < 0.15  # commune factors have mean 1
    peak = np.array([x.isocalendar()[1] for x in plain.weeks.astype(object)])
    assert total[np.abs(peak - ili.peak_week) < 4].mean() > 2 * total[np.abs(peak - 32) < 4].mean()
    assert seasonal_factor(np.arange(np.datetime64("2021-01-04"), np.datetime64("2021-12-27"),
                                     7), ili).mean() == pytest.approx(1, abs=0.02)  # fmt: skip
    assert date(2015, 1, 5) + timedelta(weeks=int(plain.weeks.size) - 1) == end


def test_a_datetime_onset_counts_on_its_vietnamese_date(store):
    store.create_many([{"resourceType": "Patient", "id": "p0"}])
    late_sunday_utc = case("p0", "dengue", date(2026, 3, 15), A)  # Sunday of 2026-W11
    late_sunday_utc["onsetDateTime"] = "2026-03-15T20:00:00Z"  # Monday 03:00 in Hà Nội: W12
    hanoi_sunday = case("p0", "dengue", date(2026, 3, 15), A)
    hanoi_sunday["onsetDateTime"] = "2026-03-15T23:30:00+07:00"  # still Sunday there: W11
    store.create_many([late_sunday_utc, hanoi_sunday])
    series = agg.weekly_series(store.engine, province_code=PROVINCE, disease="dengue",
                               end=date(2026, 3, 16), level="province")  # fmt: skip
    assert series.dates.astype(str).tolist() == ["2026-03-09", "2026-03-16"]
    assert series.counts.tolist() == [[1, 1]]


def test_reports_that_cannot_be_placed_are_counted_and_reported(
    reported, tmp_path, monkeypatch, capsys
):
    no_commune = case("p0", "dengue", date(2026, 3, 4), A)
    del no_commune["extension"]
    no_onset = case("p1", "dengue", date(2026, 3, 4), A)
    del no_onset["onsetDateTime"]
    month_only = case("p2", "hfmd", date(2026, 3, 4), A)
    month_only["onsetDateTime"] = "2026-03"
    unknown_commune = case("p3", "dengue", date(2026, 3, 4), "99999")
    no_disease_code = case("p4", "dengue", date(2026, 3, 4), B)
    no_disease_code["code"]["coding"] = no_disease_code["code"]["coding"][:1]  # ICD-10 only
    refuted = case("p4", "dengue", date(2026, 3, 4), None, refuted=True)
    del refuted["extension"]
    reported.create_many([no_commune, no_onset, month_only, unknown_commune, no_disease_code,
                          refuted])  # fmt: skip
    cases = agg.read_cases(reported.engine)
    assert cases.unplaced == 5 and len(cases) == 6  # the 6 placed ones of `reported`
    series = agg.weekly_series(reported.engine, province_code=PROVINCE, disease="dengue",
                               end=date(2026, 3, 30))  # fmt: skip
    assert series.counts.sum() == 4  # unchanged
    report = service.run_weekly(reported, week=date(2026, 3, 30), method="ears-c1")
    assert report.unplaced == 5 and "5 case reports could not be placed" in report.summary()
    monkeypatch.setenv("SONGKHOE_DATABASE_URL", reported.engine.url.render_as_string(False))
    out = tmp_path / "weekly.csv"
    with pytest.raises(SystemExit) as done:
        main(["surveillance", "aggregate", "--province", PROVINCE, "--disease", "dengue",
              "--to", "2026-W13", "--output", str(out)])  # fmt: skip
    assert done.value.code == 0
    assert "note: 5 case reports could not be placed" in capsys.readouterr().err


def test_synthetic_case_ids_differ_between_provinces_with_the_same_seed():
    made = {}
    for code in (PROVINCE, "24"):
        codes = [c.code for c in communes(code)][:3]
        synthetic = synthetic_counts(
            commune_codes=codes, population=np.full(3, 2000.0), start=date(2025, 1, 6),
            end=date(2025, 3, 31), seed=1,
        )  # fmt: skip
        people = {c: People(np.array([f"{c}-p{i}" for i in range(50)]),
                            np.full(50, np.datetime64("1990-01-01"))) for c in codes}  # fmt: skip
        made[code] = case_resources(synthetic, people, province_code=code, seed=1,
                                    as_of=date(2025, 4, 6))  # fmt: skip
    ids = [{c["id"] for c in made[code]} for code in made]
    assert all(len(found) == len(made[code]) > 20 for found, code in zip(ids, made, strict=True))
    assert not ids[0] & ids[1]
    again = case_resources(synthetic, people, province_code="24", seed=1, as_of=date(2025, 4, 6))
    assert [c["id"] for c in again] == [c["id"] for c in made["24"]]  # deterministic
