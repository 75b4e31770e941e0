"""Store insert rate versus the raw engine.

Writes the same synthetic resources twice into fresh databases of each backend:
  store    ResourceStore.create_many: stamping, JSON serialisation, index extraction, inserts;
  baseline the rows the store would write (resource rows with their JSON text, index rows),
           built beforehand (store.table_rows), inserted in one transaction by the fastest
           path (store.insert_rows: one INSERT over json_each per table on SQLite, COPY on
           PostgreSQL; songkhoe.db.bulk): the physical limit of the engine for these rows.
Prints resources/s for both and the ratio store/baseline (goal: >= 0.5).

    python bench/store_insert_rate.py [--people 10000]
"""

import argparse
import time
from datetime import date
from itertools import chain

from songkhoe.fhir.store import ResourceStore, insert_rows, stamped, table_rows, utc_now
from songkhoe.synth.population import generate

from common import backends


def raw_insert(engine, rows: dict[str, list[tuple]]) -> None:
    with engine.begin() as conn:
        insert_rows(conn, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10000)
    args = parser.parse_args()
    resources = list(
        chain.from_iterable(
            generate(province_code="24", people=args.people, seed=7, as_of=date(2026, 1, 1))
        )
    )
    stored = [stamped(r, r["id"], 1, utc_now()) for r in resources]
    rows = table_rows(stored, 1, utc_now())
    n_index = sum(len(v) for k, v in rows.items() if k != "resource")
    print(f"{len(resources):,} resources ({args.people:,} people), {n_index:,} index rows")
    for name, fresh in backends():
        with fresh() as engine:
            started = time.perf_counter()
            raw_insert(engine, rows)
            raw_seconds = time.perf_counter() - started
        with fresh() as engine:
            store = ResourceStore(engine)
            started = time.perf_counter()
            store.create_many(resources)
            store_seconds = time.perf_counter() - started
        raw_rate, store_rate = len(resources) / raw_seconds, len(resources) / store_seconds
        print(
            f"{name:10}  store {store_rate:9,.0f} resources/s ({store_seconds:6.2f} s)   "
            f"raw insert {raw_rate:9,.0f} resources/s ({raw_seconds:6.2f} s)   "
            f"ratio store/raw = {store_rate / raw_rate:.2f}"
        )


if __name__ == "__main__":
    main()
