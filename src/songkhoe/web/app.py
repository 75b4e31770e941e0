"""FastAPI app factory."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from songkhoe import __version__
from songkhoe.auth import api as auth_api
from songkhoe.chatbot import views as chatbot_views
from songkhoe.config import get_settings
from songkhoe.fhir import api as fhir_api
from songkhoe.fhir.store import ResourceStore
from songkhoe.imaging import views as imaging_views
from songkhoe.ncd import api as ncd_api
from songkhoe.prescribing import views as prescribing_views
from songkhoe.surveillance import views as surveillance_views
from songkhoe.telehealth import views as telehealth_views
from songkhoe.web import views
from songkhoe.web.hardening import install_hardening
from songkhoe.web.map_views import tile_origin


def create_app(*, store: ResourceStore) -> FastAPI:
    """The app serving one store: the FHIR API at /fhir; `GET /healthz` tells whether the
    database answers."""
    app = FastAPI(title="Sống Khỏe", version=__version__)
    app.state.store = store

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

    app.include_router(auth_api.build_router(store))
    app.include_router(views.build_router(store))
    app.include_router(ncd_api.build_router(store))
    app.include_router(imaging_views.build_router(store))
    app.include_router(telehealth_views.build_router(store))
    app.include_router(prescribing_views.build_router(store))
    app.include_router(surveillance_views.build_router(store))
    app.include_router(chatbot_views.build_router(store))
    app.mount("/static", StaticFiles(directory=Path(__file__).with_name("static")), "static")
    fhir_api.install(app, store)
    settings = get_settings()
    install_hardening(  # last: the outermost layer, so it also covers 401s and errors
        app,
        max_body_bytes=settings.max_body_mb * 1024 * 1024,
        rate_limit_per_minute=settings.rate_limit_per_minute,
        image_origins=tuple(filter(None, [tile_origin(settings.map_tiles_url)])),
    )
    return app
