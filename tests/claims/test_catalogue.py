"""The facility's price list: CSV in (errors by row), versions by date, FHIR out and back, the
store, and `songkhoe bhyt catalogue load`."""

import os
import subprocess
import sys
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from songkhoe.claims.catalogue import (
    COMMUNE_STATION,
    DISTRICT,
    DRUG,
    CatalogueError,
    ItemKind,
    catalogue_resources,
    definition_resource,
    drug_facts,
    entry_of,
    load,
    medication_resource,
    read_price_list,
    shipped,
    stored_entries,
)
from songkhoe.csv_input import CsvInputError
from songkhoe.fhir.validation import validate

HEADER = (
    "kind,code,name,unit,cost_group,hospital_price,insurance_price,service_rate,payment_rate,"
    "tender,valid_from,valid_to,source\n"
)


def write(tmp_path: Path, text: str, name: str = "list.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_price_on_a_day_before_and_after_a_version_change():
    # commune station consultation: 27 500 đ under TT 13/2019 until 16/11/2023, 30 100 đ under
    # TT 22/2023 from 17/11/2023 (the shipped rows)
    station = shipped(COMMUNE_STATION)
    before = station.price(ItemKind.SERVICE, "02.03", date(2023, 11, 16))
    after = station.price(ItemKind.SERVICE, "02.03", date(2023, 11, 17))
    assert (before.insurance_price, before.version) == (Decimal(27500), "2019-08-20")
    assert (after.insurance_price, after.version) == (Decimal(30100), "2023-11-17")
    assert before.canonical.endswith("/commune-station/service/02.03|2019-08-20")
    with pytest.raises(LookupError, match="no price on 2019-01-14"):
        station.price(ItemKind.SERVICE, "02.03", date(2019, 1, 14))
    with pytest.raises(LookupError, match="no drug"):
        station.price(ItemKind.DRUG, "NOPE", date(2024, 1, 1))


def test_shipped_lists_cite_a_source_and_flag_what_is_not_verified():
    for name in (COMMUNE_STATION, DISTRICT):
        entries = shipped(name).entries
        assert entries and all(e.source for e in entries)
        drugs = [e for e in entries if e.kind is ItemKind.DRUG]
        # every drug code but Omeprazol's is a placeholder the source column says is one
        for entry in drugs:
            assert entry.drug is not None
            if entry.drug.bhyt_code.startswith("SK."):
                assert "PLACEHOLDER" in entry.source
            else:
                assert entry.drug.bhyt_code == "40.677" and entry.code == "OME20"
        assert {"AML5", "MTF500", "SAL100"} <= {e.code for e in drugs}
    lipids = {e.code for e in shipped(DISTRICT).entries if "Lipid panel" in e.source}
    assert lipids == {"23.0041.1506", "23.0158.1506", "23.0084.1506", "23.0112.1506"}


def test_drug_rows_take_their_facts_from_the_prescribing_catalogue():
    amlodipine = shipped(COMMUNE_STATION).price(ItemKind.DRUG, "AML5", date(2026, 3, 1))
    assert amlodipine.drug is not None
    assert (amlodipine.name, amlodipine.unit, amlodipine.drug.strength) == ("Amlodipin", "viên",
                                                                          "5 mg")  # fmt: skip
    assert (amlodipine.drug.atc, amlodipine.drug.route) == ("C08CA01", "1.01")
    assert amlodipine.insurance_price == amlodipine.hospital_price == Decimal(230)
    assert shipped(COMMUNE_STATION).drug_with_atc("C08CA01", date(2025, 3, 1)).insurance_price \
        == Decimal(250)  # fmt: skip


def test_every_resource_is_valid_r4_and_comes_back_as_it_went():
    for name in (COMMUNE_STATION, DISTRICT):
        entries = shipped(name).entries
        resources = catalogue_resources(entries)
        for resource in resources:
            validate(resource)
        medications = [r for r in resources if r["resourceType"] == "Medication"]
        assert len(medications) == len({e.code for e in entries if e.kind is ItemKind.DRUG})
        assert resources[: len(medications)] == medications  # referenced before referencing
        for entry in entries:
            # a drug's facts are its Medication's, not its price version's
            assert entry_of(definition_resource(entry)) == replace(entry, drug=None)
            if entry.drug is not None:
                assert drug_facts(medication_resource(entry)) == entry.drug


def test_rates_are_factors_and_come_back_as_percent(tmp_path):
    path = write(tmp_path, HEADER + "supply,N07.01.010,Bơm tiêm 5ml,cái,10,1500,1200,50,80,"
                 "QĐ 12/QĐ-SYT;G2;N1;2025,2025-01-01,,test\n")  # fmt: skip
    (entry,) = read_price_list(path, "services", "x")
    resource = definition_resource(entry)
    factors = {c["code"]["coding"][0]["code"]: c.get("factor")
               for c in resource["propertyGroup"][0]["priceComponent"]}  # fmt: skip
    assert factors == {"bhyt": None, "hospital": None, "payment-rate": 0.8, "service-rate": 0.5}
    back = entry_of(resource)
    assert (back.kind, back.service_rate, back.payment_rate) == (ItemKind.SUPPLY, 50, 80)
    assert back.tender == "QĐ 12/QĐ-SYT;G2;N1;2025"


def test_semicolon_file_with_decimal_commas_and_default_rate(tmp_path):
    text = HEADER.replace(",", ";") + "service;X1;Test;lần;1;1234,5;1000;;;;2024-01-01;;s\n"
    (entry,) = read_price_list(write(tmp_path, text), "services", "x")
    assert entry.hospital_price == Decimal("1234.5")
    assert (entry.payment_rate, entry.service_rate) == (Decimal(100), None)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("service,X,Test,lần,1,10,10,,,,2024-13-01,,s", "row 2, column valid_from: '2024-13-01'"),
        ("service,X,Test,lần,1,ten,10,,,,2024-01-01,,s", "row 2, column hospital_price: 'ten'"),
        ("service,X,Test,lần,1,-5,10,,,,2024-01-01,,s", "row 2, column hospital_price: '-5'"),
        ("service,X,Test,lần,1,10,10,,,,2024-02-01,2024-01-01,s", "row 2, column valid_to"),
        ("drug,X,Test,lần,1,10,10,,,,2024-01-01,,s", "row 2, column kind: 'drug'"),
        ("service,X,Test,lần,1,10,,,,,2024-01-01,,s", "row 2, column insurance_price: empty"),
        ("service,X,Test,lần,1,10,10,,,,2024-01-01,,", "row 2, column source: empty"),
        ("service,X,Test,lần,1,10,10,,,,2024-01-01,,s,extra", "row 2: 14 cells"),
    ],
)
def test_bad_rows_are_named_by_row_and_column(tmp_path, row, message):
    with pytest.raises(CatalogueError, match=message.replace("(", r"\(")):
        read_price_list(write(tmp_path, HEADER + row + "\n"), "services", "x")


