"""The synthetic population: determinism, referential integrity, identifiers, realism."""

import re
from collections import Counter, defaultdict
from datetime import date

import numpy as np
import pytest

from songkhoe.fhir.systems import BHYT, CCCD
from songkhoe.places.catalog import UnknownPlace
from songkhoe.synth.demography import BIRTH_PROVINCE_CODES
from songkhoe.synth.population import generate

AS_OF = date(2026, 5, 1)
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
# places, and the commune stations' price list (claims.catalogue) and the regional centres that
# claimable visits name
PLACE_PREFIXES = ("Organization/tyt-", "Location/loc-tyt-", "comm-", "prov-", "bv-",
                  "Medication/", "Organization/bv-")  # fmt: skip


def run(people: int, seed: int = 7, province_code: str = "24", batch_size: int = 1000):
    return list(
        generate(
            province_code=province_code, people=people, seed=seed, as_of=AS_OF,
            batch_size=batch_size,
        )
    )  # fmt: skip


@pytest.fixture(scope="module")
def big() -> list[dict]:
    return [r for batch in run(20_000) for r in batch]


def references(node, found: list[str]) -> list[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference":
                found.append(value)
            else:
                references(value, found)
    elif isinstance(node, list):
        for item in node:
            references(item, found)
    return found


def age_at(birth: str, when: date) -> int:
    b = date.fromisoformat(birth)
    return when.year - b.year - ((when.month, when.day) < (b.month, b.day))


def test_same_arguments_same_output_and_batch_size_does_not_matter():
    first = run(700, batch_size=100)
    assert first == run(700, batch_size=100)
    assert sorted(r["id"] for b in first for r in b) == sorted(
        r["id"] for b in run(700, batch_size=5000) for r in b
    )
    assert all(len({r["resourceType"] for r in b}) > 1 for b in first)


def test_other_seed_or_province_gives_other_ids():
    ids = {r["id"] for b in run(300) for r in b}
    assert not ids & {r["id"] for b in run(300, seed=8) for r in b}
    assert not ids & {r["id"] for b in run(300, province_code="01") for r in b}


def test_batches_hold_whole_households_and_reference_backwards():
    batches = run(3000, batch_size=250)
    seen: set[str] = set()
    households_seen: set[str] = set()
    for batch in batches:
        patients = [r for r in batch if r["resourceType"] == "Patient"]
        assert 250 <= len(patients) < 256 or batch is batches[-1]
        households = {i["value"] for p in patients for i in p["identifier"]
                      if i["system"].endswith("/household")}  # fmt: skip
        assert not households & households_seen
        households_seen |= households
        for r in batch:
            for ref in references(r, []):
                assert ref.startswith(PLACE_PREFIXES) or ref.split("/")[1] in seen, ref
            seen.add(r["id"])


def test_ids_are_unique_uuids(big):
    ids = [r["id"] for r in big]
    assert len(ids) == len(set(ids))
    assert all(UUID4.fullmatch(i) for i in ids[:: max(1, len(ids) // 1000)])


def test_every_reference_resolves(big):
    by_key = {f"{r['resourceType']}/{r['id']}" for r in big}
    for r in big:
        for ref in references(r, []):
            assert ref in by_key or ref.startswith(PLACE_PREFIXES), ref


def test_cccd_encodes_birth_province_century_sex_and_year(big):
    patients = [r for r in big if r["resourceType"] == "Patient"]
    numbers = set()
    born_here = 0
    for p in patients:
        (cccd,) = [i["value"] for i in p["identifier"] if i["system"] == CCCD]
        assert re.fullmatch(r"\d{12}", cccd)
        assert int(cccd[:3]) in BIRTH_PROVINCE_CODES
        born_here += cccd[:3] == "024"
        year = int(p["birthDate"][:4])
        expected = (0 if year < 2000 else 2) + (0 if p["gender"] == "male" else 1)
        assert int(cccd[3]) == expected and cccd[4:6] == f"{year % 100:02d}"
        numbers.add(cccd)
    assert len(numbers) == len(patients)
    assert 0.7 < born_here / len(patients) < 0.9


def test_bhyt_format_and_groups(big):
    groups = Counter()
    for p in (r for r in big if r["resourceType"] == "Patient"):
        cards = [i["value"] for i in p["identifier"] if i["system"] == BHYT]
        if not cards:
            continue
        (card,) = cards
        assert re.fullmatch(r"(TE1|HS4|SV4|HN2|HT3|BT2|DN4|GD4)24\d{10}", card), card
        age = age_at(p["birthDate"], AS_OF)
        assert (card[:2] == "TE") == (age < 6)
        groups[card[:2]] += 1
    assert sum(groups.values()) / 20_000 > 0.85  # coverage ~92%
    assert {"TE", "HS", "HT", "GD", "DN"} <= set(groups)


def test_patients_look_vietnamese(big):
    patients = [r for r in big if r["resourceType"] == "Patient"]
    family = Counter(p["name"][0]["family"] for p in patients)
    assert 0.33 < family["Nguyễn"] / len(patients) < 0.43
    women = [p for p in patients if p["gender"] == "female"]
    assert sum(p["name"][0]["given"][0] == "Thị" for p in women) / len(women) > 0.3
    adults = [p for p in patients if age_at(p["birthDate"], AS_OF) >= 18]
    phones = [t["value"] for p in adults for t in p.get("telecom", [])]
    assert len(phones) > 0.9 * len(adults)
    assert all(re.fullmatch(r"0[35789]\d{8}", ph) for ph in phones)
    assert all("telecom" not in p for p in patients if age_at(p["birthDate"], AS_OF) < 18)
    for p in patients[:500]:
        (address,) = p["address"]
        code = address["extension"][0]["valueCode"]
        assert p["managingOrganization"]["reference"] == f"Organization/tyt-{code}"
        assert address["state"] == "Tỉnh Bắc Ninh" and address["country"] == "VN"


def test_households_share_an_address_and_have_plausible_sizes(big):
    members = defaultdict(list)
    for p in (r for r in big if r["resourceType"] == "Patient"):
        (hh,) = [i["value"] for i in p["identifier"] if i["system"].endswith("/household")]
        members[hh].append(p)
    sizes = np.array([len(m) for m in members.values()])
    assert sizes.max() <= 6 and 3.0 < sizes.mean() < 4.0
    for m in members.values():
        assert len({id(p["address"][0]) for p in m}) == 1
        assert max(age_at(p["birthDate"], AS_OF) for p in m) >= 15


def test_age_structure_follows_the_2019_census(big):
    ages = np.array([age_at(r["birthDate"], AS_OF) for r in big if r["resourceType"] == "Patient"])
    assert abs((ages < 15).mean() - 0.243) < 0.03
    assert abs((ages >= 65).mean() - 0.077) < 0.02


def last_values(big):
    """Per patient: age, sex, last BP, last glucose, last smoking status, condition codes."""
    people = {r["id"]: r for r in big if r["resourceType"] == "Patient"}
    bp, glucose, smoking = {}, {}, {}
    codes = defaultdict(set)
    for r in big:
        if r["resourceType"] == "Observation":
            who = r["subject"]["reference"][8:]
            code = r["code"]["coding"][0]["code"]
            when = r["effectiveDateTime"]
            if code == "85354-9":
                value = tuple(c["valueQuantity"]["value"] for c in r["component"])
                bp[who] = max(bp.get(who, ("", value)), (when, value))
            elif code == "14771-0":
                glucose[who] = max(glucose.get(who, ("", 0)), (when, r["valueQuantity"]["value"]))
            elif code == "72166-2":
                status = r["valueCodeableConcept"]["coding"][0]["code"]
                smoking[who] = max(smoking.get(who, ("", status)), (when, status))
        elif r["resourceType"] == "Condition":
            codes[r["subject"]["reference"][8:]].add(r["code"]["coding"][0]["code"])
    return people, bp, glucose, smoking, codes


def test_prevalences_are_near_steps_2021(big):
    people, bp, glucose, smoking, codes = last_values(big)

    def adult(pid):
        return 18 <= age_at(people[pid]["birthDate"], AS_OF) < 70

    measured = [p for p in bp if adult(p)]
    htn = [p for p in measured if bp[p][1][0] >= 140 or bp[p][1][1] >= 90 or "I10" in codes[p]]
    assert 0.20 <= len(htn) / len(measured) <= 0.32
    tested = [p for p in glucose if adult(p)]
    dm = [p for p in tested if glucose[p][1] >= 7.0 or "E11" in codes[p]]
    assert 0.04 <= len(dm) / len(tested) <= 0.10
    men = [p for p in smoking if adult(p) and people[p]["gender"] == "male"]
    assert 0.35 <= sum(smoking[p][1] == "449868002" for p in men) / len(men) <= 0.50
    women = [p for p in smoking if adult(p) and people[p]["gender"] == "female"]
    assert sum(smoking[p][1] == "449868002" for p in women) / len(women) < 0.04
    # the worklists have work: raised BP never diagnosed, and treated but uncontrolled
    high = {p for p in measured if bp[p][1][0] >= 140 or bp[p][1][1] >= 90}
    assert len(high - {p for p in measured if "I10" in codes[p]}) > 0.05 * len(measured)
    assert len(high & {p for p in measured if "I10" in codes[p]}) > 50


def test_treatment_follows_diagnosis_and_lowers_bp(big):
    people, bp, _, _, codes = last_values(big)
    conditions = {r["id"]: r for r in big if r["resourceType"] == "Condition"}
    treated = set()
    for r in (r for r in big if r["resourceType"] == "MedicationRequest"):
        (reason,) = r["reasonReference"]
        condition = conditions[reason["reference"][10:]]
        assert condition["subject"] == r["subject"]
        assert r["authoredOn"] >= condition["onsetDateTime"][:10]
        if condition["code"]["coding"][0]["code"] == "I10":
            treated.add(r["subject"]["reference"][8:])
    follow_ups = [r for r in big if r["resourceType"] == "Encounter" and "reasonCode" in r]
    assert follow_ups
    for e in follow_ups:
        reasons = {c["coding"][0]["code"] for c in e["reasonCode"]}
        assert reasons <= codes[e["subject"]["reference"][8:]]
    untreated = [p for p in bp if "I10" in codes[p] and p not in treated]
    on_drugs = [p for p in bp if p in treated]
    assert np.mean([bp[p][1][0] for p in on_drugs]) < np.mean([bp[p][1][0] for p in untreated]) - 8


def test_negative_people_is_refused_and_bad_province_too():
    with pytest.raises(ValueError, match="people"):
        generate(province_code="24", people=-1, seed=1, as_of=AS_OF)
    with pytest.raises(UnknownPlace):
        generate(province_code="99", people=10, seed=1, as_of=AS_OF)
    assert list(generate(province_code="24", people=0, seed=1, as_of=AS_OF)) == []


@pytest.mark.parametrize("people", [1, 2, 5, 13])
def test_tiny_populations(people):
    patients = [r for b in run(people) for r in b if r["resourceType"] == "Patient"]
    assert len(patients) == people
