"""The composition root of the web app: one FastAPI app serving one store, with every domain's
routers (pages, JSON APIs), the FHIR API at /fhir and the hardening middleware around them."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from songkhoe import __version__
from songkhoe.auth import api as auth_api
from songkhoe.chatbot import views as chatbot_views
from songkhoe.clinical import pages as clinical_pages
from songkhoe.config import get_settings, tile_origin
from songkhoe.fhir import api as fhir_api
from songkhoe.fhir.store import ResourceStore
from songkhoe.imaging import views as imaging_views
from songkhoe.ncd import api as ncd_api
from songkhoe.ncd import views as ncd_views
from songkhoe.prescribing import views as prescribing_views
from songkhoe.surveillance import api as surveillance_api
from songkhoe.surveillance import views as surveillance_views
from songkhoe.telehealth import views as telehealth_views
from songkhoe.web import assets, map_views, pages, views
from songkhoe.web.hardening import install_hardening

STATIC = Path(__file__).parent / "web" / "static"


def create_app(*, store: ResourceStore) -> FastAPI:
    """The app serving one store: the FHIR API at /fhir; `GET /healthz` tells whether the
    database answers."""
    app = FastAPI(title="Sống Khỏe", version=__version__)
    app.state.store = store
    pages.install(app)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        try:
            with store.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # any failure to answer means unhealthy; details stay in the server
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse(
            {"status": "ok", "database": store.engine.dialect.name, "version": __version__}
        )

    app.include_router(auth_api.router)
    app.include_router(views.public)
    app.include_router(views.router)
    app.include_router(assets.router)
    app.include_router(clinical_pages.router)
    app.include_router(ncd_views.router)
    map_views.install(app)  # the map, with the tile layer read once like the CSP below
    app.include_router(ncd_api.router)
    imaging_views.install(app, store)  # its pages, and the AI worker when run in a thread
    telehealth_views.install(app, store)
    app.include_router(prescribing_views.router)
    app.include_router(surveillance_api.router)
    app.include_router(surveillance_views.router)
    app.include_router(chatbot_views.router)
    app.mount("/static", StaticFiles(directory=STATIC), "static")
    fhir_api.install(app)
    settings = get_settings()
    install_hardening(  # last: the outermost layer, so it also covers 401s and errors
        app,
        max_body_bytes=settings.max_body_mb * 1024 * 1024,
        rate_limit_per_minute=settings.rate_limit_per_minute,
        image_origins=tuple(filter(None, [tile_origin(settings.map_tiles_url)])),
    )
    return app
