"""Server time and first-load bytes of the web app's main pages, at 100,000 people on SQLite.

    baseline    GET /people?q=CCCD by the same commune health worker: finding a person by their
                citizen ID (one indexed search, audited), what any visit starts with;
    chart       GET /people/{id}: the person's chart (trends, risk with its inputs, history),
                each run a different person of the commune; then the same pages with the other
                domains' chart panels (telehealth, imaging, ...) taken off, to show their share;
    worklist    GET /worklists/overdue and /worklists/uncontrolled of the commune;
    map         GET /map of the province's communes by a provincial manager: the first request
                of each indicator (cold: counts the indicator per commune in SQL) and the next
                ones (served from the cache, valid until the next `songkhoe ncd refresh`); and,
                for comparison, the NCD indicators computed the way the dashboard does (the
                province's projections read into arrays), which the map did before.
Server time is measured in-process (ASGI app, no network), p50 and p95 over `--runs` requests,
with the median CPU time of the process per request (the work, without the waits for a core on a
shared machine).
First load: the bytes a browser with an empty cache transfers for the page: the HTML and every
stylesheet, script and GeoJSON it loads, compressed as the server sends them to a browser
that accepts gzip. Goal (issue 6): p95 <= 100 ms, first load <= 300 KB.

The database (synthetic province `--province`, `--people` people, check-ups up to today, NCD
projections refreshed) is built once and cached under var/bench/ (several minutes the first time).

    python bench/web_pages.py [--people 100000] [--province 24] [--runs 50]
"""

import argparse
import os
import re
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

os.environ.setdefault("SONGKHOE_RATE_LIMIT_PER_MINUTE", "0")  # one client, many requests
from sqlalchemy import select

from songkhoe.app import create_app
from songkhoe.auth.service import create_user
from songkhoe.db.engine import make_engine
from songkhoe.db.migrate import upgrade
from songkhoe.db.tables import resource
from songkhoe.fhir.store import ResourceStore
from songkhoe.ncd import indicators
from songkhoe.ncd.figures import projections_month
from songkhoe.ncd.service import refresh
from songkhoe.places.catalog import communes
from songkhoe.synth.service import populate
from songkhoe.web import pages
from songkhoe.web.map_indicators import registered

PASSWORD = "mật-khẩu-để-đo-hiệu-năng"
VAR = Path(__file__).resolve().parents[1] / "var" / "bench"


def database(people: int, province: str) -> tuple[ResourceStore, str]:
    """The cached benchmark database and the commune with the most people."""
    VAR.mkdir(parents=True, exist_ok=True)
    path = VAR / f"web_{province}_{people}.db"
    fresh = not path.exists()
    engine = make_engine(f"sqlite:///{path}")
    store = ResourceStore(engine)
    if fresh:
        try:
            upgrade(engine)
            started = time.perf_counter()
            today = datetime.now(UTC).date()
            populate(store=store, province_code=province, people=people, seed=1, as_of=today)
            refresh(store=store)
            print(f"(built {path.name} in {time.perf_counter() - started:.0f} s)")
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    with engine.connect() as conn:
        orgs = Counter(
            c["managingOrganization"]["reference"].removeprefix("Organization/tyt-")
            for (c,) in conn.execute(
                select(resource.c.content).where(
                    resource.c.res_type == "Patient", resource.c.is_current
                )
            )
        )
    commune = orgs.most_common(1)[0][0]
    if fresh:
        create_user(
            engine,
            username="bench.worker",
            password=PASSWORD,
            role="commune_health_worker",
            place=f"commune:{commune}",
            full_name="bench",
        )
        create_user(
            engine,
            username="bench.manager",
            password=PASSWORD,
            role="provincial_manager",
            place=f"province:{province}",
            full_name="bench",
        )
    return store, commune


def logged_in(app, username: str) -> TestClient:
    client = TestClient(app)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)[1]
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf": token})
    return client


