"""Settings from environment variables (SONGKHOE_*); nothing hidden in code."""

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite:///./var/songkhoe.db"


class SettingError(ValueError):
    """A setting the app cannot work with; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    host: str
    port: int
    export_dir: Path
    max_body_mb: int
    rate_limit_per_minute: int  # per client address and worker process; 0 turns it off
    media_dir: Path  # X-ray films and heatmaps, content-addressed by SHA-256
    model_dir: Path  # installed imaging models (ONNX + manifest)
    imaging_model: str  # the model the imaging worker runs; "auto": the first installed
    imaging_worker: str  # "thread": the web app runs the imaging worker; "off": a separate one
    imaging_max_file_mb: float  # the largest film file an upload takes (below max_body_mb)
    jitsi_url: str  # the Jitsi Meet server of telehealth video rooms; "": no video rooms
    escalation_interval_s: int  # how often the app escalates overdue consultations; 0: never
    chat_llm_url: str  # OpenAI-compatible API base (…/v1) that phrases chat answers; "": off
    chat_llm_model: str  # the model name sent to that API
    chat_llm_api_key: str  # its bearer token, if it needs one
    chat_llm_timeout_s: float  # past this the chatbot quotes the knowledge base instead
    map_tiles_url: str  # an XYZ tile URL template under the disease map; "": boundaries only
    map_tiles_attribution: str  # the attribution its tile provider requires


def get_settings() -> Settings:
    """Read the settings from the environment, with the embedded SQLite file as default."""
    return Settings(
        database_url=os.environ.get("SONGKHOE_DATABASE_URL", DEFAULT_DATABASE_URL),
        host=os.environ.get("SONGKHOE_HOST", "127.0.0.1"),
        port=int(os.environ.get("SONGKHOE_PORT", "8000")),
        export_dir=Path(os.environ.get("SONGKHOE_EXPORT_DIR", "./var/exports")),
        max_body_mb=int(os.environ.get("SONGKHOE_MAX_BODY_MB", "16")),
        rate_limit_per_minute=int(os.environ.get("SONGKHOE_RATE_LIMIT_PER_MINUTE", "600")),
        media_dir=Path(os.environ.get("SONGKHOE_MEDIA_DIR", "./var/media")),
        model_dir=Path(os.environ.get("SONGKHOE_MODEL_DIR", "./var/models")),
        imaging_model=os.environ.get("SONGKHOE_IMAGING_MODEL", "auto"),
        imaging_worker=os.environ.get("SONGKHOE_IMAGING_WORKER", "off"),
        imaging_max_file_mb=float(os.environ.get("SONGKHOE_IMAGING_MAX_FILE_MB", "15")),
        jitsi_url=os.environ.get("SONGKHOE_JITSI_URL", ""),
        escalation_interval_s=int(os.environ.get("SONGKHOE_ESCALATION_INTERVAL_S", "300")),
        chat_llm_url=os.environ.get("SONGKHOE_CHAT_LLM_URL", ""),
        chat_llm_model=os.environ.get("SONGKHOE_CHAT_LLM_MODEL", ""),
        chat_llm_api_key=os.environ.get("SONGKHOE_CHAT_LLM_API_KEY", ""),
        chat_llm_timeout_s=float(os.environ.get("SONGKHOE_CHAT_LLM_TIMEOUT_S", "8")),
        map_tiles_url=os.environ.get("SONGKHOE_MAP_TILES_URL", ""),
        map_tiles_attribution=os.environ.get("SONGKHOE_MAP_TILES_ATTRIBUTION", ""),
    )


def sqlite_path(database_url: str) -> Path | None:
    """The file behind a sqlite:/// URL, without its query string (`?timeout=20`), or None for
    other backends, in-memory databases, `file:` URIs and URLs SQLAlchemy does not parse."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return None
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if "uri" in url.query or database.startswith("file:"):
        return None
    return Path(database)
