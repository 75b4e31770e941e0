"""Each worklist holds exactly the people its definition picks (songkhoe.ncd.worklists docstring),
recomputed by brute force from the raw FHIR resources, over every commune of the province."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from songkhoe.ncd.worklists import KINDS, UnknownWorklist, worklist
from songkhoe.places.catalog import communes

NOW = datetime(2026, 6, 30, 16, 59, 59, tzinfo=UTC)  # 23:59:59 in Vietnam
HTN, DM = ("I10", "I11", "I12", "I13", "I15"), ("E10", "E11", "E12", "E13", "E14")
TREATING = ("C02", "C03", "C07", "C08", "C09", "C10")


def expected(raw) -> dict[str, set[str]]:
    """Who each worklist should hold, resource by resource."""
    diagnosed: dict[str, dict[str, datetime]] = {"htn": {}, "any": {}}
    out_af: set[str] = set()
    for c in raw["Condition"]:
        onset = raw.instant(c["onsetDateTime"])
        if onset > NOW or "active" not in raw.codes(c["clinicalStatus"]):
            continue
        pid, code = raw.subject(c), raw.code(c)[:3]
        if code == "I48":
            out_af.add(pid)
        for group, codes in (("htn", HTN), ("any", HTN + DM)):
            if code in codes:
                diagnosed[group][pid] = min(diagnosed[group].get(pid, onset), onset)
    visits, bps, smoking = defaultdict(list), defaultdict(list), {}
    for e in raw["Encounter"]:
        visits[raw.subject(e)].append(raw.instant(e["period"]["start"]))
    for o in raw["Observation"]:
        at, pid = raw.instant(o["effectiveDateTime"]), raw.subject(o)
        if raw.code(o) == "85354-9":
            bps[pid].append((at, *raw.blood_pressure(o)))
            visits[pid].append(at)
        elif raw.code(o) == "72166-2" and (pid not in smoking or smoking[pid][0] < at):
            smoking[pid] = (at, raw.codes(o["valueCodeableConcept"])[0])
    treated = {
        raw.subject(m)
        for m in raw["MedicationRequest"]
        if m["status"] == "active"
        and m["medicationCodeableConcept"]["coding"][0]["code"].startswith(TREATING)
    }
    out: dict[str, set[str]] = {kind: set() for kind in KINDS}
    out["af-stroke-risk"] = out_af  # the scores: tests/ncd/test_af_worklist.py
    for ra in raw["RiskAssessment"]:
        band = ra["prediction"][0]["qualitativeRisk"]["coding"][0]["code"]
        if band in ("20-<30", ">=30") and raw.subject(ra) not in treated:
            out["high-risk-untreated"].add(raw.subject(ra))
    for p in raw["Patient"]:
        pid = p["id"]
        readings = sorted(bps[pid])
        if pid in diagnosed["htn"] and readings:
            _, sbp, dbp = readings[-1]
            if sbp >= 140 or dbp >= 90:
                out["uncontrolled"].add(pid)
        if pid not in diagnosed["htn"]:
            year = [r for r in readings if NOW - r[0] <= timedelta(days=365)]
            raised_days = {
                (r[0] + timedelta(hours=7)).date() for r in year if r[1] >= 140 or r[2] >= 90
            }
            if len(raised_days) >= 2 or any(r[1] >= 160 or r[2] >= 100 for r in year):
                out["undiagnosed-htn"].add(pid)
        registered = diagnosed["any"].get(pid)
        if registered is not None:
            last = max(visits[pid], default=None)
            recent = last is not None and NOW - last <= timedelta(days=365)
            if NOW - registered <= timedelta(days=365) or recent:
                contact = last if last is not None and last >= registered else registered
                if contact + timedelta(days=30) < NOW:
                    out["overdue"].add(pid)
        born = date.fromisoformat(p["birthDate"])
        today = (NOW + timedelta(hours=7)).date()
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        status = smoking.get(pid, (None, None))[1]
        if 50 <= age <= 80 and status in ("449868002", "8517006"):
            out["lung-screening"].add(pid)
    return out


@pytest.fixture(scope="module")
def lists(province) -> dict[str, list[dict]]:
    now = np.datetime64(NOW.replace(tzinfo=None), "s")
    found: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    for kind in KINDS:
        for c in communes("12"):
            found[kind] += worklist(province.engine, kind=kind, commune_code=c.code, now=now)[0]
    return found


@pytest.mark.parametrize("kind", list(KINDS))
def test_worklists_hold_exactly_whom_the_definition_picks(lists, raw, kind):
    got = [e["patient_id"] for e in lists[kind]]
    assert len(got) == len(set(got))
    assert set(got) == expected(raw)[kind]
    if kind != "af-stroke-risk":  # the synthetic province records no AF
        assert got, "the synthetic province should put someone on every list"


def test_entries_carry_the_name_and_the_facts(lists, raw):
    names = {p["id"]: p["name"][0]["text"] for p in raw["Patient"]}
    for entries in lists.values():
        assert all(e["name"] == names[e["patient_id"]] for e in entries)
    assert all(e["systolic"] >= 140 or e["diastolic"] >= 90 for e in lists["uncontrolled"])
    assert all(e["eligible"] is None and "pack-years" in e["ask"] for e in lists["lung-screening"])
    assert all(e["days_overdue"] > 0 for e in lists["overdue"])


def test_an_unknown_worklist_is_named(province):
    with pytest.raises(UnknownWorklist, match="overdue"):
        worklist(
            province.engine, kind="nope", commune_code="03388", now=np.datetime64("2026-01-01")
        )