def timed(client: TestClient, paths: list[str]) -> np.ndarray:
    """Milliseconds per request: wall time (column 0) and this process's CPU time (column 1),
    which on a shared machine counts the work without the waits for a core."""
    times = []
    for path in paths:
        started, cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        times.append(((time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000))
        assert response.status_code == 200, (path, response.status_code)
    return np.array(times)


def first_load(client: TestClient, path: str) -> tuple[int, dict[str, int]]:
    """Bytes transferred for a page and what it loads, with an empty cache and gzip."""

    def raw(url: str) -> bytes:
        with client.stream("GET", url, headers={"accept-encoding": "gzip"}) as response:
            assert response.status_code == 200, url
            return b"".join(response.iter_raw())

    html = raw(path)
    text = html.decode()
    parts = {"html": len(html)}
    assets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', text)
    assets += re.findall(r'<script src="([^"]+)"', text)
    assets += re.findall(r'data-geo="([^"]+)"', text)
    for url in assets:
        parts[url] = len(raw(url))
    return sum(parts.values()), parts


def report(name: str, ms: np.ndarray, baseline: float) -> None:
    p50, p95 = np.percentile(ms[:, 0], [50, 95])
    print(
        f"{name:<24} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  ({p50 / baseline:5.1f}x baseline)  "
        f"cpu p50 {np.percentile(ms[:, 1], 50):5.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--province", default="24")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    store, commune = database(args.people, args.province)
    app = create_app(store=store)
    worker, manager = logged_in(app, "bench.worker"), logged_in(app, "bench.manager")
    with store.engine.connect() as conn:
        found = [
            (pid, content["identifier"][0]["value"])
            for (pid, content) in conn.execute(
                select(resource.c.res_id, resource.c.content).where(
                    resource.c.res_type == "Patient", resource.c.is_current
                )
            )
            if content["managingOrganization"]["reference"] == f"Organization/tyt-{commune}"
            and content["birthDate"] < "1980"
        ][: args.runs]
    people = [pid for pid, _ in found]
    print(
        f"{args.people:,} people, province {args.province}, commune {commune} "
        f"({len(people)} people timed), {args.runs} runs each"
    )
    timed(worker, [f"/people/{people[0]}", f"/people?q={found[0][1]}"])  # warm up
    base = timed(worker, [f"/people?q={cccd}" for _, cccd in found])
    baseline = float(np.percentile(base[:, 0], 50))
    report("baseline (find by CCCD)", base, baseline)
    charts = [f"/people/{p}" for p in people]
    report("person chart", timed(worker, charts), baseline)
    others = pages.CHART_PANELS[:]
    pages.CHART_PANELS[:] = [p for p in others if p.template.startswith("ncd/")]
    report("  without other domains", timed(worker, charts), baseline)
    pages.CHART_PANELS[:] = others
    for kind in ("overdue", "uncontrolled"):
        paths = [f"/worklists/{kind}?commune={commune}"] * args.runs
        report(f"worklist {kind}", timed(worker, paths), baseline)
    cold = []
    for indicator in registered():
        path = f"/map?province={args.province}&indicator={indicator.key}"
        cold.append(timed(manager, [path])[0, 0])
    print(
        f"{'commune map, cold':<24} {' / '.join(f'{c:.0f}' for c in cold)} ms "
        f"(first request of each of {len(cold)} indicators)"
    )
    paths = [f"/map?province={args.province}&indicator={i.key}" for i in registered()]
    report("commune map (cached)", timed(manager, paths * (args.runs // len(paths) + 1)), baseline)
    started = time.perf_counter()
    with store.engine.connect() as conn:
        cohort = indicators.load(conn, [c.code for c in communes(args.province)])
    month = indicators.parse_month(projections_month(store.engine))
    indicators.person_states(cohort, month)
    print(
        f"{'  arrays (as before)':<24} {(time.perf_counter() - started) * 1000:.0f} ms "
        "(the province's NCD indicators from its projections read into arrays)"
    )
    print("first load (empty cache, gzip):")
    for client, path in (
        (worker, f"/people/{people[0]}"),
        (worker, f"/worklists/overdue?commune={commune}"),
        (manager, f"/map?province={args.province}"),
    ):
        total, parts = first_load(client, path)
        detail = ", ".join(f"{k} {v / 1024:.1f}" for k, v in parts.items())
        print(f"  {path.split('?')[0]:<40} {total / 1024:6.1f} KB  ({detail})")


if __name__ == "__main__":
    main()
