"""Strings without control characters and literal references in their canonical form, on every way
in (create, update, transaction, batch, bulk import), on SQLite and PostgreSQL (issue 19, items 2
and 6).

- R4 strings hold no character below U+0020 but tab, CR and LF
  (http://hl7.org/fhir/R4/datatypes.html#string): any other one, in any string-based primitive, is
  a 400 naming the element (it was stored on SQLite, and a 500 on PostgreSQL).
- A literal reference (http://hl7.org/fhir/R4/references.html#literal) under SONGKHOE_BASE_URL's
  /fhir/ is stored relative, then the place check applies; a malformed one is a 400 naming the
  element; one to another server stays external and names nobody here.
"""

from datetime import timedelta
from types import SimpleNamespace

import orjson
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from songkhoe.app import create_app
from songkhoe.auth.policy import patients_referenced
from songkhoe.auth.service import create_user, issue_token
from songkhoe.config import SettingError, get_settings
from songkhoe.fhir.bulk import BulkImportError, import_files
from songkhoe.fhir.commands import fhir
from songkhoe.fhir.indexing import extract, patients_named
from songkhoe.fhir.validation import canonical_reference
from songkhoe.places.catalog import communes

FHIR_JSON = {"Content-Type": "application/fhir+json"}
HOME, NEIGHBOUR = (c.code for c in communes("24")[:2])
BASE = "http://127.0.0.1:8201"  # SONGKHOE_BASE_URL in these tests
OTHER_SERVER = "https://his.benhvien.example.vn/fhir"


def person(pid: str, commune_code: str, family: str = "Nguyễn") -> dict:
    return {
        "resourceType": "Patient",
        "id": pid,
        "name": [{"family": family, "given": ["Văn"]}],
        "managingOrganization": {"reference": f"Organization/tyt-{commune_code}"},
    }


def reading(subject: str, *, oid: str = "o1", performer: str | None = "Patient/home1") -> dict:
    """A blood pressure reading about `subject`; its performer (by default a person the commune
    worker sees, a reading taken by a relative) makes the check see someone visible."""
    res = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
        "subject": {"reference": subject},
        "valueQuantity": {"value": 150, "unit": "mmHg"},
    }
    if performer is not None:
        res["performer"] = [{"reference": performer}]
    return res


class Api:
    def __init__(self, client: TestClient, token: str) -> None:
        self.client, self.headers = client, {"Authorization": f"Bearer {token}", **FHIR_JSON}

    def post(self, path: str, body: dict):
        return self.client.post(f"/fhir/{path}", json=body, headers=self.headers)

    def put(self, path: str, body: dict):
        return self.client.put(f"/fhir/{path}", json=body, headers=self.headers)

    def get(self, path: str, **params):
        return self.client.get(f"/fhir/{path}", params=params, headers=self.headers)

    def write(self, way: str, res: dict):
        """Write `res` by create, update or a transaction Bundle of one entry."""
        if way == "create":
            return self.post(res["resourceType"], res)
        url = f"{res['resourceType']}/{res['id']}"
        if way == "update":
            return self.put(url, res)
        entry = {"resource": res, "request": {"method": "PUT", "url": url}}
        return self.post("", {"resourceType": "Bundle", "type": "transaction", "entry": [entry]})


@pytest.fixture
def site(store, monkeypatch):
    """home1 lives in the worker's commune, next1 in the neighbouring one (the worker may not see
    next1); an administrator sees everyone. SONGKHOE_BASE_URL is BASE."""
    monkeypatch.setenv("SONGKHOE_BASE_URL", BASE)
    store.create_many([person("home1", HOME), person("next1", NEIGHBOUR)])
    client = TestClient(create_app(store=store))

    def api(role: str, place: str) -> Api:
        user = create_user(
            store.engine,
            username=role,
            password="mật-khẩu-đủ-dài",
            role=role,
            place=place,
            full_name=role,
        )
        token = issue_token(
            store.engine, scopes="user/*.*", expires_in=timedelta(hours=1), user_id=user
        )
        return Api(client, token)

    worker = api("commune_health_worker", f"commune:{HOME}")
    return SimpleNamespace(store=store, worker=worker, admin=api("admin", "national"))


