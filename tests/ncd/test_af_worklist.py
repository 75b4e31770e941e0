"""The "af-stroke-risk" worklist (songkhoe.ncd.worklists): people with atrial fibrillation on
record, each with the CHA2DS2-VA score of the ESC 2024 AF guideline (songkhoe.ncd.scores) and its
items, and the anticoagulation prompt; and the widened diagnosis projection leaves the other lists
and the indicators as they were."""

import re
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient

from songkhoe.app import create_app
from songkhoe.auth.service import create_user, issue_token
from songkhoe.fhir.systems import ATC, CONDITION_CLINICAL, CONDITION_VERIFICATION, ICD10
from songkhoe.ncd.indicators import indicators
from songkhoe.ncd.scores import cha2ds2_va, cha2ds2_va_advice
from songkhoe.ncd.service import refresh
from songkhoe.ncd.worklists import KINDS, worklist
from songkhoe.places.catalog import communes
from songkhoe.places.facilities import commune_station_id

NOW = datetime(2026, 6, 30, 16, 59, 59, tzinfo=UTC)  # 23:59:59 in Vietnam
MOMENT = np.datetime64(NOW.replace(tzinfo=None), "s")
AF = "af-stroke-risk"
PASSWORD = "mật-khẩu-đủ-dài"


# --- the score, worked by hand ------------------------------------------------------------------


def score(age, hf=0, htn=0, dm=0, stroke=0, vascular=0) -> tuple[float, dict[str, float]]:
    total, items = cha2ds2_va([age], [hf], [htn], [dm], [stroke], [vascular])
    return float(total[0]), {k: float(v[0]) for k, v in items.items() if v[0]}


def test_a_76_year_old_with_hypertension_and_diabetes_scores_4():
    # A2 (age >= 75) 2 + H 1 + D 1 = 4
    assert score(76, htn=1, dm=1) == (4.0, {"A2": 2.0, "H": 1.0, "D": 1.0})


def test_a_66_year_old_with_nothing_else_scores_1_whatever_the_sex():
    # A (65-74) 1; CHA2DS2-VA has no sex item, so a woman scores as a man would
    assert score(66) == (1.0, {"A": 1.0})


def test_a_60_year_old_with_a_past_stroke_scores_2():
    # S2 (stroke, TIA or thromboembolism) 2; under 65 no age point
    assert score(60, stroke=1) == (2.0, {"S2": 2.0})


def test_age_bands_and_the_maximum():
    assert [score(a)[0] for a in (64, 65, 74, 75)] == [0.0, 1.0, 1.0, 2.0]
    # 2 (A2) + 1 (C) + 1 (H) + 1 (D) + 2 (S2) + 1 (V) = 8, the top of the 0-8 range
    assert score(80, 1, 1, 1, 1, 1)[0] == 8.0


def test_an_unknown_age_leaves_the_score_unknown():
    total, items = cha2ds2_va([np.nan], [0], [1], [0], [1], [0])
    assert np.isnan(total[0]) and np.isnan(items["A"][0]) and items["S2"][0] == 2.0


def test_the_advice_follows_the_guideline_thresholds():
    # >= 2 recommended (class I), 1 to be considered (class IIa), 0 none
    assert cha2ds2_va_advice([0, 1, 2, 8, np.nan]).tolist() == [
        "", "consider", "recommended", "recommended", ""
    ]  # fmt: skip


# --- the list over the synthetic province -------------------------------------------------------


def condition(pid: str, code: str, onset: str = "2020-01-01", verification: str = "") -> dict:
    res = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
        "code": {"coding": [{"system": ICD10, "code": code}]},
        "subject": {"reference": f"Patient/{pid}"},
        "onsetDateTime": onset,
    }
    if verification:
        res["verificationStatus"] = {
            "coding": [{"system": CONDITION_VERIFICATION, "code": verification}]
        }
    return res


def confirmed_af(pid: str) -> dict:
    """A clinician's confirmation of an ECG screen, as the ECG pages write it."""
    return condition(pid, "I48.9", "2026-06-20", "confirmed")


def prescription(pid: str, atc: str, status: str) -> dict:
    return {
        "resourceType": "MedicationRequest",
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": ATC, "code": atc}]},
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": "2026-06-21",
    }


def new_person(pid: str, home: str, birth: str | None, gender: str, **extra) -> dict:
    res = {
        "resourceType": "Patient",
        "id": pid,
        "name": [{"family": "Lê", "given": [pid]}],
        "gender": gender,
        "managingOrganization": {"reference": f"Organization/{commune_station_id(home)}"},
        **extra,
    }
    if birth:
        res["birthDate"] = birth
    return res