def test_overlapping_versions_are_refused_naming_both_rows(tmp_path):
    rows = (
        "service,X,Test,lần,1,10,10,,,,2024-01-01,2024-06-30,s\n"
        "service,Y,Other,lần,1,10,10,,,,2024-01-01,,s\n"
        "service,X,Test,lần,1,12,12,,,,2024-06-30,,s\n"
    )
    with pytest.raises(CatalogueError, match=r"service 'X': row 2 .*overlaps row 4"):
        read_price_list(write(tmp_path, HEADER + rows), "services", "x")
    # the same code as a supply is another item
    ok = rows.replace("service,X,Test,lần,1,12", "supply,X,Test,lần,1,12")
    assert len(read_price_list(write(tmp_path, HEADER + ok), "services", "x")) == 3


def test_missing_columns_unknown_drugs_and_names(tmp_path):
    with pytest.raises(CatalogueError, match="missing column.*insurance_price"):
        read_price_list(write(tmp_path, "code,name,unit,cost_group,hospital_price\nX,a,b,1,2\n"),
                        "services", "x")  # fmt: skip
    drugs = "code,bhyt_code,route_code,price,valid_from,source\n"
    with pytest.raises(CatalogueError, match="row 2, column name: empty, and 'ZZZ9' is not"):
        read_price_list(write(tmp_path, drugs + "ZZZ9,,1.01,100,2024-01-01,s\n"), "drugs", "x")
    full = "code,bhyt_code,route_code,price,valid_from,source,name,strength,form,unit\n"
    (own,) = read_price_list(
        write(tmp_path, full + "ZZZ9,,1.01,100,2024-01-01,s,Thuốc Z,9 mg,viên nén,viên\n"),
        "drugs", "x",
    )  # fmt: skip
    assert own.drug is not None and (own.drug.atc, own.drug.bhyt_code) == (None, "")
    assert DRUG not in str(medication_resource(own))  # no MA_THUOC: not coded, not invented
    with pytest.raises(CatalogueError, match="catalogue name"):
        read_price_list(write(tmp_path, HEADER), "services", "bad name")
    with pytest.raises(CatalogueError, match="kind must be"):
        read_price_list(write(tmp_path, HEADER), "supplies", "x")
    with pytest.raises(CsvInputError, match="not UTF-8"):
        path = tmp_path / "latin.csv"
        path.write_bytes(HEADER.encode() + b"service,X,Kh\xe1m,l\xe2n\n")  # Windows-1258
        read_price_list(path, "services", "x")