def issues(response, status: int) -> list[dict]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return body["issue"]


def expressions(response, status: int) -> list[str]:
    return [e for issue in issues(response, status) for e in issue.get("expression", [])]


def observations(store) -> int:
    return store.count_by_type().get("Observation", 0)


# --- item 2: control characters ----------------------------------------------------------------

CONTROL_CASES = [  # (the change to home1's Patient, the element named)
    ({"name": [{"family": "Nguy\u0000ễn"}]}, "Patient.name[0].family"),  # string
    ({"gender": "ma\u0001le"}, "Patient.gender"),  # code
    (
        {"identifier": [{"system": "urn:oid:1.2\u001f", "value": "1"}]},
        "Patient.identifier[0].system",
    ),
    ({"meta": {"profile": ["http://example.org/p\u000c"]}}, "Patient.meta.profile[0]"),  # canonical
    (
        {"extension": [{"url": "http://example.org/x", "valueString": "\u000bnote"}]},
        "Patient.extension[0].valueString",
    ),
    (
        {"_birthDate": {"extension": [{"url": "http://example.org/x", "valueMarkdown": "a\bb"}]}},
        "Patient.birthDate.extension[0].valueMarkdown",
    ),
    (
        {"extension": [{"url": "http://example.org/\u0007", "valueString": "x"}]},
        "Patient.extension[0].url",
    ),
]


@pytest.mark.parametrize(("change", "expression"), CONTROL_CASES)
@pytest.mark.parametrize("way", ["create", "update", "transaction"])
def test_a_control_character_in_a_string_is_400_naming_the_element(site, way, change, expression):
    before = site.store.read("Patient", "home1")
    response = site.admin.write(way, {**person("home1", HOME), **change})
    named = expressions(response, 400)
    if way == "transaction":
        expression = expression.replace("Patient.", "Bundle.entry[0].resource.", 1)
    assert expression in named
    assert "control character" in issues(response, 400)[0]["diagnostics"]
    assert site.store.read("Patient", "home1") == before


def test_tab_cr_and_lf_are_allowed(site):
    created = site.admin.post("Patient", person("p2", HOME, family="Lê\tThị\r\nHoa"))
    assert created.status_code == 201, created.text
    assert site.store.read("Patient", created.json()["id"])["name"][0]["family"] == "Lê\tThị\r\nHoa"


def test_a_batch_answers_the_entry_with_a_control_character_with_400(site):
    entries = [
        {
            "resource": person(pid, HOME, family),
            "request": {"method": "PUT", "url": f"Patient/{pid}"},
        }
        for pid, family in (("p2", "Lê"), ("p3", "L\u0000ê"))
    ]
    response = site.admin.post("", {"resourceType": "Bundle", "type": "batch", "entry": entries})
    assert response.status_code == 200, response.text
    first, second = (e["response"] for e in response.json()["entry"])
    assert first["status"].startswith("201")
    assert second["status"].startswith("400")
    outcome = second["outcome"]["issue"]
    assert outcome[0]["expression"] == ["Bundle.entry[1].resource.name[0].family"]
    assert site.store.count_by_type()["Patient"] == 3


def test_bulk_import_refuses_the_line_and_writes_nothing_of_its_file(store, tmp_path, monkeypatch):
    path = tmp_path / "people.ndjson"
    lines = [person("p2", HOME), person("p3", HOME, family="Tr\u0000ần")]
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    with pytest.raises(BulkImportError, match=r":2: Patient.name\[0\].family holds a control"):
        import_files(store, [path])
    monkeypatch.setenv("SONGKHOE_DATABASE_URL", store.engine.url.render_as_string(False))
    done = CliRunner().invoke(fhir, ["import", str(path)])
    assert done.exit_code == 2
    assert f"{path}:2: Patient.name[0].family holds a control character" in done.output
    assert store.count_by_type() == {}


