"""Settings from environment variables (SONGKHOE_*); nothing hidden in code."""

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///./var/songkhoe.db"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    host: str
    port: int
    export_dir: Path
    max_body_mb: int
    rate_limit_per_minute: int  # per client address and worker process; 0 turns it off


def get_settings() -> Settings:
    """Read the settings from the environment, with the embedded SQLite file as default."""
    return Settings(
        database_url=os.environ.get("SONGKHOE_DATABASE_URL", DEFAULT_DATABASE_URL),
        host=os.environ.get("SONGKHOE_HOST", "127.0.0.1"),
        port=int(os.environ.get("SONGKHOE_PORT", "8000")),
        export_dir=Path(os.environ.get("SONGKHOE_EXPORT_DIR", "./var/exports")),
        max_body_mb=int(os.environ.get("SONGKHOE_MAX_BODY_MB", "16")),
        rate_limit_per_minute=int(os.environ.get("SONGKHOE_RATE_LIMIT_PER_MINUTE", "600")),
    )


def sqlite_path(database_url: str) -> Path | None:
    """The file behind a sqlite:/// URL, or None for other backends and in-memory databases."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix) or database_url == prefix + ":memory:":
        return None
    return Path(database_url[len(prefix) :])