def everything(store) -> tuple[dict[str, list[dict]], list[dict]]:
    """Every list of every commune, and the indicators of the province and its communes."""
    lists = {
        kind: [e for c in communes("12") for e in worklist(
            store.engine, kind=kind, commune_code=c.code, now=MOMENT)[0]]
        for kind in KINDS
    }  # fmt: skip
    rows, _ = indicators(store.engine, place=("province", "12"), month="2026-06", by_commune=True)
    return lists, rows


def age_at_now(birth: str) -> int:
    born, today = date.fromisoformat(birth), (NOW + timedelta(hours=7)).date()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


# Conditions outside hypertension and diabetes given to people of the synthetic province: the
# widened projection keeps them, and no list but the AF one nor any indicator may change.
OTHER_CODES = ("I50.9", "I21.9", "I25.1", "I63.9", "G45.9", "I26.9", "I74.3", "I70.2", "I73.9")


@pytest.fixture(scope="module")
def world(province, raw):
    home = max(
        {raw.commune_of(p) for p in raw["Patient"]},
        key=lambda c: sum(raw.commune_of(p) == c for p in raw["Patient"]),
    )
    before = everything(province)
    alive = sorted(
        (p for p in raw["Patient"] if raw.commune_of(p) == home and "deceasedBoolean" not in p
         and "deceasedDateTime" not in p),
        key=lambda p: p["id"],
    )[:len(OTHER_CODES)]  # fmt: skip
    # stage 1: each of these people gets AF and one other condition; someone else gets only the
    # other conditions (no AF: not on the list)
    added = [r for p, code in zip(alive, OTHER_CODES, strict=True)
             for r in (confirmed_af(p["id"]), condition(p["id"], code))]  # fmt: skip
    bystander = next(p for p in raw["Patient"] if raw.commune_of(p) != home)
    added += [condition(bystander["id"], code) for code in OTHER_CODES]
    province.create_many(added)
    unrefreshed = worklist(province.engine, kind=AF, commune_code=home, now=MOMENT)[0]
    refresh(store=province)
    after = everything(province)
    # stage 2: new people, scores worked by hand
    people = [
        new_person("af-old", home, "1950-01-15", "male"),
        new_person("af-woman", home, "1960-03-01", "female"),
        new_person("af-stroke", home, "1966-01-01", "male"),
        new_person("af-treated", home, "1940-01-01", "female"),
        new_person("af-stopped", home, "1955-01-01", "male"),
        new_person("af-hhd", home, "1970-01-01", "male"),
        new_person("af-no-birth", home, None, "male"),
        new_person("af-dead", home, "1950-01-01", "male", deceasedBoolean=True),
        new_person("af-refuted", home, "1950-01-01", "male"),
        new_person("af-later", home, "1950-01-01", "male"),
    ]
    facts = [
        confirmed_af("af-old"), condition("af-old", "I10"), condition("af-old", "E11.9"),
        condition("af-woman", "I48.0"),
        confirmed_af("af-stroke"), condition("af-stroke", "I63.9", "2019-05-01"),
        confirmed_af("af-treated"), condition("af-treated", "I50.0"),
        prescription("af-treated", "B01AF02", "active"),
        confirmed_af("af-stopped"), prescription("af-stopped", "B01AA03", "stopped"),
        confirmed_af("af-hhd"), condition("af-hhd", "I11.0"),
        confirmed_af("af-no-birth"), condition("af-no-birth", "I63.9"),
        confirmed_af("af-dead"),
        condition("af-refuted", "I48.9", "2026-06-20", "refuted"),
        condition("af-later", "I48.9", "2026-07-15", "confirmed"),  # after the moment
    ]  # fmt: skip
    province.create_many(people + facts)
    refresh(store=province)
    listed = worklist(province.engine, kind=AF, commune_code=home, now=MOMENT)[0]
    return province, raw, home, alive, before, after, unrefreshed, listed


def test_the_other_lists_and_the_indicators_are_unchanged(world):
    _, _, _, alive, (lists, rows), (lists_after, rows_after), _, _ = world
    for kind in KINDS:
        if kind != AF:
            assert lists_after[kind] == lists[kind], kind
    assert rows_after == rows
    assert lists[AF] == [], "the synthetic province records no AF"
    assert {e["patient_id"] for e in lists_after[AF]} == {p["id"] for p in alive}


def test_a_confirmed_af_appears_once_the_projections_are_refreshed(world):
    *_, unrefreshed, listed = world
    assert unrefreshed == []  # written, not yet refreshed
    assert "af-old" in {e["patient_id"] for e in listed}


def by_id(listed: list[dict]) -> dict[str, dict]:
    return {e["patient_id"]: e for e in listed}


def items(entry: dict) -> dict[str, tuple[int, str | int]]:
    return {i["item"]: (i["points"], i.get("code", i.get("age"))) for i in entry["items"]}