# --- item 6: literal references ----------------------------------------------------------------

FORMS = [  # a reference to next1 in a form that is not Type/id, and the status it gets
    (f"{BASE}/fhir/Patient/next1", 403),  # ours, made relative: then refused by the place check
    ("Patient/next1#x", 400),
    ("patient/next1", 400),
    ("Patient//next1", 400),
    ("./Patient/next1", 400),
    ("Patient%2Fnext1", 400),
    ("Patient/next1 ", 400),
]


@pytest.mark.parametrize(("form", "status"), FORMS)
@pytest.mark.parametrize("way", ["create", "update", "transaction"])
def test_a_hidden_person_named_in_another_form_is_refused(site, way, form, status):
    response = site.worker.write(way, reading(form))
    named = expressions(response, status)
    if status == 400:
        where = "Bundle.entry[0].resource" if way == "transaction" else "Observation"
        assert named == [f"{where}.subject.reference"]
    assert observations(site.store) == 0


@pytest.mark.parametrize(
    ("absolute", "relative"),
    [
        (f"{BASE}/fhir/Patient/home1", "Patient/home1"),
        ("HTTP://127.0.0.1:8201/fhir/Patient/home1", "Patient/home1"),
        (f"{BASE}/fhir/Patient/home1/_history/1", "Patient/home1/_history/1"),
    ],
)
def test_a_reference_under_the_base_url_is_stored_relative(site, absolute, relative):
    created = site.worker.post("Observation", reading(absolute, performer=None))
    assert created.status_code == 201, created.text
    assert created.json()["subject"] == {"reference": relative}
    stored = site.store.read("Observation", created.json()["id"])
    assert stored["subject"] == {"reference": relative}
    assert patients_referenced(stored) == {"home1"}
    found = site.worker.get("Observation", subject="Patient/home1")
    assert [e["resource"]["id"] for e in found.json()["entry"]] == [stored["id"]]


def test_a_transaction_full_url_under_the_base_url_is_resolved_like_its_references(site):
    new_person = {k: v for k, v in person("x", HOME).items() if k != "id"}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"{BASE}/fhir/Patient/new",
                "resource": new_person,
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": reading(f"{BASE}/fhir/Patient/new", performer="Patient/new"),
                "request": {"method": "PUT", "url": "Observation/o1"},
            },
        ],
    }
    response = site.worker.post("", bundle)
    assert response.status_code == 200, response.text
    new_id = response.json()["entry"][0]["response"]["location"].split("/")[1]
    stored = site.store.read("Observation", "o1")
    assert stored["subject"] == {"reference": f"Patient/{new_id}"}
    assert stored["performer"] == [{"reference": f"Patient/{new_id}"}]


def test_a_reference_to_another_server_names_nobody_here(site):
    external = f"{OTHER_SERVER}/Patient/next1"
    # a person-linked resource that names nobody here is for callers who see everyone
    refused = site.worker.post("Observation", reading(external, performer=None))
    assert "names no person" in issues(refused, 403)[0]["diagnostics"]
    created = site.admin.post("Observation", reading(external, performer=None))
    assert created.status_code == 201, created.text
    stored = site.store.read("Observation", created.json()["id"])
    assert stored["subject"] == {"reference": external}
    assert patients_referenced(stored) == set()
    assert patients_named(orjson.dumps(stored)) == set()
    assert {(t, i) for _, t, i in extract(stored).reference} == {(None, external)}
    assert site.worker.get(f"Observation/{stored['id']}").status_code == 404
    assert site.admin.get(f"Observation/{stored['id']}").status_code == 200
    # beside a person the worker sees, it stays external: it does not name next1
    beside = site.worker.post("Observation", reading(external, oid="o2"))
    assert beside.status_code == 201, beside.text
    assert patients_referenced(site.store.read("Observation", beside.json()["id"])) == {"home1"}


