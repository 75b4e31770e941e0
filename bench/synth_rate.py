"""Synthetic population rate: generation alone and generation written to the store.

    generate   songkhoe.synth.population.generate, consumed without writing (people/s);
    end-to-end songkhoe.synth.service.populate into a fresh database of each backend, which is what
               `songkhoe synth` runs (people/s).
The ratio end-to-end/generate shows the share of time the database writes take.
Goal: >= 2,000 people/s including their history.

    python bench/synth_rate.py [--people 100000]
"""

import argparse
import time
from datetime import date

from songkhoe.fhir.store import ResourceStore
from songkhoe.places.service import load
from songkhoe.synth.population import generate
from songkhoe.synth.service import populate

from common import backends

AS_OF = date(2026, 1, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100000)
    args = parser.parse_args()
    started = time.perf_counter()
    resources = sum(
        len(batch)
        for batch in generate(province_code="24", people=args.people, seed=1, as_of=AS_OF)
    )
    gen_seconds = time.perf_counter() - started
    gen_rate = args.people / gen_seconds
    print(
        f"generate    {gen_rate:9,.0f} people/s  {resources / gen_seconds:9,.0f} resources/s  "
        f"({args.people:,} people, {resources:,} resources, {gen_seconds:.1f} s)"
    )
    for name, fresh in backends():
        with fresh() as engine:
            store = ResourceStore(engine)
            load(store=store)
            report = populate(
                store=store, province_code="24", people=args.people, seed=1, as_of=AS_OF
            )
        rate = report.people / report.seconds
        print(
            f"end-to-end  {rate:9,.0f} people/s  {report.resources / report.seconds:9,.0f} "
            f"resources/s  on {name} ({report.seconds:.1f} s); ratio to generate = "
            f"{rate / gen_rate:.2f}"
        )


if __name__ == "__main__":
    main()
