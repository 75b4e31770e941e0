"""Write a synthetic province into the store (`songkhoe synth`)."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from songkhoe.claims.catalogue import COMMUNE_STATION, DISTRICT, ensure_shipped
from songkhoe.claims.providers import register_synthetic
from songkhoe.fhir.store import ResourceStore
from songkhoe.places.facilities import facilities
from songkhoe.synth.population import generate


@dataclass(frozen=True, slots=True)
class SynthReport:
    people: int
    resources: int
    seconds: float


def claims_setup(store: ResourceStore, province_code: str) -> int:
    """What the province's claimable visits name, written unless the store holds it: the
    Organizations of its facilities with their synthetic BHYT codes and care levels
    (`claims.providers`; one lacking is created as `songkhoe places load` would) and the shipped
    price lists (`claims.catalogue`). Returns how many resources were written."""
    written = register_synthetic(store, facilities(province_code))
    return written + sum(ensure_shipped(store, name) for name in (COMMUNE_STATION, DISTRICT))


def populate(
    *,
    store: ResourceStore,
    province_code: str,
    people: int,
    seed: int,
    as_of: date,
    progress: Callable[[int, int], None] | None = None,
) -> SynthReport:
    """Generate `people` people of one province with their history, in one transaction, after
    what their claims name (`claims_setup`, not counted in the report).

    `progress(people_done, resources_done)` is called after each batch. A bad province or count
    raises (UnknownPlace, ValueError) before anything is written.
    """
    started = time.perf_counter()
    batches = generate(province_code=province_code, people=people, seed=seed, as_of=as_of)
    claims_setup(store, province_code)
    done_people = done_resources = 0
    with store.transaction() as writer:
        for batch in batches:
            writer.create_many(batch)
            done_people += sum(1 for r in batch if r["resourceType"] == "Patient")
            done_resources += len(batch)
            if progress is not None:
                progress(done_people, done_resources)
    store.analyze()
    return SynthReport(done_people, done_resources, time.perf_counter() - started)