@pytest.mark.parametrize("base", ["", "https://songkhoe.example.vn"])
def test_the_host_header_does_not_make_a_url_ours(site, monkeypatch, base):
    """The TestClient sends `Host: testserver`: a URL on it is external unless it is the base."""
    monkeypatch.setenv("SONGKHOE_BASE_URL", base)
    external = "http://testserver/fhir/Patient/home1"
    created = site.admin.post("Observation", reading(external, performer=None))
    assert created.status_code == 201, created.text
    assert created.json()["subject"] == {"reference": external}


def test_bulk_import_makes_references_relative_and_refuses_malformed_ones(site, tmp_path):
    path = tmp_path / "readings.ndjson"
    path.write_bytes(orjson.dumps(reading(f"{BASE}/fhir/Patient/next1", performer=None)))
    import_files(site.store, [path])
    assert site.store.read("Observation", "o1")["subject"] == {"reference": "Patient/next1"}
    path.write_bytes(orjson.dumps(reading("Patient/next1", oid="o2", performer="Patient//home1")))
    with pytest.raises(BulkImportError, match=r":1: Observation.performer\[0\].reference is not"):
        import_files(site.store, [path])
    assert observations(site.store) == 1


@pytest.mark.parametrize(
    ("reference", "stored"),
    [
        ("Patient/p1", "Patient/p1"),
        ("Patient/p1/_history/2", "Patient/p1/_history/2"),
        ("#contained-1", "#contained-1"),
        ("#", "#"),
        ("Patient?identifier=http://songkhoe.vn/fhir/sid/cccd|079085001234", None),
        ("urn:uuid:9c0e4f5a-1b2c-4d3e-8f90-a1b2c3d4e5f6", None),
        ("https://songkhoe.example.vn/fhir/Patient/p1", "Patient/p1"),
        ("https://SONGKHOE.example.vn:443/fhir/Patient/p1", "Patient/p1"),
        ("https://songkhoe.example.vn.evil.example/fhir/Patient/p1", None),
        (f"{OTHER_SERVER}/Patient/p1", None),
    ],
)
def test_canonical_references(monkeypatch, reference, stored):
    monkeypatch.setenv("SONGKHOE_BASE_URL", "https://songkhoe.example.vn/")
    assert canonical_reference(reference) == (stored or reference)


@pytest.mark.parametrize(
    "reference",
    [
        "Patient/p1/",
        "Patient/p1/_history/",
        "Patient",
        "Unknown/p1",
        "Patient/p 1",
        "Patient/p1\t",
        "#p 1",
        "http://songkhoe.example.vn/fhir/Patient/p1",  # our host, another scheme
        "https://songkhoe.example.vn:8443/fhir/Patient/p1",  # our host, another port
        "https://songkhoe.example.vn/Patient/p1",  # not under /fhir/
        "https://songkhoe.example.vn/fhir/Patient/p1?x=1",
        "https://songkhoe.example.vn/fhir/Patient/p1#x",
        "https://someone@songkhoe.example.vn/fhir/Patient/p1",
        "https://songkhoe.example.vn/fhir/Patient%2Fp1",
        f"{OTHER_SERVER}/Patient/p1 ",
    ],
)
def test_malformed_references(monkeypatch, reference):
    monkeypatch.setenv("SONGKHOE_BASE_URL", "https://songkhoe.example.vn")
    with pytest.raises(ValueError):
        canonical_reference(reference)


def test_base_url_setting(monkeypatch):
    monkeypatch.delenv("SONGKHOE_BASE_URL", raising=False)
    assert get_settings().base_url == ""
    monkeypatch.setenv("SONGKHOE_BASE_URL", "https://songkhoe.example.vn/")
    assert get_settings().base_url == "https://songkhoe.example.vn"
    monkeypatch.setenv("SONGKHOE_BASE_URL", "songkhoe.example.vn")
    with pytest.raises(SettingError, match="^SONGKHOE_BASE_URL: expected an http"):
        get_settings()
