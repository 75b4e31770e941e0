"""Registering a person: who may (the form and its POST answer alike, before any duplicate
check says what the store holds), and one CCCD for one person even when two health workers
register the same person at the same moment."""

import threading
import time

import pytest
from sqlalchemy import func, select

from songkhoe.db.tables import idx_token
from songkhoe.fhir import identifiers
from songkhoe.fhir.systems import CCCD

from .conftest import HOME, add_users, csrf_of, logged_in, patient

TAKEN = "027160000001"


@pytest.fixture
def office(store):
    store.create_many([patient("lan", HOME, "Nguyễn", "Thị Lan", TAKEN)])
    add_users(
        store,
        {
            "worker": ("commune_health_worker", f"commune:{HOME}"),
            "second": ("commune_health_worker", f"commune:{HOME}"),
            "manager": ("provincial_manager", "province:24"),
            "specialist": ("specialist", "facility:bv-bach-mai"),
        },
    )
    return store


def form(csrf: str, cccd: str) -> dict:
    return {
        "csrf": csrf,
        "family": "Nguyễn",
        "given": "Thị Lan",
        "sex": "female",
        "birth": "1960-05-01",
        "cccd": cccd,
        "line": "Thôn Đông",
        "commune": HOME,
    }


def holders(store, cccd: str) -> int:
    with store.engine.connect() as conn:
        return conn.execute(
            select(func.count()).where(
                idx_token.c.res_type == "Patient",
                idx_token.c.param == "identifier",
                idx_token.c.system == CCCD,
                idx_token.c.code == cccd,
            )
        ).scalar_one()


@pytest.mark.parametrize("username", ["manager", "specialist"])
def test_who_may_not_register_learns_nothing_from_the_post(office, username):
    client = logged_in(office, username)
    assert client.get("/people/new").status_code == 403
    assert "/people/new" not in client.get("/").text, "no link to a form they may not use"
    answer = client.post("/people/new", data=form(csrf_of(client.get("/").text), TAKEN))
    assert answer.status_code == 403
    for said in ("đã được đăng ký", "cùng họ tên", "/people/lan"):
        assert said not in answer.text
    assert holders(office, TAKEN) == 1


def test_two_registrations_of_one_cccd_at_once_make_one_person(office, monkeypatch):
    """Both checks run before either write (each look at the store is slowed down): only one
    registration may go through, the other is told the CCCD is taken."""
    looked = identifiers.holders

    def slow(*args, **kwargs):
        found = looked(*args, **kwargs)
        time.sleep(0.3)
        return found

    monkeypatch.setattr(identifiers, "holders", slow)
    cccd = "027160000099"
    clients = [logged_in(office, name) for name in ("worker", "second")]
    forms = [{**form(csrf_of(c.get("/people/new").text), cccd), "given": g, "confirm_new": "1"}
             for c, g in zip(clients, ("Thị Hoa", "Thị Hồng"), strict=True)]  # fmt: skip
    start = threading.Barrier(2)
    answers: list = [None, None]

    def register(i: int) -> None:
        start.wait()
        answers[i] = clients[i].post("/people/new", data=forms[i], follow_redirects=False)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(a.status_code for a in answers) == [303, 422]
    refused = next(a for a in answers if a.status_code == 422)
    assert "đã được đăng ký" in refused.text
    assert holders(office, cccd) == 1


def test_a_registered_person_is_a_vn_core_patient(office):
    """The Patient a registration writes has VN Core's shape (StructureDefinition.VN-Core.Patient):
    name.text, the national identifier system, and the ethnic-group and occupation extensions
    chosen on the form; an unknown ethnic-group code is the form's error, not a write."""
    client = logged_in(office, "worker")
    data = {**form(csrf_of(client.get("/people/new").text), "027160000077"), "confirm_new": "1"}
    refused = client.post("/people/new", data={**data, "ethnic_group": "57"})
    assert refused.status_code == 422
    answer = client.post(
        "/people/new", data={**data, "ethnic_group": "02", "occupation": "05"},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303
    person = office.read("Patient", answer.headers["location"].rsplit("/", 1)[-1])
    assert person["name"][0]["text"] == "Nguyễn Thị Lan"
    assert person["identifier"] == [
        {"system": "http://fhir.ehealth.gov.vn/core/sid/national_id", "value": "027160000077"}
    ]
    codes = {e["url"].rsplit("/", 1)[-1]: e["valueCodeableConcept"]["coding"][0]["code"]
             for e in person["extension"]}  # fmt: skip
    assert codes == {"extension-race": "02", "extension-occupation": "05"}
    (address,) = person["address"]
    vn_core_address = address["extension"][0]
    assert vn_core_address["url"].endswith("/extension-administrative-address")
    levels = [(e["url"], e["valueCodeableConcept"]["coding"][0]["code"])
              for e in vn_core_address["extension"]]  # fmt: skip
    assert levels == [("state", "24"), ("ward", HOME)]  # HOME is a commune of Bắc Ninh (24)
    shown = client.get(answer.headers["location"]).text
    assert "<dd>Tày</dd>" in shown and "<dd>Nông dân</dd>" in shown and "027160000077" in shown
