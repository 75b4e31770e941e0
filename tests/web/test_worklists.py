"""The commune's worklists against the live records: the lists come from the NCD projections,
rebuilt only by `songkhoe ncd refresh`, but a person who has since moved to another station or
been deleted is not shown; the home page's counts are the lists' sizes, not an audited read."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from songkhoe.db.tables import resource
from songkhoe.fhir.systems import CONDITION_CLINICAL, ICD10
from songkhoe.ncd import views as ncd_views
from songkhoe.ncd.service import refresh
from songkhoe.ncd.tables import ncd_refresh
from songkhoe.places.facilities import commune_station_id

from .conftest import HOME, NEIGHBOUR, add_users, blood_pressure, logged_in, patient

NAMES = {"an": "Văn An", "binh": "Văn Bình", "cuong": "Văn Cường", "dung": "Văn Dũng"}


def hypertension(pid: str) -> dict:
    return {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
        "code": {"coding": [{"system": ICD10, "code": "I10"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "onsetDateTime": "2020-01-01",
    }


@pytest.fixture
def lists(store):
    """Four people of HOME with hypertension and a raised last blood pressure (all on the
    "uncontrolled" list), projections refreshed, and the commune's health worker."""
    day = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    people = [
        patient(pid, HOME, "Trần", given, f"02706000000{i}") for i, (pid, given) in
        enumerate(NAMES.items())
    ]  # fmt: skip
    facts = [r for pid in NAMES for r in (hypertension(pid), blood_pressure(pid, day, 165, 102))]
    store.create_many(people + facts)
    refresh(store=store)
    add_users(store, {"worker": ("commune_health_worker", f"commune:{HOME}")})
    return store


def shown(html: str) -> list[str]:
    return sorted(re.findall(r'<tr id="p-([^"]+)"', html))


def audited_people(store) -> list[str]:
    with store.engine.connect() as conn:
        events = [c for (c,) in conn.execute(
            select(resource.c.content).where(resource.c.res_type == "AuditEvent")
        )]  # fmt: skip
    return [e["what"]["reference"] for ev in events for e in ev["entity"] if "what" in e]


def test_a_list_leaves_out_who_moved_away_or_was_deleted_until_the_refresh(lists):
    store = lists
    worker = logged_in(store, "worker")
    path = f"/worklists/uncontrolled?commune={HOME}"
    assert shown(worker.get(path).text) == sorted(NAMES)
    moved = store.read("Patient", "binh")
    moved["managingOrganization"] = {"reference": f"Organization/{commune_station_id(NEIGHBOUR)}"}
    store.update(moved)
    store.delete("Patient", "cuong")
    page = worker.get(path)
    assert page.status_code == 200
    assert shown(page.text) == ["an", "dung"]
    assert "Bình" not in page.text and "Cường" not in page.text
    assert "2 người" in page.text
    home = worker.get("/").text
    card = re.search(r'href="/worklists/uncontrolled\?commune=\d+"><strong>(\d+)</strong>', home)
    assert card[1] == "2"
    listed = worker.get(f"/worklists?commune={HOME}").text
    assert re.search(r'/worklists/uncontrolled\?commune=\d+"><strong>2</strong>', listed)


def test_counts_are_not_an_audited_read_of_everyone_on_the_lists(lists):
    store = lists
    worker = logged_in(store, "worker")
    before = audited_people(store)
    home = worker.get("/")
    assert re.search(r'/worklists/uncontrolled\?commune=\d+"><strong>4</strong>', home.text)
    assert audited_people(store) == before, "a count names nobody"
    worker.get(f"/worklists/uncontrolled?commune={HOME}")
    assert set(audited_people(store)) - set(before) == {f"Patient/{p}" for p in NAMES}


def test_dates_on_the_lists_are_vietnam_dates(lists):
    store = lists
    with store.engine.begin() as conn:  # 18:30 UTC is 01:30 the next day in Hà Nội
        conn.execute(update(ncd_refresh).values(as_of="2025-03-01T18:30:00.000000Z"))
    worker = logged_in(store, "worker")
    page = worker.get(f"/worklists/uncontrolled?commune={HOME}").text
    assert "2025-03-02" in page and "2025-03-01" not in page


def test_a_worklist_is_shown_a_page_at_a_time_and_audited_per_page(lists, monkeypatch):
    """Four people on the list, three a page: each page shows its share, links both pages,
    and audits the people it shows, no others."""
    monkeypatch.setattr(ncd_views, "PAGE", 3)
    worker = logged_in(lists, "worker")
    seen = []
    for first, expected in ((0, 3), (3, 1)):
        html = worker.get(f"/worklists/uncontrolled?commune={HOME}&first={first}").text
        ids = shown(html)
        assert len(ids) == expected
        assert "4 người" in html
        pages = re.findall(r'<nav class="pages">.*?</nav>', html, re.S)[0]
        assert len(pages.split("<a ")) - 1 == 2
        with lists.engine.connect() as conn:
            event = conn.execute(
                select(resource.c.content)
                .where(resource.c.res_type == "AuditEvent")
                .order_by(resource.c.last_updated.desc())
                .limit(1)
            ).scalar_one()
        assert {e["what"]["reference"] for e in event["entity"] if "what" in e} == {
            f"Patient/{i}" for i in ids
        }
        seen += ids
    assert sorted(seen) == sorted(NAMES)
