"""Store insert rate versus the raw engine.

Writes the same synthetic resources twice into fresh databases of each backend:
  store    ResourceStore.create_many: stamping, JSON serialisation, index extraction, inserts;
  baseline the rows the store would write (resource rows with their JSON text, index rows),
           built beforehand, inserted with the DB-API's executemany in one transaction: the
           physical limit of the engine for these rows.
Prints resources/s for both and the ratio store/baseline (goal: >= 0.5).

    python bench/store_insert_rate.py [--people 10000]
"""

import argparse
import time
from datetime import date
from itertools import chain

import orjson

from songkhoe.db.tables import INDEX_TABLES, resource
from songkhoe.fhir.indexing import extract
from songkhoe.fhir.store import ResourceStore, stamped, utc_now
from songkhoe.synth.population import generate

from common import backends

COLUMNS = {
    "token": ("system", "code"),
    "string": ("value", "exact"),
    "date": ("low", "high"),
    "reference": ("target_type", "target_id"),
    "quantity": ("value", "system", "code"),
}


def raw_rows(resources: list[dict]) -> dict[str, list[tuple]]:
    """The rows the store writes for these resources, as DB-API tuples."""
    now = utc_now()
    rows: dict[str, list[tuple]] = {"resource": []} | {kind: [] for kind in INDEX_TABLES}
    for res in resources:
        stored = stamped(res, res["id"], 1, now)
        key = (res["resourceType"], res["id"])
        rows["resource"].append((*key, 1, now, True, False, orjson.dumps(stored).decode()))
        index = extract(stored)
        for kind in INDEX_TABLES:
            rows[kind] += [(*key, *row) for row in getattr(index, kind)]
    return rows


def raw_insert(engine, rows: dict[str, list[tuple]]) -> None:
    tables = {"resource": resource} | INDEX_TABLES
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        for name, table_rows in rows.items():
            columns = [c.name for c in tables[name].columns]
            sql = (
                f"INSERT INTO {tables[name].name} ({', '.join(columns)}) "
                f"VALUES ({', '.join([mark] * len(columns))})"
            )
            cursor.executemany(sql, table_rows)
        connection.commit()
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10000)
    args = parser.parse_args()
    resources = list(
        chain.from_iterable(
            generate(province_code="24", people=args.people, seed=7, as_of=date(2026, 1, 1))
        )
    )
    rows = raw_rows(resources)
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
            f"raw executemany {raw_rate:9,.0f} resources/s ({raw_seconds:6.2f} s)   "
            f"ratio store/raw = {store_rate / raw_rate:.2f}"
        )


if __name__ == "__main__":
    main()
