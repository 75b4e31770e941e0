"""Conformance check: every Synthea bundle of ../shared/data/fhir/synthea-sample goes through
POST /fhir as a transaction, and Patient/$everything returns every resource about its patient.

    python tools/conformance_synthea.py [FOLDER]

Runs the app in process over a fresh SQLite database, as a system client; prints one line per
bundle and exits non-zero on the first difference.
"""

import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import orjson
from fastapi.testclient import TestClient

from songkhoe.app import create_app
from songkhoe.auth.service import create_client, issue_token
from songkhoe.db.engine import make_engine
from songkhoe.db.migrate import upgrade
from songkhoe.fhir.store import ResourceStore

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "fhir" / "synthea-sample"
REFERENCE_DATA = ("Organization", "Practitioner", "PractitionerRole", "Location")


def check(client: TestClient, headers: dict, path: Path) -> str:
    bundle = orjson.loads(path.read_bytes())
    response = client.post("/fhir", content=orjson.dumps(bundle), headers=headers)
    if response.status_code != 200:
        raise SystemExit(f"{path.name}: POST /fhir answered {response.status_code}")
    locations = [e["response"]["location"].split("/_history")[0] for e in response.json()["entry"]]
    expected = {
        loc
        for loc, entry in zip(locations, bundle["entry"], strict=True)
        if entry["resource"]["resourceType"] not in REFERENCE_DATA
    }
    (patient,) = [loc for loc in locations if loc.startswith("Patient/")]
    everything = client.get(f"/fhir/{patient}/$everything", headers=headers).json()
    returned = {
        f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in everything["entry"]
    }
    if returned != expected:
        missing, extra = sorted(expected - returned)[:5], sorted(returned - expected)[:5]
        raise SystemExit(f"{path.name}: $everything differs; missing {missing}, extra {extra}")
    return f"{path.name}: {len(bundle['entry'])} entries, $everything returned {len(returned)}"


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    bundles = sorted(folder.glob("*.json"))
    if not bundles:
        raise SystemExit(f"no Synthea bundles in {folder}")
    with tempfile.TemporaryDirectory() as work:
        engine = make_engine(f"sqlite:///{Path(work) / 'synthea.db'}")
        upgrade(engine)
        store = ResourceStore(engine)
        create_client(engine, client_id="conformance", scopes="system/*.*", with_secret=False)
        token = issue_token(
            engine, scopes="system/*.*", expires_in=timedelta(hours=1), client_id="conformance"
        )
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
        client = TestClient(create_app(store=store))
        for path in bundles:
            print(check(client, headers, path))
    print(f"{len(bundles)} of {len(bundles)} Synthea bundles: transaction and $everything agree")


if __name__ == "__main__":
    main()
