"""The web app: FastAPI app factory, UI routers, templates and static files."""