def test_load_creates_updates_and_refuses_overlaps_with_the_store(store, tmp_path):
    first = HEADER + "service,X,Test,lần,1,10,10,,,,2024-01-01,,s\n"
    entries = read_price_list(write(tmp_path, first), "services", "mine")
    assert load(store, entries, "first").created == 1
    assert load(store, entries, "again").unchanged == 1
    # closing the open version and adding the next one: one update, one creation
    second = HEADER + (
        "service,X,Test,lần,1,10,10,,,,2024-01-01,2024-12-31,s\n"
        "service,X,Test,lần,1,11,11,,,,2025-01-01,,s\n"
    )
    report = load(store, read_price_list(write(tmp_path, second), "services", "mine"), "second")
    assert (report.created, report.updated, report.unchanged) == (1, 1, 0)
    assert sorted(e.version for e in stored_entries(store, "mine")) == ["2024-01-01", "2025-01-01"]
    # a version from mid-2025 overlaps the stored open one and is refused before any write
    clash = HEADER + "service,X,Test,lần,1,12,12,,,,2025-06-01,,s\n"
    with pytest.raises(CatalogueError, match=r"clash: service 'X': the version from 2025-01-01"):
        load(store, read_price_list(write(tmp_path, clash), "services", "mine"), "clash")
    assert len(stored_entries(store, "mine")) == 2
    assert stored_entries(store, "other") == []


def test_command_loads_a_list(tmp_path, new_database_url):
    path = write(tmp_path, HEADER + "service,X,Test,lần,1,10,10,,,,2024-01-01,,s\n", "tyt.csv")
    with new_database_url("sqlite") as url:
        env = {**os.environ, "SONGKHOE_DATABASE_URL": url}

        def run(*args: str) -> subprocess.CompletedProcess:
            command = [sys.executable, "-m", "songkhoe", "bhyt", "catalogue", "load", *args]
            return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)

        done = run(str(path), "--kind", "services")
        assert done.returncode == 0, done.stderr
        assert "tyt: 1 giá / prices; 1 tạo mới / created" in done.stdout
        bad = write(tmp_path, HEADER + "service,X,Test,lần,1,10,10,,,,2024-01-01,2023-01-01,s\n")
        failed = run(str(bad), "--kind", "services", "--catalogue", "tyt")
        assert failed.returncode == 2 and "row 2, column valid_to" in failed.stderr
