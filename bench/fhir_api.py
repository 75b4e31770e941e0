"""FHIR API: transaction-bundle ingest rate and search latency at scale.

For each backend, a fresh database gets a synthetic province of --people people (default
100,000) through the store; `songkhoe serve` then serves it in a process of its own (the
production server, with its process settings: songkhoe.runtime), and one client sends every request
over a real socket, waiting for each answer before the next:
  ingest   POST /fhir transaction bundles (urn:uuid references) of --bundle-people people with
           their history each, --bundles of them, sent as bytes encoded before the clock starts
           (the server's work is timed, not the client's JSON encoder), after one more bundle
           sent untimed (the validator builds its tables of each element type on first use:
           about 0.2 s, once per process); first by one client, each bundle after the answer to
           the last, then (other people) by --clients clients at once, as a loader with several
           connections sends them; resources/s, with as baseline the one-client resources
           written by ResourceStore.create_many in the bench's own process once the server is
           stopped (no HTTP, no validation, no references to resolve, no access checks or
           audit, one transaction; ids assigned by the store, as the API assigns them). On
           SQLite each timing starts with nothing left to checkpoint and ends when all it wrote
           is in the database file, so that neither inherits nor leaves checkpoint work;
  search   (as a system client that sees everyone; every request also writes its AuditEvent)
           GET /fhir/Patient?identifier=system|value and
           GET /fhir/Observation?patient=ID&code=LOINC|code for random existing people;
           p50/p95 in ms as the client sees them, with as baseline GET /fhir/Patient/ID (a
           primary-key read through the same server) in the same run; and the second search as
           a commune health worker, whose results the access policy restricts to the commune's
           people.
Goals: ingest >= 5,000 resources/s; both searches p95 <= 20 ms.

    python bench/fhir_api.py [--people 100000] [--bundles 20] [--clients 2] [--queries 300]
                             [--backend B]
"""

import argparse
import random
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from itertools import chain

import httpx
import orjson
from sqlalchemy import Engine

from songkhoe.auth.service import create_client, create_user, issue_token
from songkhoe.fhir.store import ResourceStore
from songkhoe.fhir.systems import CCCD
from songkhoe.places.service import load
from songkhoe.runtime import tune_for_server
from songkhoe.synth.population import generate
from songkhoe.synth.service import populate

from common import backends, served

AS_OF = date(2026, 1, 1)
BP_PANEL = "http://loinc.org|85354-9"


def people_with_history(resources: list[dict]) -> list[list[dict]]:
    """Group a synthetic batch into one list per person (the Patient first)."""
    by_patient: dict[str, list[dict]] = {}
    for res in resources:
        if res["resourceType"] == "Patient":
            by_patient[res["id"]] = [res]
        else:
            by_patient[res["subject"]["reference"].split("/")[1]].append(res)
    return list(by_patient.values())


