"""The FastAPI dependency that hands a route its app's store (`songkhoe.app.create_app` keeps it
in `app.state`): one definition for the FHIR API, the token endpoint and the web kit."""

from typing import Annotated

from fastapi import Depends, Request

from songkhoe.fhir.store import ResourceStore


async def app_store(request: Request) -> ResourceStore:
    """The store of the app serving the request. Async because it does no I/O: FastAPI runs a
    sync dependency on the thread pool, which would cost every request a hop for nothing."""
    return request.app.state.store


StoreDep = Annotated[ResourceStore, Depends(app_store)]