def test_hand_worked_scores_each_item_with_what_gave_it(world):
    entries = by_id(world[-1])
    # 76 years (A2 2) + hypertension I10 (H 1) + diabetes E11.9 (D 1) = 4
    old = entries["af-old"]
    assert (old["age"], old["score"], old["advice"]) == (76, 4, "recommended")
    assert items(old) == {"A2": (2, 76), "H": (1, "I10"), "D": (1, "E11.9")}
    assert all(i["condition"].startswith("Condition/") for i in old["items"] if "code" in i)
    # 66-year-old woman, nothing else: A 1 (no sex item)
    woman = entries["af-woman"]
    assert (woman["score"], woman["advice"], items(woman)) == (1, "consider", {"A": (1, 66)})
    assert woman["af_code"] == "I48.0"
    # 60-year-old man, past stroke I63.9: S2 2
    assert (entries["af-stroke"]["score"], items(entries["af-stroke"])) == (2, {"S2": (2, "I63.9")})
    # hypertensive heart disease with heart failure, I11.0: H 1 + C 1 = 2 at 56
    assert items(entries["af-hhd"]) == {"C": (1, "I11.0"), "H": (1, "I11.0")}
    # 86 (A2 2) + heart failure I50.0 (C 1) = 3
    assert entries["af-treated"]["score"] == 3


def test_the_anticoagulated_are_marked_and_the_others_prompted(world):
    entries = by_id(world[-1])
    assert entries["af-treated"]["anticoagulated"] is True  # apixaban B01AF02, active
    assert entries["af-stopped"]["anticoagulated"] is False  # warfarin B01AA03, stopped
    assert entries["af-old"]["anticoagulated"] is False


def test_who_is_left_off_and_the_order(world):
    listed = world[-1]
    ids = [e["patient_id"] for e in listed]
    assert not {"af-dead", "af-refuted", "af-later"} & set(ids)
    scores = [e["score"] for e in listed]
    assert scores[-1] is None and ids[-1] == "af-no-birth"  # no age, no score: last
    known = [s for s in scores if s is not None]
    assert known == sorted(known, reverse=True)


def test_existing_people_score_by_brute_force(world):
    """The synthetic people given AF: their score recomputed from the raw resources."""
    _, raw, _, alive, _, (lists_after, _), _, _ = world
    entries = by_id(lists_after[AF])
    for p, other in zip(alive, OTHER_CODES, strict=True):
        codes = [raw.code(c) for c in raw["Condition"] if raw.subject(c) == p["id"]
                 and raw.instant(c["onsetDateTime"]) <= NOW
                 and "active" in raw.codes(c["clinicalStatus"])] + [other]  # fmt: skip
        age = age_at_now(p["birthDate"])
        expected = (2 if age >= 75 else 1 if age >= 65 else 0) + sum(
            points for points, prefixes in (
                (1, ("I50",)), (1, ("I10", "I11", "I12", "I13", "I15")),
                (1, ("E10", "E11", "E12", "E13", "E14")),
                (2, ("I63", "I64", "G45", "I74", "I26")), (1, ("I21", "I22", "I23", "I24", "I25",
                                                               "I70", "I73.9")),
            ) if any(c.startswith(prefixes) for c in codes)
        )  # fmt: skip
        assert entries[p["id"]]["score"] == expected, (p["id"], codes, age)


def test_the_page_and_the_api_show_the_list(world):
    store, _, home, *_ = world
    user = create_user(store.engine, username="af.worker", password=PASSWORD,
                       role="commune_health_worker", place=f"commune:{home}",
                       full_name="af.worker")  # fmt: skip
    client = TestClient(create_app(store=store))
    token = issue_token(store.engine, scopes="user/*.*", expires_in=timedelta(hours=1),
                        user_id=user)  # fmt: skip
    body = client.get(
        f"/api/ncd/worklists/{AF}",
        params={"commune": home, "as_of": "2026-06-30"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert by_id(body["entries"])["af-old"]["score"] == 4
    form = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)[1]
    client.post("/login", data={"username": "af.worker", "password": PASSWORD, "csrf": csrf})
    lists = client.get(f"/worklists?commune={home}").text
    assert f'href="/worklists/{AF}?commune={home}"' in lists
    assert "Rung nhĩ — nguy cơ đột quỵ" in lists
    page = client.get(f"/worklists/{AF}?commune={home}").text
    row = re.search(r'<tr id="p-af-old".*?</tr>', page, re.S)[0]
    assert "Điểm CHA₂DS₂-VA: 4" in row and "Tuổi ≥ 75" in row and "(I10)" in row
    assert 'href="/telehealth/referrals/new?patient=af-old"' in row
    assert "Chuyển khám đánh giá điều trị chống đông" in row
    treated = re.search(r'<tr id="p-af-treated".*?</tr>', page, re.S)[0]
    assert "Đang dùng chống đông" in treated and "referrals/new" not in treated