def transaction_bundle(person: list[dict]) -> dict:
    """A transaction that POSTs a person and their history with urn:uuid references."""
    urns = {f"{r['resourceType']}/{r['id']}": f"urn:uuid:{uuid.uuid4()}" for r in person}

    def rewrite(node):
        if isinstance(node, dict):
            return {k: urns.get(v, v) if k == "reference" else rewrite(v) for k, v in node.items()}
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    entries = []
    for res in person:
        body = rewrite({k: v for k, v in res.items() if k != "id"})
        entries.append(
            {
                "fullUrl": urns[f"{res['resourceType']}/{res['id']}"],
                "resource": body,
                "request": {"method": "POST", "url": res["resourceType"]},
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=20)
    return f"p50 {statistics.median(samples):6.2f} ms  p95 {cuts[18]:6.2f} ms"


def commune_worker(store: ResourceStore, patient: dict) -> dict[str, str]:
    """The Authorization header of a health worker of this person's commune, whose searches the
    access policy restricts to the commune's people."""
    commune_code = patient["managingOrganization"]["reference"].removeprefix("Organization/tyt-")
    user_id = create_user(
        store.engine,
        username="bench.worker",
        password="bench-password",
        role="commune_health_worker",
        place=f"commune:{commune_code}",
        full_name="bench",
    )
    token = issue_token(
        store.engine, scopes="user/*.*", expires_in=timedelta(hours=2), user_id=user_id
    )
    return {"Authorization": f"Bearer {token}"}


def timed_gets(client: httpx.Client, urls: list[str], headers: dict | None = None) -> list[float]:
    samples = []
    for url in urls:
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return samples


def checkpoint(engine: Engine) -> None:
    """SQLite: return once all the write-ahead log is in the database file, copied by this call
    or by the engine's background checkpointer (songkhoe.db.engine.Checkpointer), whose work
    is so counted in the timing that ends here; a no-op elsewhere."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        while True:
            busy, frames, copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
            if not busy and frames == copied:
                return
            time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100000)
    parser.add_argument("--bundles", type=int, default=20)
    parser.add_argument("--bundle-people", type=int, default=50)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default=None)
    args = parser.parse_args()
    size, count = args.bundle_people, args.bundles
    extra = generate(province_code="33", people=(2 * count + 1) * size, seed=99, as_of=AS_OF)
    people = people_with_history(list(chain.from_iterable(extra)))
    bundles = [
        transaction_bundle([r for person in people[i : i + size] for r in person])
        for i in range(0, len(people), size)
    ]
    warm_up, *bodies = [orjson.dumps(bundle) for bundle in bundles]
    one_client, several = bodies[:count], bodies[count:]
    sizes = [len(b["entry"]) for b in bundles[1:]]
    print(
        f"{count} transaction bundles of {sum(sizes[:count]):,} resources for one client, "
        f"{count} of {sum(sizes[count:]):,} for {args.clients} clients; on top of "
        f"{args.people:,} people"
    )
    rng = random.Random(5)
    for name, fresh in backends():
        if args.backend not in (None, name):
            continue
        with fresh() as engine:
            store = ResourceStore(engine)
            load(store=store)
            populate(store=store, province_code="24", people=args.people, seed=1, as_of=AS_OF)
            create_client(store.engine, client_id="bench", scopes="system/*.*", with_secret=False)
            token = issue_token(
                store.engine, scopes="system/*.*", expires_in=timedelta(hours=2), client_id="bench"
            )
            sample = rng.sample(
                [
                    p
                    for p in chain.from_iterable(
                        generate(province_code="24", people=args.people, seed=1, as_of=AS_OF)
                    )
                    if p["resourceType"] == "Patient"
                ],
                args.queries,
            )
            worker = commune_worker(store, sample[0])
            with served(engine) as base:
                clients = [
                    httpx.Client(
                        base_url=base, timeout=300, headers={"Authorization": f"Bearer {token}"}
                    )
                    for _ in range(args.clients)
                ]
                send(clients[0], warm_up)
                api_rate = ingest_rate(clients[:1], engine, one_client, sum(sizes[:count]))
                parallel_rate = ingest_rate(clients, engine, several, sum(sizes[count:]))
                searches(name, clients[0], sample, worker)
                for client in clients:
                    client.close()
            tune_for_server()  # the baseline runs under the server's settings
            timed = chain.from_iterable(people[size : (count + 1) * size])  # of `one_client`
            copies = [{k: v for k, v in r.items() if k != "id"} for r in timed]
            checkpoint(engine)
            started = time.perf_counter()
            store.create_many(copies)
            checkpoint(engine)
            store_rate = len(copies) / (time.perf_counter() - started)
            print(
                f"{name:10}  ingest through POST /fhir: {api_rate:8,.0f} resources/s with one "
                f"client, {parallel_rate:8,.0f} with {args.clients};  store.create_many "
                f"{store_rate:8,.0f} resources/s;  ratios {api_rate / store_rate:.2f}, "
                f"{parallel_rate / store_rate:.2f}"
            )


def send(client: httpx.Client, body: bytes) -> None:
    response = client.post("/fhir", content=body, headers={"Content-Type": "application/fhir+json"})
    assert response.status_code == 200, response.text[:500]


def ingest_rate(
    clients: list[httpx.Client], engine: Engine, bodies: list[bytes], n_resources: int
) -> float:
    """Resources/s of the transaction bundles `bodies`, each client posting its share one after
    the other, the clients at the same time."""
    checkpoint(engine)
    started = time.perf_counter()

    def post_share(i: int) -> None:
        for body in bodies[i :: len(clients)]:
            send(clients[i], body)

    with ThreadPoolExecutor(len(clients)) as pool:
        list(pool.map(post_share, range(len(clients))))
    checkpoint(engine)
    return n_resources / (time.perf_counter() - started)


def searches(name: str, client: httpx.Client, sample: list[dict], worker: dict) -> None:
    """Print the latency of the two searches, and of the second as a commune worker, beside
    that of a read by id."""
    cccd = [next(i["value"] for i in p["identifier"] if i["system"] == CCCD) for p in sample]
    baseline = timed_gets(client, [f"/fhir/Patient/{p['id']}" for p in sample])
    by_identifier = timed_gets(client, [f"/fhir/Patient?identifier={CCCD}|{c}" for c in cccd])
    by_patient_code = timed_gets(
        client, [f"/fhir/Observation?patient={p['id']}&code={BP_PANEL}" for p in sample]
    )
    station = sample[0]["managingOrganization"]["reference"]
    mine = [p for p in sample if p["managingOrganization"]["reference"] == station]
    as_worker = timed_gets(
        client,
        [f"/fhir/Observation?patient={p['id']}&code={BP_PANEL}" for p in mine * 20][:100],
        headers=worker,
    )
    base_p95 = statistics.quantiles(baseline, n=20)[18]
    for label, samples in (
        ("Patient?identifier=", by_identifier),
        ("Observation?patient=&code=", by_patient_code),
        ("same, as a commune worker", as_worker),
    ):
        ratio = statistics.quantiles(samples, n=20)[18] / base_p95
        print(
            f"{name:10}  {label:28} {percentiles(samples)}  "
            f"(read by id: {percentiles(baseline)}; p95 ratio {ratio:.1f})"
        )


if __name__ == "__main__":
    main()
