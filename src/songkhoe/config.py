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


def get_settings() -> Settings:
    """Read the settings from the environment, with the embedded SQLite file as default."""
    return Settings(
        database_url=os.environ.get("SONGKHOE_DATABASE_URL", DEFAULT_DATABASE_URL),
        host=os.environ.get("SONGKHOE_HOST", "127.0.0.1"),
        port=int(os.environ.get("SONGKHOE_PORT", "8000")),
        export_dir=Path(os.environ.get("SONGKHOE_EXPORT_DIR", "./var/exports")),
    )


def sqlite_path(database_url: str) -> Path | None:
    """The file behind a sqlite:/// URL, or None for other backends and in-memory databases."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix) or database_url == prefix + ":memory:":
        return None
    return Path(database_url[len(prefix):])
