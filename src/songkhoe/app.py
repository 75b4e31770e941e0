"""The composition root of the web app: one FastAPI app serving one store, with every domain's
routers (pages, JSON APIs), the FHIR API at /fhir and the hardening middleware around them."""

from pathlib import Path

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.routing import Match

from songkhoe import __version__
from songkhoe.auth import api as auth_api
from songkhoe.chatbot import views as chatbot_views
from songkhoe.claims import views as claims_views
from songkhoe.clinical import pages as clinical_pages
from songkhoe.config import get_settings, tile_origin
from songkhoe.ecg import views as ecg_views
from songkhoe.fhir import api as fhir_api
from songkhoe.fhir.openapi import JSON, MIDDLEWARE_ERRORS, response_doc
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
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
HEALTH = {
    "type": "object",
    "required": ["status", "database"],
    "properties": {
        "status": {"enum": ["ok", "error"]},
        "database": {"type": "string"},
        "version": {"type": "string"},
    },
}


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """The methods the app answers at the request's path (none: a path it does not serve)."""
    path, root_path = request.scope["path"], request.scope.get("root_path", "")
    probes = ({"type": "http", "path": path, "root_path": root_path, "method": m} for m in METHODS)
    return [
        probe["method"]
        for probe in probes
        if any(route.matches(probe)[0] == Match.FULL for route in app.router.routes)
    ]


def create_app(*, store: ResourceStore) -> FastAPI:
    """The app serving one store: the FHIR API at /fhir; `GET /healthz` tells whether the
    database answers."""
    app = FastAPI(title="Sống Khỏe", version=__version__)
    app.state.store = store
    pages.install(app)

    @app.get(
        "/healthz",
        responses={
            **MIDDLEWARE_ERRORS,
            200: response_doc(HEALTH, "The database answers", media_type=JSON),
            503: response_doc(HEALTH, "The database does not answer", media_type=JSON),
        },
    )
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
    app.include_router(ecg_views.router)
    telehealth_views.install(app, store)
    app.include_router(prescribing_views.router)
    app.include_router(surveillance_api.router)
    app.include_router(surveillance_views.router)
    app.include_router(chatbot_views.router)
    app.include_router(claims_views.router)
    app.mount("/static", StaticFiles(directory=STATIC), "static")
    fhir_api.install(app)

    @app.options("/{path:path}", include_in_schema=False)
    def options(request: Request) -> Response:
        """OPTIONS on a path the app serves: 204 and the methods it answers there in `Allow`
        (RFC 9110, 9.3.7); 404 elsewhere. The route after all the others, that none takes."""
        allowed = allowed_methods(app, request)
        if not allowed:
            raise HTTPException(404)
        return Response(status_code=204, headers={"Allow": ", ".join([*allowed, "OPTIONS"])})

    settings = get_settings()
    install_hardening(  # last: the outermost layer, so it also covers 401s and errors
        app,
        max_body_bytes=settings.max_body_mb * 1024 * 1024,
        rate_limit_per_minute=settings.rate_limit_per_minute,
        image_origins=tuple(filter(None, [tile_origin(settings.map_tiles_url)])),
    )
    return app
