"""Load the administrative map and the facilities into the resource store."""

from songkhoe.fhir.queries import ids_in_use
from songkhoe.fhir.store import ResourceStore
from songkhoe.places.resources import place_resources


def load(*, store: ResourceStore) -> int:
    """Create the place resources that are not in the store yet; returns how many were created."""
    wanted = list(place_resources())
    with store.engine.connect() as conn:
        present = set(conn.execute(ids_in_use(("Location", "Organization"))).tuples())
    missing = [r for r in wanted if (r["resourceType"], r["id"]) not in present]
    store.create_many(missing)
    return len(missing)
