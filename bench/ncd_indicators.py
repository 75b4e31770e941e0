"""NCD indicators of a synthetic province on SQLite, against a baseline measured in the same run.

    baseline    reading the projection arrays of the province (songkhoe.ncd.indicators.load):
                what any computation over the projections pays first;
    indicators  `songkhoe ncd indicators --province P --month M --by commune` without the
                printing: read the arrays and compute every indicator for the province and
                each commune (songkhoe.ncd.indicators.indicators);
    12 months   the indicators of the 12 months up to M from arrays already read.
Also shown: the time to synthesise the province and to rebuild its projections and risk
assessments (`songkhoe ncd refresh`). Goal (issue 10): indicators of a province of 200,000 people
<= 5 s on SQLite.

    python bench/ncd_indicators.py [--people 200000] [--province 33] [--month 2026-06]
"""

import argparse
import time
from datetime import date

import numpy as np

from songkhoe.fhir.store import ResourceStore
from songkhoe.ncd.indicators import indicators, load, parse_month, table
from songkhoe.ncd.service import refresh
from songkhoe.places.catalog import communes
from songkhoe.synth.service import populate

from common import fresh_sqlite

AS_OF = date(2026, 6, 30)


def best_of(runs: int, work) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--province", default="33")
    parser.add_argument("--month", default="2026-06")
    args = parser.parse_args()
    with fresh_sqlite() as engine:
        store = ResourceStore(engine)
        synth = populate(
            store=store, province_code=args.province, people=args.people, seed=1, as_of=AS_OF
        )
        print(f"synthesised {synth.people:,} people, {synth.resources:,} resources "
              f"in {synth.seconds:.1f} s")  # fmt: skip
        started = time.perf_counter()
        summary = refresh(store=store)
        rows = ", ".join(f"{k} {v:,}" for k, v in summary.projections.rows.items())
        print(f"refresh     {time.perf_counter() - started:7.2f} s  ({rows}; "
              f"{summary.assessed:,} risk assessments)")  # fmt: skip

        codes = [c.code for c in communes(args.province)]
        place = ("province", args.province)

        def read_arrays() -> None:
            with engine.connect() as conn:
                load(conn, codes)

        baseline = best_of(3, read_arrays)
        full = best_of(
            3,
            lambda: indicators(engine, place=place, month=args.month, by_commune=True),
        )
        with engine.connect() as conn:
            cohort = load(conn, codes)
        last = parse_month(args.month)
        months = [str(np.datetime64(m, "M")) for m in range(last - 11, last + 1)]
        year = best_of(
            3,
            lambda: [table(cohort, m, place=place, by_commune=True) for m in months],
        )
        print(f"baseline    {baseline:7.2f} s  reading the projection arrays")
        print(f"indicators  {full:7.2f} s  {full / baseline:5.2f}x baseline  "
              f"(goal <= 5 s for 200,000 people; {args.people:,} here)")  # fmt: skip
        print(f"12 months   {year:7.2f} s  {year / baseline:5.2f}x baseline (arrays already read)")


if __name__ == "__main__":
    main()
