"""Load the administrative map and the facilities into the resource store."""

from sqlalchemy import select

from songkhoe.db.tables import resource
from songkhoe.fhir.store import ResourceStore
from songkhoe.places.resources import place_resources


def load(*, store: ResourceStore) -> int:
    """Create the place resources that are not in the store yet; returns how many were created."""
    wanted = list(place_resources())
    with store.engine.connect() as conn:
        present = set(
            conn.execute(
                select(resource.c.res_type, resource.c.res_id).where(
                    resource.c.res_type.in_(("Location", "Organization")), resource.c.is_current
                )
            ).tuples()
        )
    missing = [r for r in wanted if (r["resourceType"], r["id"]) not in present]
    store.create_many(missing)
    return len(missing)
