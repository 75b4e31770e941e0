"""Pure parts of the web app: CCCD rules against the synthetic generator, what a search for a
person looks for, the map's boundary simplification and classes, form checks, SVG charts."""

from datetime import date

import numpy as np
import orjson

from songkhoe.clinical.identity import cccd_problem
from songkhoe.clinical.people import person_query
from songkhoe.fhir.systems import BHYT, CCCD
from songkhoe.places.catalog import communes, provinces
from songkhoe.synth.demography import BIRTH_PROVINCE_CODES, cccd_numbers
from songkhoe.web import geo, svg
from songkhoe.web.forms import Field, check
from songkhoe.web.map_views import classes


def t(key: str) -> str:
    return key


def test_every_cccd_the_generator_makes_passes_and_altered_ones_fail():
    rng = np.random.default_rng(3)
    n = 2000
    years = rng.integers(1920, 2024, n)
    male = rng.random(n) < 0.5
    province = rng.choice(BIRTH_PROVINCE_CODES, n)
    numbers = cccd_numbers(province, male, years, rng.integers(0, 10**6, n))
    for number, year, is_male in zip(numbers, years.tolist(), male.tolist(), strict=True):
        sex = "male" if is_male else "female"
        assert cccd_problem(number, sex, date(year, 6, 1)) is None
        other = "female" if is_male else "male"
        assert cccd_problem(number, other, date(year, 6, 1)) == "cccd_sex"
        assert cccd_problem(number, sex, date(year + 100, 6, 1)) == "cccd_century"
        assert cccd_problem(number, sex, date(year - 1, 12, 31)) in ("cccd_year", "cccd_century")
    assert cccd_problem("003080123456", "male", date(1980, 1, 1)) == "cccd_province"


def test_what_a_worker_types_becomes_a_person_search():
    assert person_query("027160000001") == [("identifier", f"{CCCD}|027160000001")]
    assert person_query("0912 345 678") == [("phone", "0912345678")]
    assert person_query("gd4270000000001") == [("identifier", f"{BHYT}|GD4270000000001")]
    assert person_query(" Nguyễn  Thị Lan ") == [
        ("name", "Nguyễn"),
        ("name", "Thị"),
        ("name", "Lan"),
    ]


def test_boundaries_keep_every_area_with_closed_rings_and_stay_small():
    for p in provinces():
        shapes = orjson.loads(geo.communes_geojson(p.code))["features"]
        assert [f["properties"]["code"] for f in shapes] == [c.code for c in communes(p.code)]
        for f in shapes:
            g = f["geometry"]
            polygons = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
            for ring in (r for poly in polygons for r in poly):
                assert len(ring) >= 4 and ring[0] == ring[-1]
        assert len(geo.communes_geojson(p.code)) < 170_000
    assert len(orjson.loads(geo.provinces_geojson())["features"]) == 34


def test_simplification_keeps_the_far_corner_and_drops_near_points():
    ring = [[0, 0], [1, 0.0001], [2, 0], [2, 2], [1, 1.0], [0, 2], [0, 0]]
    kept = geo.simplify_ring(ring, 0.01, True)
    assert [1, 0.0001] not in kept and [1, 1.0] in kept and kept[0] == kept[-1]


def test_classes_split_at_quintiles_and_leave_missing_out():
    values = {str(i): float(i) for i in range(10)} | {"x": None}
    klass, edges = classes(values)
    assert "x" not in klass and klass["0"] == 0 and klass["9"] == 4
    assert edges[0] == 0 and edges[-1] == 9
    assert sorted(set(klass.values())) == [0, 1, 2, 3, 4]


def test_form_checks_match_the_html_constraints():
    sbp = Field("sbp", "sbp", "number", True, 60, 300, "1")
    assert check(sbp, "120", t) == (120.0, None)
    assert check(sbp, "", t) == (None, "form_required")
    assert check(sbp, "59", t)[1] == "form_range"
    assert check(sbp, "nan", t)[1] == "form_number"
    assert check(sbp, "120.5", t)[1] == "form_step"
    chol = Field("c", "c", "number", False, 1, 20, "0.01")
    assert check(chol, "5,25", t) == (5.25, None) and check(chol, "", t) == (None, None)
    day = Field("d", "d", "date", True, min="2000-01-01", max="2026-01-01")
    assert check(day, "2026-01-02", t)[1] == "form_date_range"
    assert check(day, "2025-02-30", t)[1] == "form_date"


def test_trend_chart_places_points_and_reference_lines():
    chart = svg.trend(
        "BP",
        [svg.Series("SBP", [(date(2025, 1, 1), 150), (date(2026, 1, 1), 130)], "s1")],
        [svg.Reference(140, "140")],
        unit="mmHg",
    )
    assert chart.count("<circle") == 2 and 'class="ref"' in chart
    assert "SBP 2025-01-01: 150 mmHg" in chart and "style=" not in chart
    assert svg.trend("x", [svg.Series("y", [], "s1")], unit="") == ""
