"""Write a synthetic province into the store (`songkhoe synth`)."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from songkhoe.fhir.store import ResourceStore
from songkhoe.synth.population import generate


@dataclass(frozen=True, slots=True)
class SynthReport:
    people: int
    resources: int
    seconds: float


def populate(
    *,
    store: ResourceStore,
    province_code: str,
    people: int,
    seed: int,
    as_of: date,
    progress: Callable[[int, int], None] | None = None,
) -> SynthReport:
    """Generate `people` people of one province with their history, in one transaction.

    `progress(people_done, resources_done)` is called after each batch. A bad province or count
    raises (UnknownPlace, ValueError) before anything is written.
    """
    started = time.perf_counter()
    done_people = done_resources = 0
    with store.transaction() as writer:
        for batch in generate(province_code=province_code, people=people, seed=seed, as_of=as_of):
            writer.create_many(batch)
            done_people += sum(1 for r in batch if r["resourceType"] == "Patient")
            done_resources += len(batch)
            if progress is not None:
                progress(done_people, done_resources)
    store.analyze()
    return SynthReport(done_people, done_resources, time.perf_counter() - started)
