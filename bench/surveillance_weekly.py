"""The weekly surveillance job on one synthetic province, against the bare detector on the same
series, measured in the same run.

    bare     songkhoe.surveillance.detect(series, "noufaily") on each disease's commune series
             of the province (communes x 6 diseases x 6 years, the last week evaluated), the
             series already in memory: the statistics alone;
    weekly   songkhoe.surveillance.service.run_weekly for the same week: read every case report
             of the store, count them by commune, disease and ISO week with zeros, read the
             registered population, run the same detector, and write the alerts (first run) or
             find them present (later runs: idempotent);
    ratio    weekly / bare: what aggregation and alert writing add to the detector.
Also shown: reading the case reports (`aggregation.read_cases`) and the aggregation alone.

Data: `synthetic_province` (songkhoe.synth population, six years of synthetic cases of the six
demo diseases, a dengue outbreak in the busiest commune in the last complete week before
--as-of). Times are wall-clock, best of --runs (bare and weekly interleaved), one BLAS thread;
run it on an otherwise idle machine.

    python bench/surveillance_weekly.py [--province 24] [--people 20000] [--postgres]
"""

import os

# one thread, as bench/surveillance_noufaily.py: the detector's small matrix products gain nothing
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from datetime import date  # noqa: E402

import numpy as np  # noqa: E402

from songkhoe.fhir.store import ResourceStore  # noqa: E402
from songkhoe.places.catalog import communes  # noqa: E402
from songkhoe.surveillance import aggregation as agg  # noqa: E402
from songkhoe.surveillance.detect import detect  # noqa: E402
from songkhoe.surveillance.service import run_weekly  # noqa: E402
from songkhoe.surveillance.synth_cases import DEMO_DISEASES, synthetic_province  # noqa: E402

from common import fresh_postgres, fresh_sqlite  # noqa: E402


def best_of(runs: int, work) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--province", default="24")
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 6, 30))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    fresh = fresh_postgres if args.postgres else fresh_sqlite
    with fresh() as engine:
        store = ResourceStore(engine)
        started = time.perf_counter()
        outbreak = synthetic_province(store, province_code=args.province, people=args.people,
                                      seed=1, as_of=args.as_of)  # fmt: skip
        cases = agg.read_cases(engine)
        n_communes = len(communes(args.province))
        print(f"{'PostgreSQL' if args.postgres else 'SQLite'}: province {args.province}, "
              f"{n_communes} communes, {args.people:,} people, {len(cases):,} case reports "
              f"({time.perf_counter() - started:.1f} s to synthesise)")  # fmt: skip
        week = outbreak.week
        start = agg.reporting_start(cases)

        def aggregate() -> list:
            return [agg.weekly_series(engine, province_code=args.province, disease=key,
                                      start=start, end=week, cases=cases)
                    for key in DEMO_DISEASES]  # fmt: skip

        read_s, _ = best_of(args.runs, lambda: agg.read_cases(engine))
        aggregate_s, series = best_of(args.runs, aggregate)
        weeks = series[0].dates.size
        last = weeks - 1

        def bare() -> int:
            return sum(int(np.atleast_2d(detect(s, "noufaily", first=last).alarm)[:, -1].sum())
                       for s in series)  # fmt: skip

        started = time.perf_counter()
        first = run_weekly(store, week=week)
        first_s = time.perf_counter() - started
        bare_times, again_times = [], []
        for _ in range(args.runs):  # interleaved, so that a busy moment hits both alike
            seconds, bare_alarms = best_of(1, bare)
            bare_times.append(seconds)
            seconds, again = best_of(1, lambda: run_weekly(store, week=week))
            again_times.append(seconds)
        bare_s, again_s = min(bare_times), min(again_times)
        assert first.alarms == again.alarms == bare_alarms, (first, again, bare_alarms)
        assert first.series == again.series == n_communes * len(DEMO_DISEASES)
        print(
            f"series: {first.series:,} (communes x {len(DEMO_DISEASES)} diseases), "
            f"{weeks} weeks each; {first.alarms} alarms, {first.created} alerts written"
        )
        print(f"read case reports        {read_s:8.3f} s")
        print(f"aggregate 6 diseases     {aggregate_s:8.3f} s")
        print(f"bare detector (noufaily) {bare_s:8.3f} s   baseline")
        print(f"weekly job, first run    {first_s:8.3f} s   {first_s / bare_s:6.2f} x bare "
              "(writes the alerts)")  # fmt: skip
        print(f"weekly job, again        {again_s:8.3f} s   {again_s / bare_s:6.2f} x bare "
              "(alerts present)")  # fmt: skip


if __name__ == "__main__":
    main()
