"""The synthetic province's BHYT cards and claimable visits: in the generated resources, and a
month of them read back through `claims.records`."""

from collections import Counter, defaultdict
from datetime import date

import pytest

from songkhoe.claims.claimable import not_claimable
from songkhoe.claims.coverage import coverage_initial_facility
from songkhoe.claims.providers import synthetic_code
from songkhoe.claims.records import iter_visits
from songkhoe.claims.visit import Purpose
from songkhoe.db.tables import metadata
from songkhoe.fhir.store import ResourceStore
from songkhoe.fhir.systems import BHYT
from songkhoe.synth.insurance import EXPIRED_SHARE
from songkhoe.synth.population import generate
from songkhoe.synth.service import populate

AS_OF = date(2026, 6, 30)
PROVINCE = "12"  # Lai Châu: 38 communes


@pytest.fixture(scope="module")
def resources() -> dict[str, list[dict]]:
    by_type: dict[str, list[dict]] = defaultdict(list)
    for batch in generate(province_code="24", people=6000, seed=4, as_of=AS_OF):
        for resource in batch:
            by_type[resource["resourceType"]].append(resource)
    return by_type


def test_insured_people_hold_a_card_a_year_registered_at_their_station(resources):
    patients = {p["id"]: p for p in resources["Patient"]}
    years: dict[str, set[int]] = defaultdict(set)
    for coverage in resources["Coverage"]:
        who = patients[coverage["beneficiary"]["reference"][8:]]
        (card,) = [i["value"] for i in who["identifier"] if i["system"] == BHYT]
        assert coverage["subscriberId"] == card
        station = who["managingOrganization"]["reference"].removeprefix("Organization/")
        assert coverage_initial_facility(coverage) == synthetic_code(station)
        start, end = coverage["period"]["start"], coverage["period"]["end"]
        assert start[4:] == "-01-01" and end[4:] == "-12-31" and start[:4] == end[:4]
        years[who["id"]].add(int(start[:4]))
    insured = [p for p in patients.values() if any(i["system"] == BHYT for i in p["identifier"])]
    assert 0.85 * len(patients) < len(insured) < len(patients)  # some have no card at all
    assert set(years) == {p["id"] for p in insured}
    assert all(2025 in held for held in years.values())
    expired = sum(held == {2025} for held in years.values()) / len(years)
    assert 0.5 * EXPIRED_SHARE < expired < 2 * EXPIRED_SHARE


def test_follow_ups_are_charged_and_dispense_what_was_prescribed(resources):
    follow_ups = {e["id"]: e for e in resources["Encounter"] if "participant" in e}
    assert follow_ups and all(e["serviceProvider"]["reference"].startswith("Organization/tyt-")
                              for e in follow_ups.values())  # fmt: skip
    charges: dict[str, list[dict]] = defaultdict(list)
    for charge in resources["ChargeItem"]:
        charges[charge["context"]["reference"][10:]].append(charge)
    assert set(charges) == set(follow_ups)  # every follow-up pays its consultation
    glucose = {o["id"]: o for o in resources["Observation"] if o["code"]["coding"][0]["code"]
               == "14771-0"}  # fmt: skip
    tested = 0
    for encounter_id, items in charges.items():
        codes = sorted(c["code"]["coding"][0]["code"] for c in items)
        assert codes in (["02.03"], ["02.03", "23.0075.1494"])
        for item in items:
            for link in item.get("service", ()):
                result = glucose[link["reference"][12:]]
                assert result["encounter"]["reference"] == f"Encounter/{encounter_id}"
                tested += 1
    assert 0 < tested < len(follow_ups)
    requests = {r["id"]: r for r in resources["MedicationRequest"]}
    for dispense in resources["MedicationDispense"]:
        (prescription,) = dispense["authorizingPrescription"]
        request = requests[prescription["reference"][18:]]
        visit = follow_ups[dispense["context"]["reference"][10:]]
        assert request["subject"] == visit["subject"]
        assert request["authoredOn"] <= visit["period"]["start"][:10]
        assert dispense["daysSupply"]["value"] == 30
        # 30 days of one tablet a day, of two (enalapril, metformin), or one inhaler
        assert dispense["quantity"]["value"] in (30, 60, 1)
    dispensed = {d["context"]["reference"][10:] for d in resources["MedicationDispense"]}
    assert len(dispensed) > 0.9 * len(follow_ups)
    assert resources["ServiceRequest"] and resources["Appointment"]
    assert len(resources["ServiceRequest"]) < len(resources["Appointment"]) < len(follow_ups)


@pytest.fixture(scope="module")
def province(migrated_engine) -> ResourceStore:
    with migrated_engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    store = ResourceStore(migrated_engine)
    populate(store=store, province_code=PROVINCE, people=2000, seed=11, as_of=AS_OF)
    return store


def test_a_month_has_claimable_visits_with_drugs_and_fees(province):
    visits = list(iter_visits(province, province=PROVINCE, start=date(2026, 6, 1),
                              end=date(2026, 6, 30)))  # fmt: skip
    treatment = [v for v in visits if v.purpose is Purpose.TREATMENT]
    assert len(treatment) > 20 and any(v.purpose is Purpose.CHECKUP for v in visits)
    for visit in treatment:
        assert visit.facility.province_code == PROVINCE and visit.facility.code[:2] == PROVINCE
        (fee,) = [s for s in visit.services if s.code == "02.03"]
        # the commune station's 2025 placeholder row: 30 100 đ (claims/data/catalogue)
        assert fee.insurance_price == 30100 and fee.quantity == 1
        assert visit.main_diagnosis is not None and visit.main_diagnosis.code in ("I10", "E11")
        assert all(d.quantity > 0 and d.unit_price > 0 for d in visit.drugs)
    reasons = Counter(not_claimable(v) for v in treatment)
    claimable = [v for v in treatment if not_claimable(v) is None]
    assert len(claimable) > 0.6 * len(treatment)
    assert any(v.drugs for v in claimable)
    no_card = [reason for reason in reasons if reason and "no BHYT card in force" in reason]
    assert no_card  # the uninsured, and those whose card expired: the export skips them
    assert all(v.card is not None and v.card.initial_facility == v.facility.code
               for v in claimable)  # fmt: skip
